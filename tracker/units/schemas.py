"""The units API's schemas: a new unit, a unit, the list of units."""
from __future__ import annotations

from marshmallow import fields

from tracker.core.schemas import Body, Reply, Str


class UnitCreateSchema(Body):
    """POST /units: a new unit (the service checks every value and answers 422 with the reason)."""

    code = Str(required=True, metadata={"maxLength": 64})
    name = Str(required=True, metadata={"maxLength": 200})
    parent_code = Str(allow_none=True)
    email = Str(allow_none=True, metadata={"format": "email"})


class UnitSchema(Reply):
    """A unit: its code, name, parent's code and mail address."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    parent_code = fields.String(required=True, allow_none=True, attribute="parent.code", dump_default=None)
    email = fields.String(required=True, allow_none=True)


class UnitListSchema(Reply):
    """Every unit, ordered by code."""

    items = fields.List(fields.Nested(UnitSchema), required=True)
