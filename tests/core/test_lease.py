"""The leader lease on SQLite: one holder at a time until its lease expires."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tracker.core.extensions import db
from tracker.core.lease import leader_lease


def test_sqlite_lease_admits_one_holder_until_it_expires(jobs_app):
    engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease row is the SQLite lease; PostgreSQL uses an advisory lock")
    t0 = datetime(2020, 7, 15, 0, 30)
    moment = {"now": t0}
    with leader_lease(engine, "test", ttl=timedelta(minutes=10), now=lambda: moment["now"]) as first:
        assert first is not None
        with leader_lease(engine, "test", now=lambda: moment["now"]) as second:
            assert second is None
        moment["now"] = t0 + timedelta(minutes=9)
        first.renew()  # now valid until t0 + 19 min
        moment["now"] = t0 + timedelta(minutes=15)
        with leader_lease(engine, "test", now=lambda: moment["now"]) as third:
            assert third is None
        moment["now"] = t0 + timedelta(minutes=20)
        with leader_lease(engine, "test", now=lambda: moment["now"]) as fourth:
            assert fourth is not None  # the first holder stalled past its expiry
    with leader_lease(engine, "test", now=lambda: moment["now"]) as fifth:
        assert fifth is not None
