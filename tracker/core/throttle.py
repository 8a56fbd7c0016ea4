"""Counting attempts and making the over-eager wait (throttling), shared by every process and host.

Flask-Limiter (one `Limiter` per app, `limiter_of`) picks the storage from RATELIMIT_STORAGE_URI:
limits' Redis storage for a `redis://` URL (TRACKER_REDIS_URL), or else `trackerdb://`, the
`SqlStorage` below, which keeps the counters in the app's own database (table throttle_counters),
so that every gunicorn worker and every host behind the proxy sees the same counts. Never
per-process memory: a worker's private count would let an attacker multiply the limit by the
number of workers.

Callers do not decorate views (Flask-Limiter would count every request); they test their limits
before the work (`wait_seconds`) and count only what should count (`count`), e.g. failed sign-ins:
see tracker.accounts.signin. Counters are fixed windows that start at their first hit, so layered
limits (5 a minute, 10 a quarter hour, 20 an hour) make the wait grow with repeated failures.

Time: `SqlStorage` reads the app's clock (config CLOCK, as every service does), so tests move the
windows with the injected clock; Redis keeps its own time.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import Storage
from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from tracker.core import clock
from tracker.core.extensions import db
from tracker.core.models import ThrottleCounter

SQL_STORAGE_URI = "trackerdb://"

# Expired rows deleted by one write at most: the table stays small without one write paying for a backlog.
CLEANUP_BATCH = 500

_EXTENSION = "tracker_limiter"


def _now() -> datetime:
    # The app's clock when there is an app (tests inject one), else the wall clock; naive UTC.
    return clock.now() if has_app_context() else clock.utcnow()


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


class SqlStorage(Storage):
    """limits' storage in the app's database (Flask-SQLAlchemy's engine): one row per counter.

    Every change is one atomic statement on its own connection and transaction, independent of the
    request's session: an UPSERT (INSERT ... ON CONFLICT DO UPDATE, SQLite and PostgreSQL) that
    starts a new window when the row has expired and adds to it otherwise. Each write first deletes
    up to CLEANUP_BATCH expired rows (on PostgreSQL skipping rows another writer holds), so dead
    counters never pile up and no separate job is needed. Needs an app context (every request has one).
    """

    STORAGE_SCHEME = ["trackerdb"]

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Errors of the database (wrapped in limits' StorageError when asked to)."""
        return SQLAlchemyError

    def now(self) -> float:
        """The storage's time (seconds since the epoch), by the app's clock."""
        return _epoch(_now())

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's counter, starting a window of `expiry` seconds when it has none."""
        now = _now()
        table = ThrottleCounter.__table__
        with db.engine.begin() as conn:
            self._clean(conn, now)
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            # Both dialects' Insert have on_conflict_do_update with the same arguments.
            statement: Any = insert(table).values(key=key, count=amount, expires_at=now + timedelta(seconds=expiry))
            alive = table.c.expires_at > now
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": case((alive, table.c.count + amount), else_=statement.excluded.count),
                    "expires_at": case((alive, table.c.expires_at), else_=statement.excluded.expires_at),
                },
            ).returning(table.c.count)
            return int(conn.execute(statement).scalar_one())

    @staticmethod
    def _clean(conn: Connection, now: datetime) -> None:
        table = ThrottleCounter.__table__
        expired = select(table.c.key).where(table.c.expires_at <= now).limit(CLEANUP_BATCH)
        if conn.dialect.name == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
        conn.execute(delete(table).where(table.c.key.in_(expired.scalar_subquery())))

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when it has none)."""
        table = ThrottleCounter.__table__
        with db.engine.connect() as conn:
            count = conn.scalar(select(table.c.count).where(table.c.key == key, table.c.expires_at > _now()))
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (seconds since the epoch); now when it has none."""
        now = _now()
        table = ThrottleCounter.__table__
        with db.engine.connect() as conn:
            ends = conn.scalar(select(table.c.expires_at).where(table.c.key == key, table.c.expires_at > now))
        return _epoch(ends if ends is not None else now)

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        with db.engine.begin() as conn:
            return conn.execute(delete(ThrottleCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        table = ThrottleCounter.__table__
        with db.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.key == key))


def limits_of(spec: str) -> list[RateLimitItem]:
    """Parse limits written as "5 per minute; 10 per 15 minutes" (limits' notation)."""
    return parse_many(spec)


def limiter_of(app: Flask) -> Limiter:
    """The app's Flask-Limiter (made by `init_app`)."""
    return cast(Limiter, app.extensions[_EXTENSION])


def _storage_now(storage: Storage) -> float:
    # SqlStorage runs on the app's clock; the others (Redis) on the wall clock, as limits does.
    return storage.now() if isinstance(storage, SqlStorage) else datetime.now(UTC).timestamp()


def _key(identifiers: Sequence[str]) -> list[str]:
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    return [prefix, *identifiers] if prefix else list(identifiers)


def wait_seconds(items: Sequence[RateLimitItem], *identifiers: str) -> int:
    """Seconds until every one of these limits allows another attempt by `identifiers` (0: go ahead)."""
    limiter = limiter_of(current_app)
    strategy = limiter.limiter
    key = _key(identifiers)
    wait = 0.0
    for item in items:
        if not strategy.test(item, *key):
            reset = strategy.get_window_stats(item, *key).reset_time
            wait = max(wait, reset - _storage_now(limiter.storage), 1.0)
    return math.ceil(wait)


def count(items: Sequence[RateLimitItem], *identifiers: str) -> None:
    """Count one attempt by `identifiers` against each of these limits."""
    strategy = limiter_of(current_app).limiter
    key = _key(identifiers)
    for item in items:
        strategy.hit(item, *key)


def init_app(app: Flask) -> None:
    """Give the app its Flask-Limiter, on RATELIMIT_STORAGE_URI (default: the app's database)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", SQL_STORAGE_URI)
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    # One Limiter per app (not a module global): its storage follows this app's configuration.
    app.extensions[_EXTENSION] = Limiter(get_remote_address, app=app)
