"""Migrations, through the real `tracker` console script: upgrade, check, drift, downgrade.

Each test runs on a scratch database of its own: a new SQLite file, and, when
TRACKER_TEST_DATABASE_URL points at PostgreSQL, a scratch database created on that
server and dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from tests.support.scripts import tracker
from tracker import create_app
from tracker.core.extensions import db

TEST_DATABASE_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "")
NEEDS_POSTGRES = "needs PostgreSQL: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://…"


def _postgres_scratch():
    """Create a scratch database on the PostgreSQL server of TRACKER_TEST_DATABASE_URL."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip(NEEDS_POSTGRES)
    import psycopg

    server = make_url(TEST_DATABASE_URL)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tracker_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path):
    """An empty database URL: a new SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        yield from _postgres_scratch()


def model_tables(tmp_path: Path) -> set[str]:
    """The tables the models declare, once the app has imported every model module."""
    create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                "UPLOAD_DIR": str(tmp_path / "uploads")})
    return set(db.metadata.tables)


def table_names(url: str) -> set[str]:
    """The tables now in the database."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def run_sql(url: str, statement: str) -> None:
    """Execute one statement and commit."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def test_upgrade_check_and_downgrade(scratch_url, tmp_path):
    upgraded = tracker(scratch_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert table_names(scratch_url) == model_tables(tmp_path) | {"alembic_version"}

    checked = tracker(scratch_url, tmp_path, "db", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr

    downgraded = tracker(scratch_url, tmp_path, "db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert table_names(scratch_url) == {"alembic_version"}

    # And back up again: the downgrade left nothing in the way.
    again = tracker(scratch_url, tmp_path, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert tracker(scratch_url, tmp_path, "db", "check").returncode == 0


def test_check_fails_on_a_drifted_database(scratch_url, tmp_path):
    assert tracker(scratch_url, tmp_path, "db", "upgrade").returncode == 0
    # Drift: the database lost an index the models declare.
    run_sql(scratch_url, "DROP INDEX ix_issues_state")

    checked = tracker(scratch_url, tmp_path, "db", "check")
    assert checked.returncode != 0
    assert "ix_issues_state" in checked.stdout + checked.stderr


def test_check_fails_on_a_database_not_upgraded(scratch_url, tmp_path):
    checked = tracker(scratch_url, tmp_path, "db", "check")
    assert checked.returncode != 0
    assert "not up to date" in checked.stdout + checked.stderr
    assert table_names(scratch_url) <= {"alembic_version"}


def test_sqlite_upgrade_keeps_existing_rows(tmp_path):
    """Batch mode rebuilds tables on SQLite: an upgrade over real data must keep every row."""
    url = f"sqlite:///{tmp_path / 'data.db'}"
    assert tracker(url, tmp_path, "db", "upgrade", "85657172f931").returncode == 0
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (id, code, name, created_at) VALUES (1, 'U1', '市住建局', '2020-01-01')"))
        conn.execute(text("INSERT INTO rounds (id, name, level, kind, created_at) "
                          "VALUES (1, '第一轮', 'central', 'regular', '2020-01-01')"))
        conn.execute(text(
            "INSERT INTO issues (id, round_id, code, title, description, category, rectify_type, deadline, "
            "assigned_on, lead_unit_id, target, measures, progress_percent, state, created_at, updated_at, version) "
            "VALUES (1, 1, 'A-1', '扬尘', '', 'feedback', 'deadline', '2020-12-31', '2020-01-01', 1, '', '', 0, "
            "'in_progress', '2020-01-01', '2020-01-01', 1)"))
        conn.execute(text("INSERT INTO events (issue_id, at, action) VALUES (1, '2020-01-01', 'create')"))
        conn.execute(text("INSERT INTO issue_units (issue_id, unit_id) VALUES (1, 1)"))
    engine.dispose()
    result = tracker(url, tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr[-2000:]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM issue_units")).scalar() == 1
        assert conn.execute(text("SELECT is_public FROM issues WHERE id = 1")).scalar() in (0, False)
    engine.dispose()
    assert tracker(url, tmp_path, "db", "check").returncode == 0
