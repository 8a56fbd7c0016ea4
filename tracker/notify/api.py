"""The notices API: GET /api/v1/notices (the caller's in-app notices), POST /notices/{id}/read.

A script or the provincial platform reads what the tracker told the caller — a returned issue,
an issue awaiting verification, a moved deadline — as the notices page shows it.
"""
from __future__ import annotations

from typing import Any

from tracker.core import clock
from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.extensions import db
from tracker.notify import notices
from tracker.notify.models import Notice
from tracker.notify.schemas import NoticeListQuerySchema, NoticeListSchema, NoticeSchema, notice_page

blp = ApiBlueprint("notify_api", __name__, tag="notices", description="站内通知")

NOTICE_ID = {"in": "path", "name": "notice_id", "description": "通知 id"}


@blp.get("/notices")
@blp.operation("listNotices", "调用者的站内通知(新的在前)", errors=(400, 401))
@blp.arguments(NoticeListQuerySchema, location="query")
@blp.response(200, NoticeListSchema, description="一页通知、总数和未读数")
def list_notices(query: dict[str, Any]) -> dict[str, Any]:
    """One page of the caller's notices, newest first, with the total and the unread count."""
    user = current_api_user()
    rows, total = notices.list_notices(db.session, user, page=query["page"], per_page=query["per_page"],
                                       unread_only=query["unread"])
    return notice_page(rows, total, notices.unread_count(db.session, user), query)


@blp.post("/notices/<int:notice_id>/read", parameters=[NOTICE_ID])
@blp.operation("readNotice", "把一条通知标为已读(只能是自己的通知)", errors=(401, 404))
@blp.response(200, NoticeSchema, description="已读的通知")
def read_notice(notice_id: int) -> Notice:
    """Mark one of the caller's notices read; someone else's answers 404."""
    notice = notices.mark_read(db.session, current_api_user(), notice_id, clock.now())
    db.session.commit()
    return notice
