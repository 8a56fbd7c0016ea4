"""The rounds API's schemas: a new inspection round and a round."""
from __future__ import annotations

from marshmallow import fields

from tracker.core import labels
from tracker.core.schemas import DATE_META, Body, Int, Reply, Str, values


class RoundCreateSchema(Body):
    """POST /rounds: a new inspection round (the service checks every value and answers 422 with the reason)."""

    name = Str(required=True, metadata={"maxLength": 200})
    level = Str(required=True, metadata={"enum": values(labels.LEVEL_LABELS)})
    kind = Str(required=True, metadata={"enum": values(labels.ROUND_KIND_LABELS)})
    feedback_date = Str(allow_none=True, metadata={"format": "date", **DATE_META})
    document_no = Str(allow_none=True)
    max_extensions = Int(allow_none=True, metadata={"minimum": 0, "maximum": 10,
                                                    "description": "每个问题最多延期次数(0-10),默认 2"})


class RoundSchema(Reply):
    """An inspection round."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"enum": values(labels.LEVEL_LABELS)})
    kind = fields.String(required=True, metadata={"enum": values(labels.ROUND_KIND_LABELS)})
    feedback_date = fields.Date(required=True, allow_none=True, metadata=DATE_META)
    document_no = fields.String(required=True, allow_none=True)
    max_extensions = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 10,
                                                             "description": "每个问题最多延期次数"})
