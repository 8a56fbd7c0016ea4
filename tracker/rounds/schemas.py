"""The rounds API's schemas: a new inspection round, a round, and its approval chain."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from marshmallow import fields

from tracker.core import enums, labels
from tracker.core.schemas import DATE_META, Body, BodyField, Int, Reply, Str, values
from tracker.core.text import clean_line
from tracker.rounds.services import LABEL_MAX, MAX_STEPS

STEP_DOC = {
    "type": "object",
    "properties": {
        "level": {"type": "string", "nullable": True, "enum": values(enums.UNIT_LEVELS),
                  "description": "办理该环节的整改办所在层级;不填为不限层级"},
        "role": {"type": "string", "enum": values(enums.CHAIN_ROLES), "description": "办理角色"},
        "label": {"type": "string", "maxLength": LABEL_MAX, "description": "环节名称,如「市级验收」"},
    },
    "required": ["role", "label"],
}


class ChainArg(BodyField, fields.Raw):
    """A chain as sent: an array of steps {level, role, label}. Strings are cleaned; the service checks
    everything else and answers 422 naming the step."""

    default_error_messages = {"invalid": "字段 {name} 应为数组,每个环节为 {{level, role, label}}。"}

    def _deserialize(self, value: Any, attr: Optional[str], data: Optional[Mapping[str, Any]],
                     **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return [{k: clean_line(v) if isinstance(v, str) else v for k, v in item.items()}
                if isinstance(item, dict) else item for item in value]


class RoundCreateSchema(Body):
    """POST /rounds: a new inspection round (the service checks every value and answers 422 with the reason)."""

    name = Str(required=True, metadata={"maxLength": 200})
    level = Str(required=True, metadata={"enum": values(labels.LEVEL_LABELS)})
    kind = Str(required=True, metadata={"enum": values(labels.ROUND_KIND_LABELS)})
    feedback_date = Str(allow_none=True, metadata={"format": "date", **DATE_META})
    document_no = Str(allow_none=True)
    max_extensions = Int(allow_none=True, metadata={"minimum": 0, "maximum": 10,
                                                    "description": "每个问题最多延期次数(0-10),默认 2"})
    chain = ChainArg(metadata={"type": "array", "minItems": 1, "maxItems": MAX_STEPS, "items": STEP_DOC,
                               "description": "审核链:依次办理的环节,除最后一个以 verify 签署外,最后一个以 approve "
                                              "批准销号;不填为默认的「验收」(督察整改办)→「销号」(销号审批)"})


class StepSchema(Reply):
    """One step of a round's approval chain."""

    level = fields.String(required=True, allow_none=True, metadata={"enum": values(enums.UNIT_LEVELS)})
    role = fields.String(required=True, metadata={"enum": values(enums.CHAIN_ROLES)})
    label = fields.String(required=True)


class RoundSchema(Reply):
    """An inspection round, with its approval chain."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"enum": values(labels.LEVEL_LABELS)})
    kind = fields.String(required=True, metadata={"enum": values(labels.ROUND_KIND_LABELS)})
    feedback_date = fields.Date(required=True, allow_none=True, metadata=DATE_META)
    document_no = fields.String(required=True, allow_none=True)
    max_extensions = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 10,
                                                             "description": "每个问题最多延期次数"})
    chain = fields.List(fields.Nested(StepSchema), required=True, attribute="steps",
                        metadata={"description": "审核链(依次办理的环节)"})
