"""Helpers for the tests of background jobs (large ledger exports and imports): the job a
response led to, the job as stored, the issue counts an import changes, and a direct export."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.issues.models import Event, Issue, IssueUnit

SHORT_HEADER = ("问题编号", "督察轮次", "问题类别", "问题描述", "牵头单位", "配合单位", "整改时限", "整改类型")
ROUND = "中央环保督察(2016年)"


def job_id_of(response) -> int:
    """The job id a response redirected to (/jobs/<id>)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def job_row(job_id: int) -> BackgroundJob:
    """The job as stored now (not the session's cached copy)."""
    db.session.expire_all()
    return db.session.get(BackgroundJob, job_id)


def issue_counts() -> tuple[int, int, int]:
    """Issues, cooperating-unit links and timeline events."""
    return (db.session.scalar(select(func.count(Issue.id))),
            db.session.scalar(select(func.count()).select_from(IssueUnit)),
            db.session.scalar(select(func.count(Event.id))))


def direct_export(client, app, path: str) -> bytes:
    """The export as streamed in the request (the inline limit raised for the call)."""
    limit = app.config["EXPORT_INLINE_MAX_ROWS"]
    app.config["EXPORT_INLINE_MAX_ROWS"] = 1000
    try:
        response = client.get(path)
    finally:
        app.config["EXPORT_INLINE_MAX_ROWS"] = limit
    assert response.status_code == 200
    return response.data
