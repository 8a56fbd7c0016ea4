"""The units API: GET /api/v1/units (every unit: codes are needed to register issues and users), POST (admin)."""
from __future__ import annotations

from typing import Any, Optional

from flask import Response, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tracker.core.api import STR, bp, check_types, current_api_user, json_body
from tracker.core.extensions import db
from tracker.units import services as units
from tracker.units.models import Unit


@bp.get("/units")
def list_units() -> Response:
    """Every unit (codes are needed to register issues and users)."""
    return jsonify(items=all_units(db.session))


@bp.post("/units")
def create_unit() -> tuple[Response, int]:
    """Add a unit (admin)."""
    data = check_types(json_body(), {"code": STR, "name": STR, "parent_code": STR, "email": STR})
    unit = units.create_unit(db.session, current_api_user(), data.get("code"), data.get("name"),
                             data.get("parent_code"), data.get("email"))
    db.session.commit()
    return jsonify(unit_json(unit, unit.parent.code if unit.parent else None)), 201


def unit_json(unit: Unit, parent_code: Optional[str]) -> dict[str, Any]:
    """A unit: its code, name, parent's code and mail address."""
    return {"code": unit.code, "name": unit.name, "parent_code": parent_code, "email": unit.email}


def all_units(session: Session) -> list[dict[str, Any]]:
    """Every unit with its parent's code, in one query, ordered by code."""
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit, parent.code).outerjoin(parent, Unit.parent_id == parent.id).order_by(Unit.code)
    ).all()
    return [unit_json(unit, parent_code) for unit, parent_code in rows]
