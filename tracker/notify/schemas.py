"""The notices API's schemas: the list's query, a notice, a page of notices."""
from __future__ import annotations

from typing import Any

from marshmallow import fields

from tracker.core import labels
from tracker.core.enums import NoticeKind
from tracker.core.schemas import BoolArg, IntArg, Query, Reply, UtcDateTime, values
from tracker.notify.models import Notice

MAX_PER_PAGE = 100


DEFAULT_PER_PAGE = 20


class NoticeListQuerySchema(Query):
    """GET /notices' query string: unread only or all, and the page."""

    unread = BoolArg(load_default=False, metadata={"description": "只列未读通知(true / false)"})
    page = IntArg(minimum=1, page=True, load_default=1, metadata={"description": "页码"})
    per_page = IntArg(minimum=1, maximum=MAX_PER_PAGE, load_default=DEFAULT_PER_PAGE,
                      metadata={"description": "每页条数"})


class NoticeSchema(Reply):
    """One in-app notice: what it is about, its issue, its text, and whether it was read."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": values(NoticeKind)})
    kind_label = fields.Method("_kind_label", required=True, metadata={"type": "string", "description": "种类(中文)"})
    issue_id = fields.Integer(required=True, allow_none=True, metadata={"description": "所涉问题 id"})
    title = fields.String(required=True)
    text = fields.Method("_text", required=True,
                         metadata={"type": "string", "description": "通知正文(没有正文时为标题)"})
    created_at = UtcDateTime(required=True)
    read = fields.Method("_read", required=True, metadata={"type": "boolean"})
    read_at = UtcDateTime(required=True, allow_none=True)

    def _kind_label(self, notice: Notice) -> str:
        return labels.MAIL_KIND_LABELS.get(notice.kind, notice.kind)

    def _text(self, notice: Notice) -> str:
        return notice.body or notice.title

    def _read(self, notice: Notice) -> bool:
        return notice.read_at is not None


class NoticeListSchema(Reply):
    """One page of the caller's notices, newest first, with the total and how many are unread."""

    items = fields.List(fields.Nested(NoticeSchema), required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True, metadata={"description": "未读通知总数"})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def notice_page(items: list[Notice], total: int, unread: int, query: dict[str, Any]) -> dict[str, Any]:
    """The reply of GET /notices."""
    return {"items": items, "total": total, "unread": unread, "page": query["page"], "per_page": query["per_page"]}
