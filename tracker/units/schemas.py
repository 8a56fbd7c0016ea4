"""The units API's schemas: a new unit, a unit, the list of units."""
from __future__ import annotations

from marshmallow import fields

from tracker.core.enums import UnitLevel
from tracker.core.schemas import Body, Reply, Str, values


class UnitCreateSchema(Body):
    """POST /units: a new unit (the service checks every value and answers 422 with the reason)."""

    code = Str(required=True, metadata={"maxLength": 64})
    name = Str(required=True, metadata={"maxLength": 200})
    parent_code = Str(allow_none=True)
    email = Str(allow_none=True, metadata={"format": "email"})
    level = Str(allow_none=True, metadata={
        "enum": values(UnitLevel),
        "description": "层级:province 省级、city 市级、county 县级、town 乡镇级;部门取其所属政府的层级。"
                       "不填时取上级单位的层级,无上级单位时为 city"})


class UnitSchema(Reply):
    """A unit: its code, name, parent's code, mail address and level."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    parent_code = fields.String(required=True, allow_none=True, attribute="parent.code", dump_default=None)
    email = fields.String(required=True, allow_none=True)
    level = fields.String(required=True, metadata={"enum": values(UnitLevel), "description": "层级"})


class UnitListSchema(Reply):
    """Every unit, ordered by code."""

    items = fields.List(fields.Nested(UnitSchema), required=True)
