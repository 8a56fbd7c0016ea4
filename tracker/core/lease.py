"""The leader lease: two schedulers or `tracker jobs run` at once, and only one runs the day's jobs.

On PostgreSQL a session-level advisory lock (pg_try_advisory_lock) held on a
connection of its own for the whole run; it goes away with the connection if the
process dies. Elsewhere (SQLite) a row in `job_leases` with an expiry, taken by an
UPDATE ... WHERE expires_at < now and renewed after every batch. The unique keys
on what the jobs write remain the real guarantee; the lease saves the duplicate work.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import or_, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from tracker.core.clock import utcnow
from tracker.core.models import JobLease

log = logging.getLogger(__name__)

DAILY = "jobs.daily"
DEFAULT_TTL = timedelta(minutes=10)
FREE = datetime(1970, 1, 1)  # the expiry of a lease nobody holds


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from the lease name."""
    return int.from_bytes(hashlib.sha256(f"tracker:{name}".encode()).digest()[:8], "big", signed=True)


class Lease:
    """A held lease: renew it between batches; it is released when the block ends."""

    def __init__(self, name: str, holder: str, renew: Callable[[], None]):
        self.name = name
        self.holder = holder
        self._renew = renew

    def renew(self) -> None:
        """Push the expiry further (a no-op for an advisory lock, held as long as its connection)."""
        self._renew()


@contextmanager
def leader_lease(engine: Engine, name: str = DAILY, ttl: timedelta = DEFAULT_TTL,
                 now: Callable[[], datetime] = utcnow) -> Iterator[Optional[Lease]]:
    """Yield a Lease when this process is the leader for `name`, else None (someone else runs)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name, holder) as lease:
            yield lease
    else:
        with _lease_row(engine, name, holder, ttl, now) as lease:
            yield lease


@contextmanager
def _advisory(engine: Engine, name: str, holder: str) -> Iterator[Optional[Lease]]:
    key = advisory_key(name)
    conn: Connection = engine.connect()
    try:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        conn.commit()  # the lock is session-level: it outlives this transaction
        if not got:
            log.info("lease %s is held by another process", name)
            yield None
            return
        try:
            yield Lease(name, holder, lambda: None)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
    finally:
        conn.close()


@contextmanager
def _lease_row(engine: Engine, name: str, holder: str, ttl: timedelta,
               now: Callable[[], datetime]) -> Iterator[Optional[Lease]]:
    with engine.begin() as conn:
        conn.execute(sqlite_insert(JobLease).values(name=name, holder=None, acquired_at=None,
                                                    expires_at=FREE).on_conflict_do_nothing())
    moment = now()
    with engine.begin() as conn:
        taken = conn.execute(
            update(JobLease).where(JobLease.name == name,
                                   or_(JobLease.expires_at < moment, JobLease.holder == holder))
            .values(holder=holder, acquired_at=moment, expires_at=moment + ttl)
        ).rowcount
    if taken != 1:
        log.info("lease %s is held by another process", name)
        yield None
        return

    def renew() -> None:
        with engine.begin() as conn:
            kept = conn.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
                                .values(expires_at=now() + ttl)).rowcount
        if kept != 1:
            log.warning("lease %s was lost (expired and taken over); the unique keys still hold", name)

    try:
        yield Lease(name, holder, renew)
    finally:
        with engine.begin() as conn:
            conn.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
                         .values(holder=None, expires_at=FREE))
