"""Bearer-token authentication for the JSON API.

Only the `Authorization: Bearer TOKEN` header authenticates an API call; the
browser's session cookie never does, so a page visited in a signed-in browser
cannot be turned into an API call on the user's behalf.
"""
from __future__ import annotations

import logging
from typing import Optional

from flask import Response, g, jsonify, request

from tracker.extensions import db
from tracker.models import User
from tracker.services import accounts

log = logging.getLogger("tracker.api")

# Endpoints that answer without a token: signing in and the API's own description.
PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi"}

MISSING_TOKEN = "缺少访问令牌:请在请求头中提供 Authorization: Bearer <令牌>。"
MALFORMED_TOKEN = "Authorization 请求头格式不正确,应为 Bearer <令牌>。"
INVALID_TOKEN = "访问令牌无效、已过期或已被撤销,请重新获取令牌。"


def bearer_token() -> Optional[str]:
    """The token in the Authorization header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def unauthorized(message: str) -> tuple[Response, int]:
    """A 401 answer in the API's error shape, logged as a refused access."""
    log.warning("refused %s %s from %s: 401 %s", request.method, request.path, request.remote_addr, message)
    response = jsonify(error=message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response, 401


def authenticate_request() -> Optional[tuple[Response, int]]:
    """Blueprint `before_request`: resolve the bearer token to a user or answer 401."""
    # `g` outlives a request when an app context is reused (tests); start clean.
    g.api_user = None
    g.api_token = None
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return None
    token = bearer_token()
    if token is None:
        return unauthorized(MISSING_TOKEN)
    if token == "":
        return unauthorized(MALFORMED_TOKEN)
    user = accounts.user_for_token(db.session, token)
    if user is None:
        return unauthorized(INVALID_TOKEN)
    g.api_user = user
    g.api_token = token
    return None


def current_api_user() -> User:
    """The user the request's bearer token belongs to (set by `authenticate_request`)."""
    user = g.get("api_user")
    if user is None:  # pragma: no cover - every non-public endpoint passed the check
        raise RuntimeError("API view reached without an authenticated user")
    return user


def current_api_token() -> str:
    """The bearer token of the current request."""
    return g.api_token
