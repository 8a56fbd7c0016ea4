"""The migration adding levels and approval chains: existing units get their paths and levels from the tree,
every round today's two steps, and issues already submitted or verified wait at the step their state names,
with the verifier kept as the first step's signature (so that the separation of duties holds), and office
users keep serving the whole tree."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.support.scripts import tracker


def test_existing_data_keeps_working_through_the_chain_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'chains.db'}"
    assert tracker(url, tmp_path, "db", "upgrade", "d4a2b8c6e1f3").returncode == 0
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO units (id, code, name, parent_id, created_at) VALUES"
                              " (1, 'HLGL', '霍林郭勒市人民政府', NULL, '2020-01-01 00:00:00'),"
                              " (2, 'HLGL-ZJ', '市住建局', 1, '2020-01-01 00:00:00'),"
                              " (3, 'A/B%', '奇怪编码单位', 2, '2020-01-01 00:00:00')"))
            conn.execute(text("INSERT INTO users (id, username, password_hash, role, active, session_version,"
                              " unit_id, created_at) VALUES"
                              " (1, 'duban', 'x', 'supervisor', 1, 1, 2, '2020-07-01 00:00:00'),"
                              " (2, 'zjj', 'x', 'unit_head', 1, 1, 2, '2020-07-01 00:00:00')"))
            conn.execute(text("INSERT INTO rounds (id, name, level, kind, created_at) VALUES"
                              " (1, '中央督察', 'central', 'regular', '2020-01-01 00:00:00')"))
            for issue_id, state, verifier in ((1, "in_progress", "NULL"), (2, "submitted", "NULL"),
                                              (3, "verified", "1"), (4, "closed", "1")):
                conn.execute(text(
                    "INSERT INTO issues (id, round_id, code, title, description, category, rectify_type, deadline,"
                    " original_deadline, assigned_on, lead_unit_id, target, measures, progress_percent, state,"
                    " is_public, verified_by_id, created_at, updated_at, version) VALUES"
                    f" ({issue_id}, 1, 'I{issue_id}', '问题', '', 'feedback', 'deadline', '2020-12-31', '2020-12-31',"
                    f" '2020-01-01', 2, '', '', 100, '{state}', 0, {verifier}, '2020-01-01 00:00:00',"
                    " '2020-07-10 00:00:00', 1)"))
        result = tracker(url, tmp_path, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        with engine.connect() as conn:
            units = conn.execute(text("SELECT code, level, path FROM units ORDER BY id")).all()
            steps = conn.execute(text("SELECT position, level, role, label FROM round_steps ORDER BY position")).all()
            waiting = conn.execute(text("SELECT id, chain_step FROM issues ORDER BY id")).all()
            signed = conn.execute(text("SELECT issue_id, position, label, user_id, cleared_at FROM signatures")).all()
            users = conn.execute(text("SELECT username, unit_id FROM users ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(u) for u in units] == [("HLGL", "city", "/HLGL/"), ("HLGL-ZJ", "city", "/HLGL/HLGL-ZJ/"),
                                         ("A/B%", "city", "/HLGL/HLGL-ZJ/A%2FB%25/")]
    assert [tuple(s) for s in steps] == [(0, None, "supervisor", "验收"), (1, None, "approver", "销号")]
    assert [tuple(w) for w in waiting] == [(1, None), (2, 0), (3, 1), (4, None)]
    assert [tuple(s) for s in signed] == [(3, 0, "验收", 1, None)]
    # An office user's unit meant nothing before (they saw everything); they keep seeing everything.
    assert [tuple(u) for u in users] == [("duban", None), ("zjj", 2)]
