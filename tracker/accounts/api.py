"""The accounts API: POST/DELETE /api/v1/auth/token (sign in and out with a bearer token), POST /api/v1/users."""
from __future__ import annotations

from typing import Any, Optional

from flask import Response, jsonify
from sqlalchemy.orm import Session

from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.core import clock
from tracker.core.api import (
    STR,
    bad_request,
    bp,
    check_types,
    current_api_token,
    current_api_user,
    json_body,
    token_loader,
    unauthorized,
)
from tracker.core.extensions import db


@token_loader
def user_for_token(session: Session, token: str) -> Optional[User]:
    """The active user owning this unrevoked token (how the API authenticates a call)."""
    return accounts.user_for_token(session, token)


@bp.post("/auth/token")
def create_token() -> Any:
    """Exchange a username and password for a bearer token."""
    data = check_types(json_body(), {"username": STR, "password": STR})
    if not data.get("username") or not data.get("password"):
        raise bad_request("请提供 username 和 password。")
    user = accounts.authenticate(db.session, data["username"], data["password"])
    if user is None:
        return unauthorized("用户名或密码不正确。")
    token = accounts.issue_token(db.session, user, clock.now())
    db.session.commit()
    response = jsonify(token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/auth/token")
def revoke_token() -> tuple[str, int]:
    """Revoke the token this request was made with."""
    accounts.revoke_token(db.session, current_api_token(), clock.now())
    db.session.commit()
    return "", 204


@bp.post("/users")
def create_user() -> tuple[Response, int]:
    """Add a user (admin)."""
    data = check_types(json_body(), {"username": STR, "password": STR, "role": STR, "unit_code": STR,
                                     "email": STR, "display_name": STR})
    user = accounts.create_user(db.session, current_api_user(), data.get("username"), data.get("password"),
                                data.get("role"), data.get("unit_code"), data.get("email"),
                                data.get("display_name"))
    db.session.commit()
    return jsonify(user_json(user)), 201


def user_json(user: User) -> dict[str, Any]:
    """A user, never with the password hash."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "unit_code": user.unit.code if user.unit else None,
        "email": user.email,
        "display_name": user.display_name,
        "active": bool(user.active),
    }
