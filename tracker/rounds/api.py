"""The rounds API: POST /api/v1/rounds registers an inspection round (admin, supervisor)."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from tracker.core.api import STR, bp, check_types, current_api_user, iso_date, json_body
from tracker.core.extensions import db
from tracker.rounds import services as rounds
from tracker.rounds.models import Round


@bp.post("/rounds")
def create_round() -> tuple[Response, int]:
    """Register an inspection round (admin, supervisor)."""
    data = check_types(json_body(), {"name": STR, "level": STR, "kind": STR, "feedback_date": STR,
                                     "document_no": STR})
    round_ = rounds.create_round(db.session, current_api_user(), data.get("name"), data.get("level"),
                                 data.get("kind"), data.get("feedback_date"), data.get("document_no"))
    db.session.commit()
    return jsonify(round_json(round_)), 201


def round_json(round_: Round) -> dict[str, Any]:
    """An inspection round."""
    return {
        "id": round_.id,
        "name": round_.name,
        "level": round_.level,
        "kind": round_.kind,
        "feedback_date": iso_date(round_.feedback_date),
        "document_no": round_.document_no,
    }
