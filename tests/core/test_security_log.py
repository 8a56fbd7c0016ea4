"""The security log's writer (tracker.core.security_log): one line per event in a fixed `key=value`
format (ASVS 1.7.1, 7.1.4), values escaped so that no input can forge a line or a field (7.3.1), and
secret-bearing keys refused outright (7.1.1)."""
from __future__ import annotations

import logging

import pytest

from tracker.core.security_log import security_event


def _lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "tracker.security"]


def test_an_event_is_one_line_of_key_value_pairs_in_the_order_given(caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    security_event("login", user="duban", ip="10.0.0.7", attempts=3, via=None)
    assert _lines(caplog) == ["event=login user='duban' ip='10.0.0.7' attempts=3 via=None"]
    assert caplog.records[-1].levelno == logging.INFO


def test_a_username_cannot_forge_a_second_line_or_field(caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    forged = "mallory\nevent=login user='admin' ip='1.2.3.4'"
    security_event("login_failed", level=logging.WARNING, username=forged, reason="unknown")
    [line] = _lines(caplog)
    assert "\n" not in line and "\r" not in line
    # repr() quotes the whole value (in double quotes, as it holds single ones) and escapes the break.
    assert line.startswith('event=login_failed username="mallory\\nevent=login user=\'admin\'')
    assert line.endswith(" reason='unknown'")
    assert caplog.records[-1].levelno == logging.WARNING


@pytest.mark.parametrize("key", ["password", "new_password", "current", "token", "secret", "cookie",
                                 "password_hash", "totp", "totp_secret"])
def test_secret_bearing_keys_are_refused_and_nothing_is_written(caplog, key):
    caplog.set_level(logging.DEBUG, logger="tracker.security")
    with pytest.raises(ValueError, match="secrets"):
        security_event("login", user="duban", **{key: "hunter2-hunter2"})
    assert _lines(caplog) == [] and "hunter2" not in caplog.text
