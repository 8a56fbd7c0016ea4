"""Fixtures of the admin pages' tests: `admin`, the system administrator who uses them."""
from __future__ import annotations

import pytest

from tests.support.factories import make_user


@pytest.fixture
def admin(session):
    """A system administrator (username root), committed."""
    user = make_user("admin", username="root")
    session.commit()
    return user
