"""The units API: GET /api/v1/units (every unit: codes are needed to register issues and users), POST (admin)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.extensions import DbSession, db
from tracker.units import services as units
from tracker.units.models import Unit
from tracker.units.schemas import UnitCreateSchema, UnitListSchema, UnitSchema

blp = ApiBlueprint("units_api", __name__, tag="units", description="责任单位")


@blp.get("/units")
@blp.operation("listUnits", "全部责任单位", errors=(401,))
@blp.response(200, UnitListSchema, description="单位列表(按编码排序)")
def list_units() -> dict[str, list[Unit]]:
    """Every unit (codes are needed to register issues and users)."""
    return {"items": all_units(db.session)}


@blp.post("/units")
@blp.operation("createUnit", "新增单位(系统管理员)", errors=(400, 401, 403, 409, 422))
@blp.arguments(UnitCreateSchema)
@blp.response(201, UnitSchema, description="新增的单位")
def create_unit(data: dict[str, Any]) -> Unit:
    """Add a unit (admin)."""
    unit = units.create_unit(db.session, current_api_user(), data.get("code"), data.get("name"),
                             data.get("parent_code"), data.get("email"), data.get("level"))
    db.session.commit()
    return unit


def all_units(session: DbSession) -> list[Unit]:
    """Every unit with its parent loaded in the same query, ordered by code."""
    return list(session.scalars(select(Unit).options(joinedload(Unit.parent)).order_by(Unit.code)))
