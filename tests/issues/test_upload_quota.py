"""The daily quota on each user's evidence uploads (ASVS 12.1.3): over it, 429 and nothing stored."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from tests.support.api import api_for
from tests.support.factories import PDF_BYTES, make_issue
from tracker.core.extensions import db
from tracker.issues import services as issue_service
from tracker.issues.models import Attachment, Event

QUOTA_MESSAGE = "今日上传的佐证材料已达每人每日"


def _pdf(size: int) -> bytes:
    return PDF_BYTES + b"%" * (size - len(PDF_BYTES))


def _stored(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def _counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Attachment.id))), db.session.scalar(select(func.count(Event.id))))


def test_uploads_over_the_daily_quota_are_refused_429_and_nothing_is_stored(app, client, clock, world, caplog):
    app.config.update(UPLOAD_QUOTA_BYTES_PER_DAY=3 * 1024 * 1024)
    api = api_for(client, world["staff"])
    issue = world["issue"]
    second = make_issue(lead_unit=world["lead"], round=world["round"], code="Z-002")
    db.session.commit()
    # 2.5 MB today on two issues, then a 1 MB file would pass the 3 MB quota.
    assert api.upload(issue.id, _pdf(1536 * 1024), "一.pdf").status_code == 201
    assert api.upload(second.id, _pdf(1024 * 1024), "二.pdf").status_code == 201
    before, files = _counts(), _stored(app)
    response = api.upload(issue.id, _pdf(1024 * 1024), "三.pdf")
    assert response.status_code == 429
    assert set(response.get_json()) == {"error"} and QUOTA_MESSAGE in response.get_json()["error"]
    assert _counts() == before and _stored(app) == files  # no row, no timeline entry, no file (nor a temp one)
    assert "event=upload_quota_exceeded user='staff'" in caplog.text
    # A smaller file still fits; then the quota is used up and even a tiny one is refused.
    assert api.upload(issue.id, _pdf(512 * 1024 - 1), "四.pdf").status_code == 201
    assert api.upload(issue.id, _pdf(64), "五.pdf").status_code == 429
    # Another user has a quota of their own; the next local day (00:00 Beijing = 16:00 UTC) starts afresh.
    assert api_for(client, world["head"]).upload(issue.id, _pdf(1024), "六.pdf").status_code == 201
    clock.set("2020-07-15T16:00:00")
    assert api.upload(issue.id, _pdf(1024 * 1024), "七.pdf").status_code == 201


def test_the_page_refuses_an_upload_over_the_quota(app, client, login_as, world):
    app.config.update(UPLOAD_QUOTA_BYTES_PER_DAY=1024 * 1024)
    login_as(world["staff"])
    issue = world["issue"]
    before, files = _counts(), _stored(app)
    response = client.post(f"/issues/{issue.id}/attachments", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(_pdf(1024 * 1024 + 1)), "大.pdf")})
    assert response.status_code == 429
    assert QUOTA_MESSAGE in response.get_data(as_text=True)
    assert _counts() == before and _stored(app) == files


def test_uploaded_today_is_one_sum_over_the_users_files_of_the_local_day(app, session, world):
    staff, issue = world["staff"], world["issue"]
    for at, size in ((datetime(2020, 7, 14, 15, 59), 1), (datetime(2020, 7, 14, 16, 0), 10),
                     (datetime(2020, 7, 15, 2, 0), 100)):
        session.add(Attachment(issue_id=issue.id, sha256="0" * 64, filename="a.pdf", content_type="application/pdf",
                               size=size, uploaded_by_id=staff.id, created_at=at))
    session.add(Attachment(issue_id=issue.id, sha256="0" * 64, filename="b.pdf", content_type="application/pdf",
                           size=1000, uploaded_by_id=world["head"].id, created_at=datetime(2020, 7, 15, 2, 0)))
    session.flush()
    assert issue_service.uploaded_today(session, staff, datetime(2020, 7, 15, 3, 0)) == 110


def test_the_quota_is_documented_as_429(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/issues/{issue_id}/attachments"]["post"]
    assert "429" in operation["responses"] and "TRACKER_UPLOAD_QUOTA_MB_PER_DAY" in operation["description"]
