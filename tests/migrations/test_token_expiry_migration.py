"""The migration giving API tokens an expiry: tokens issued before it expire 12 hours after their issue."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, text

from tests.support.scripts import tracker


def test_existing_tokens_expire_12_hours_after_their_issue(tmp_path):
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert tracker(url, tmp_path, "db", "upgrade", "f64c532ad1a3").returncode == 0
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, password_hash, role, active, session_version,"
                              " created_at) VALUES (1, 'old', 'x', 'leader', 1, 1, '2020-07-01 00:00:00')"))
            conn.execute(text("INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES"
                              " (1, 1, 'a', '2020-07-01 08:30:00'), (2, 1, 'b', '2020-07-02 23:00:00')"))
        result = tracker(url, tmp_path, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, expires_at, last_used_at FROM api_tokens ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [(row[0], datetime.fromisoformat(str(row[1])), row[2]) for row in rows] == [
        (1, datetime(2020, 7, 1, 20, 30), None), (2, datetime(2020, 7, 3, 11, 0), None)]
