"""The accounts API: POST/DELETE /api/v1/auth/token (sign in and out with a bearer token), POST /api/v1/users."""
from __future__ import annotations

from typing import Any, Optional

from flask import Response, current_app, jsonify, request

from tracker.accounts import services as accounts
from tracker.accounts import signin
from tracker.accounts.models import User
from tracker.accounts.schemas import CredentialsSchema, TokenSchema, UserCreateSchema, UserSchema
from tracker.core import clock
from tracker.core.api import ApiBlueprint, current_api_token, current_api_user, public, token_loader, unauthorized
from tracker.core.extensions import DbSession, db
from tracker.core.security_log import security_event

blp = ApiBlueprint("accounts_api", __name__, tag="auth", description="访问令牌与用户")


@token_loader
def user_for_token(session: DbSession, token: str) -> Optional[User]:
    """The active user owning this unrevoked token (how the API authenticates a call)."""
    return accounts.user_for_token(session, token)


@blp.post("/auth/token")
@blp.operation("createToken", "用用户名和密码换取访问令牌", errors=(400, 401, 429),
               description="同一账号连续登录失败(默认 1 分钟内 5 次、15 分钟内 10 次、1 小时内 20 次)"
                           "或同一地址失败过多后,须等待一段时间才能再试:期间即使密码正确也答 429,"
                           "Retry-After 给出须等待的秒数。")
@public
@blp.arguments(CredentialsSchema)
@blp.response(200, TokenSchema, description="访问令牌")
def create_token(data: dict[str, Any]) -> Any:
    """Exchange a username and password for a bearer token (throttled after repeated failures)."""
    result = signin.sign_in(db.session, data["username"], data["password"], request.remote_addr, "api")
    if result.wait:
        response = jsonify(error=result.message)
        response.headers["Retry-After"] = str(result.wait)
        return response, 429
    if result.user is None:
        return unauthorized(result.message)
    token = accounts.issue_token(db.session, result.user, clock.now())
    db.session.commit()
    security_event("token_granted", user=result.user.username, ip=request.remote_addr)
    return {"token": token}, {"Cache-Control": "no-store"}


@blp.delete("/auth/token")
@blp.operation("revokeToken", "撤销本次请求所用的访问令牌", errors=(401,))
@blp.response(204, description="已撤销")
def revoke_token() -> Response:
    """Revoke the token this request was made with."""
    accounts.revoke_token(db.session, current_api_token(), clock.now())
    db.session.commit()
    return current_app.response_class(status=204)


@blp.post("/users")
@blp.operation("createUser", "新增用户(系统管理员)", errors=(400, 401, 403, 409, 422), tag="users")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema, description="新增的用户(不含密码)")
def create_user(data: dict[str, Any]) -> User:
    """Add a user (admin)."""
    user = accounts.create_user(db.session, current_api_user(), data.get("username"), data.get("password"),
                                data.get("role"), data.get("unit_code"), data.get("email"),
                                data.get("display_name"))
    db.session.commit()
    return user
