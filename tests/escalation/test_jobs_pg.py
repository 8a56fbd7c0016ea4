"""Two `tracker jobs run --today D` processes started together against PostgreSQL: no duplicate
mail, notice or event — under the leader lease, and without it (the unique keys alone).

Each test runs on a scratch database of its own, created on the server of
TRACKER_TEST_DATABASE_URL, upgraded with `tracker db upgrade`, and dropped afterwards.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.factories import make_issue, make_report, make_unit, make_user
from tests.support.scripts import tracker, tracker_script
from tracker import create_app
from tracker.core.extensions import db

TEST_DATABASE_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                       reason="needs PostgreSQL: set TRACKER_TEST_DATABASE_URL=postgresql+psycopg://…"),
]
DAY = date(2020, 7, 20)  # after the report due day: ladder, late notices, digests all have work


@pytest.fixture
def scratch(tmp_path):
    """An upgraded scratch PostgreSQL database with a few units, people and issues."""
    import psycopg

    server = make_url(TEST_DATABASE_URL)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tracker_jobs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgraded = tracker(url, tmp_path, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        _load(url, tmp_path)
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load(url: str, tmp_path) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test",
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        make_user("supervisor", email="sup1@example.org")
        make_user("supervisor", email="sup2@example.org")
        make_user("leader", email="leader@example.org")
        units = [make_unit(email=f"unit{n}@example.org") for n in range(3)]
        for n, unit in enumerate(units):
            make_user("unit_staff", unit=unit, email=f"staff{n}@example.org")
            make_user("unit_head", unit=unit, email=f"head{n}@example.org")
        for n in range(30):
            issue = make_issue(lead_unit=units[n % 3], cooperating=(units[(n + 1) % 3],) if n % 4 == 0 else (),
                               deadline=DAY + timedelta(days=10 - 3 * n), progress_percent=(n * 7) % 100)
            if n % 5 == 0:
                make_report(issue, period="2020-07")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _run_two_at_once(url: str, tmp_path, *extra: str) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_SECRET_KEY": "jobs-test",
           "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads"), "TRACKER_BASE_URL": "https://t.example.org"}
    env.pop("TRACKER_SMTP_URL", None)
    args = [tracker_script(), "jobs", "run", "--today", DAY.isoformat(), *extra]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(2)]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def _figures(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
            return {
                "outbox": q("SELECT count(*) FROM outbox"),
                "notices": q("SELECT count(*) FROM notices"),
                "events": q("SELECT count(*) FROM events"),
                "escalations": q("SELECT count(*) FROM escalations"),
                # The same mail twice would be the same kind, address and subject.
                "duplicate_mails": q("SELECT count(*) FROM (SELECT kind, to_addr, subject FROM outbox "
                                     "GROUP BY kind, to_addr, subject HAVING count(*) > 1) d"),
                "duplicate_events": q("SELECT count(*) FROM (SELECT issue_id, action FROM events "
                                      "GROUP BY issue_id, action HAVING count(*) > 1) d"),
                "events_without_escalation": q(
                    "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM escalations x "
                    "WHERE x.issue_id = e.issue_id AND x.kind = e.action)"),
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("extra", [(), ("--no-lease",)], ids=["lease", "unique-keys-only"])
def test_two_runs_at_once_send_each_mail_once_and_write_each_event_once(scratch, tmp_path, extra):
    results = _run_two_at_once(scratch, tmp_path, *extra)

    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    after = _figures(scratch)
    assert after["outbox"] > 0 and after["events"] > 0
    assert after["events"] == after["escalations"]
    assert after["duplicate_mails"] == after["duplicate_events"] == after["events_without_escalation"] == 0
    if not extra:
        # Under the lease the second either found it held, or ran after the first and found nothing to do.
        outputs = [r.stdout for r in results]
        assert any("跳过" in o or "新邮件 0 封" in o for o in outputs), outputs

    # And a third run of the same day adds nothing.
    again = subprocess.run([tracker_script(), "jobs", "run", "--today", DAY.isoformat()],
                           env={**os.environ, "TRACKER_DATABASE_URL": scratch, "TRACKER_SECRET_KEY": "jobs-test",
                                "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads")},
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "新邮件 0 封" in again.stdout
    assert _figures(scratch) == after
