"""Digest preferences: daily by default, bad values refused, only the user (or an admin) changes them."""
from __future__ import annotations

import pytest

from tests.support.factories import make_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.notify import prefs


def test_preferences_refuse_bad_values_and_other_people(jobs_app):
    user, other = make_user("unit_staff"), make_user("unit_staff")
    assert prefs.get_digest_pref(db.session, user) == "daily"
    with pytest.raises(Refusal) as err:
        prefs.set_digest_pref(db.session, user, "hourly")
    assert err.value.kind == "invalid" and err.value.field == "digest"
    with pytest.raises(Refusal) as err:
        prefs.set_digest_pref(db.session, user, "none", user=other)
    assert err.value.kind == "forbidden"
    assert prefs.get_digest_pref(db.session, other) == "daily"
    prefs.set_digest_pref(db.session, make_user("admin"), "weekly", user=other)
    assert prefs.get_digest_pref(db.session, other) == "weekly"
