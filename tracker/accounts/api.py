"""The accounts API: POST/DELETE /api/v1/auth/token (sign in and out with a bearer token), the caller's
tokens (GET/DELETE /api/v1/auth/tokens, DELETE /api/v1/auth/tokens/{id}), POST /api/v1/users."""
from __future__ import annotations

import logging
from typing import Any, Optional

from flask import Response, current_app, jsonify, request

from tracker.accounts import mfa, must_change, signin
from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.accounts.schemas import (
    CredentialsSchema,
    TokenListSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
)
from tracker.core import clock
from tracker.core.api import ApiBlueprint, current_api_token, current_api_user, public, token_loader, unauthorized
from tracker.core.extensions import DbSession, db
from tracker.core.security_log import security_event

blp = ApiBlueprint("accounts_api", __name__, tag="auth", description="访问令牌与用户")


MFA_NEEDED = "需要动态验证码。"
TOKEN_ID = {"in": "path", "name": "token_id", "description": "令牌 id(见 GET /auth/tokens)"}


@token_loader
def user_for_token(session: DbSession, token: str) -> Optional[User]:
    """The active user owning this live token (how the API authenticates a call); records the call
    as the token's last use, at most once a minute."""
    now = clock.now()
    row = accounts.live_token(session, token, now)
    if row is None or mfa.needs_enrolment(row.user):
        # An admin's rights only with two factors: a token of an admin without one does nothing.
        return None
    if accounts.touch_token(row, now):
        # Only the last use is pending here (the view has not run): a GET never commits otherwise.
        session.commit()
    return row.user


@blp.post("/auth/token")
@blp.operation("createToken", "用用户名和密码换取访问令牌", errors=(400, 401, 403, 429),
               description="同一账号连续登录失败(默认 1 分钟内 5 次、15 分钟内 10 次、1 小时内 20 次)"
                           "或同一地址失败过多后,须等待一段时间才能再试:期间即使密码正确也答 429,"
                           "Retry-After 给出须等待的秒数。启用了双因素认证的用户还须在 totp 中给出"
                           "验证器上的动态验证码:缺少答 401「需要动态验证码。」,不正确答 401 并计入上述失败次数;"
                           "尚未启用双因素认证的系统管理员答 403,须先在网页上启用。"
                           "密码由系统管理员设置(新增用户或重置密码)、本人尚未修改的账号"
                           "答 403 `{\"error\": \"须先在网页上修改初始密码。\"}`,"
                           "不发令牌:须先在网页上登录并修改密码。")
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
    refused = second_factor(result.user, data.get("totp"))
    if refused is not None:
        return refused
    if must_change.must_change(result.user):
        security_event("token_refused", level=logging.WARNING, user=result.user.username,
                       reason="must_change_password", ip=request.remote_addr)
        return jsonify(error=must_change.API_MESSAGE), 403
    token, row = accounts.issue_token(db.session, result.user, clock.now(), hours=current_app.config["TOKEN_HOURS"],
                                      label=request.headers.get("User-Agent"), ip=request.remote_addr)
    db.session.commit()
    return {"token": token, "expires_at": row.expires_at}, {"Cache-Control": "no-store"}


def second_factor(user: User, code: Any) -> Optional[tuple[Response, int]]:
    """The API's second factor: None when the user may have a token, else the answer (401 without or with
    a wrong code, which counts as a failed sign-in; 403 for an admin who has not enrolled)."""
    ip = request.remote_addr
    if mfa.needs_enrolment(user):
        security_event("mfa_required", level=logging.WARNING, user=user.username, ip=ip, via="api")
        return jsonify(error="系统管理员须先在网页上启用双因素认证(登录后按提示操作),才能使用 API。"), 403
    if not mfa.enrolled(user):
        return None
    if not code:
        return unauthorized(MFA_NEEDED)
    now = clock.now()
    if not mfa.check_code(user, code, now):
        reason = mfa.failure_reason(user, code, now)
        db.session.rollback()
        signin.count_failure(user.username, ip)
        if reason == "reused":
            mfa.report_reuse(db.session, user, now, ip)
            db.session.commit()
        security_event("mfa_failed", level=logging.WARNING, user=user.username, ip=ip, via="api", reason=reason)
        return unauthorized(mfa.WRONG_CODE)
    security_event("mfa_ok", user=user.username, ip=ip, via="api")
    return None


@blp.delete("/auth/token")
@blp.operation("revokeToken", "撤销本次请求所用的访问令牌", errors=(401,))
@blp.response(204, description="已撤销")
def revoke_token() -> Response:
    """Revoke the token this request was made with."""
    accounts.revoke_token(db.session, current_api_token(), clock.now())
    db.session.commit()
    return current_app.response_class(status=204)


@blp.get("/auth/tokens")
@blp.operation("listTokens", "调用者仍有效的访问令牌(不含令牌本身)", errors=(401,))
@blp.response(200, TokenListSchema, description="有效令牌,新的在前")
def list_tokens() -> dict[str, Any]:
    """The caller's live tokens: id, when issued, when they expire, when last used; never the token."""
    user = current_api_user()
    current = accounts.live_token(db.session, current_api_token(), clock.now())
    rows = accounts.list_tokens(db.session, user, clock.now())
    return {"items": [{"id": row.id, "created_at": row.created_at, "expires_at": row.expires_at,
                       "last_used_at": row.last_used_at, "label": row.label,
                       "current": current is not None and row.id == current.id} for row in rows]}


@blp.delete("/auth/tokens/<int:token_id>", parameters=[TOKEN_ID])
@blp.operation("revokeTokenById", "撤销调用者的一个访问令牌(他人的令牌答 404)", errors=(401, 404))
@blp.response(204, description="已撤销")
def revoke_token_by_id(token_id: int) -> Response:
    """Revoke one of the caller's live tokens; another's, or one already dead, is not found."""
    user = current_api_user()
    accounts.revoke_user_token(db.session, user, user, token_id, clock.now())
    db.session.commit()
    return current_app.response_class(status=204)


@blp.delete("/auth/tokens")
@blp.operation("revokeAllTokens", "撤销调用者的全部访问令牌(含本次请求所用的)", errors=(401,))
@blp.response(204, description="已全部撤销")
def revoke_all_tokens() -> Response:
    """Revoke every token of the caller, the one this request was made with included."""
    user = current_api_user()
    accounts.revoke_own_tokens(db.session, user, user, clock.now())
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
