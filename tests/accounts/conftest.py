"""Fixtures of the accounts tests: the production lifetimes of sessions and tokens."""
from __future__ import annotations

import pytest

from tracker.config import load_config


@pytest.fixture
def production_lifetimes(app):
    """Put back the default session and token lifetimes (tests/conftest.py lengthens them for the
    tests that move the clock by days); returns the config they came from."""
    defaults = load_config(app.instance_path)
    for key in ("SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "PERMANENT_SESSION_LIFETIME", "TOKEN_HOURS"):
        app.config[key] = defaults[key]
    return defaults
