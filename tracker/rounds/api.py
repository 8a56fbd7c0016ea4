"""The rounds API: POST /api/v1/rounds registers an inspection round (admin, supervisor)."""
from __future__ import annotations

from typing import Any

from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.extensions import db
from tracker.rounds import services as rounds
from tracker.rounds.models import Round
from tracker.rounds.schemas import RoundCreateSchema, RoundSchema

blp = ApiBlueprint("rounds_api", __name__, tag="rounds", description="督察轮次")


@blp.post("/rounds")
@blp.operation("createRound", "登记督察轮次(系统管理员、督察整改办)", errors=(400, 401, 403, 409, 422))
@blp.arguments(RoundCreateSchema)
@blp.response(201, RoundSchema, description="登记的轮次")
def create_round(data: dict[str, Any]) -> Round:
    """Register an inspection round (admin, supervisor)."""
    round_ = rounds.create_round(db.session, current_api_user(), data.get("name"), data.get("level"),
                                 data.get("kind"), data.get("feedback_date"), data.get("document_no"),
                                 max_extensions=data.get("max_extensions"))
    db.session.commit()
    return round_
