"""The rounds API: POST /api/v1/rounds registers an inspection round (admin, supervisor);
GET /api/v1/rounds/{id} reads one, with its approval chain."""
from __future__ import annotations

from typing import Any

from tracker.core.api import ApiBlueprint, current_api_user
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.rounds import services as rounds
from tracker.rounds.models import Round
from tracker.rounds.schemas import RoundCreateSchema, RoundSchema

blp = ApiBlueprint("rounds_api", __name__, tag="rounds", description="督察轮次")
ROUND_ID = {"in": "path", "name": "round_id", "description": "轮次 id"}


@blp.post("/rounds")
@blp.operation("createRound", "登记督察轮次(系统管理员、督察整改办)", errors=(400, 401, 403, 409, 422))
@blp.arguments(RoundCreateSchema)
@blp.response(201, RoundSchema, description="登记的轮次")
def create_round(data: dict[str, Any]) -> Round:
    """Register an inspection round (admin, supervisor), with its approval chain."""
    round_ = rounds.create_round(db.session, current_api_user(), data.get("name"), data.get("level"),
                                 data.get("kind"), data.get("feedback_date"), data.get("document_no"),
                                 data.get("chain"), max_extensions=data.get("max_extensions"))
    db.session.commit()
    return round_


@blp.get("/rounds/<int:round_id>", parameters=[ROUND_ID])
@blp.operation("getRound", "单个督察轮次及其审核链", errors=(401, 404))
@blp.response(200, RoundSchema, description="轮次")
def get_round(round_id: int) -> Round:
    """One round with its approval chain (any signed-in user: rounds are not confidential)."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise Refusal("not_found", "督察轮次不存在。")
    return round_
