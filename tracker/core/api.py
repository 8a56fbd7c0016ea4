"""What every API view shares: the /api/v1 blueprint, bearer-token authentication, the error shape,
request parsing, serialisation helpers, background task status, and the OpenAPI document.

API views (each domain's `api.py`) parse the request, call one service, commit and answer JSON.
A refused action raises `Refusal`; the blueprint's error handler rolls the session back, logs the
refusal and answers {"error": "..."} with its status.

Only the `Authorization: Bearer TOKEN` header authenticates an API call; the browser's session
cookie never does, so a page visited in a signed-in browser cannot be turned into an API call on
the user's behalf. The accounts domain tells this module how a token finds its user
(`token_loader`), as Flask-Login's user loader does for sessions.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Optional

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from tracker.core import clock
from tracker.core import tasks as jobs
from tracker.core.errors import STALE_MESSAGE, Refusal
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.core.views import send_result

if TYPE_CHECKING:
    from tracker.accounts.models import User

log = logging.getLogger("tracker.api")

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_token_loader: Optional[Callable[[Session, str], Optional[User]]] = None


def token_loader(loader: Callable[[Session, str], Optional[User]]) -> Callable[[Session, str], Optional[User]]:
    """Register how a bearer token finds its (active) user; used as a decorator by the accounts domain."""
    global _token_loader
    _token_loader = loader
    return loader


# --- authentication ----------------------------------------------------------

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
    if _token_loader is None:  # pragma: no cover - the accounts domain registers it in create_app
        raise RuntimeError("no API token loader registered")
    user = _token_loader(db.session, token)
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
    return str(g.api_token)


bp.before_request(authenticate_request)


# --- errors ------------------------------------------------------------------

def _who() -> str:
    user = g.get("api_user")
    return user.username if user is not None else "-"


@bp.errorhandler(Refusal)
def refused(err: Refusal):
    """A refused call: nothing written stays, the caller gets the reason."""
    db.session.rollback()
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), err.status, err.message)
    details = getattr(err, "errors", None)  # a refusal listing every row's problems (plan import)
    return jsonify(error=err.message, **({"errors": details} if details is not None else {})), err.status


@bp.errorhandler(StaleDataError)
def stale(_err: StaleDataError):
    """Two writers on one issue at once: the later one loses and is told so."""
    db.session.rollback()
    log.warning("refused %s %s for %s: 409 stale", request.method, request.path, _who())
    return jsonify(error=STALE_MESSAGE), 409


@bp.errorhandler(IntegrityError)
def integrity(_err: IntegrityError):
    """A uniqueness race the services' checks could not see (another caller won)."""
    db.session.rollback()
    log.warning("refused %s %s for %s: 409 integrity", request.method, request.path, _who())
    return jsonify(error="数据与他人同时提交的内容冲突,请检查后重试。"), 409


HTTP_MESSAGES = {
    400: "请求格式不正确。",
    404: "请求的资源不存在。",
    405: "不支持该请求方法。",
    413: "上传的内容太大,单个文件不能超过 {mb} MB。",
    415: "不支持的请求内容类型。",
}


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    """Werkzeug's errors (e.g. a body over MAX_CONTENT_LENGTH) in the API's JSON shape."""
    status = err.code or 500
    if status >= 500:
        db.session.rollback()
    mb = current_app.config.get("MAX_UPLOAD_BYTES", 0) // (1024 * 1024)
    message = HTTP_MESSAGES.get(status, "请求无法处理。").format(mb=mb)
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), status, err.name)
    return jsonify(error=message), status


# --- request parsing ---------------------------------------------------------

STR = "string"


INT = "integer"


STR_LIST = "string list"


TYPE_LABELS = {STR: "字符串", INT: "整数", STR_LIST: "字符串数组"}


def bad_request(message: str) -> Refusal:
    """A 400 refusal: the request itself is malformed."""
    return Refusal("bad_request", message)


# --- request bodies ----------------------------------------------------------

def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 refusal saying what is wrong."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise bad_request("请求体为空:应为 JSON 对象。")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("请求体不是合法的 JSON。") from None
    if not isinstance(data, dict):
        raise bad_request("请求体必须是 JSON 对象(形如 {\"字段\": 值})。")
    return data


def _has_type(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        # JSON true/false are bools, which Python also counts as ints.
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STR_LIST:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    raise ValueError(kind)


def check_types(data: dict[str, Any], spec: dict[str, str]) -> dict[str, Any]:
    """Refuse (400) fields present with the wrong JSON type; null counts as absent.

    Returns only the fields named in `spec`, without the nulls, so services see
    missing values the same way whether they were left out or sent as null.
    """
    clean = {}
    for name, kind in spec.items():
        value = data.get(name)
        if value is None:
            continue
        if not _has_type(value, kind):
            raise bad_request(f"字段 {name} 应为{TYPE_LABELS[kind]}。")
        clean[name] = value
    return clean


# --- query strings -----------------------------------------------------------

def int_arg(name: str, default: Optional[int], minimum: int, maximum: Optional[int] = None) -> Optional[int]:
    """A whole-number query argument within bounds, `default` when absent; 400 otherwise."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"参数 {name} 应为整数。") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum} 到 {maximum}" if maximum is not None else f"不小于 {minimum}"
        raise bad_request(f"参数 {name} 应为{bounds}的整数。")
    return value


def choice_arg(name: str, choices: tuple[str, ...]) -> Optional[str]:
    """A query argument that must be one of `choices`, None when absent; 400 otherwise."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise bad_request(f"参数 {name} 应为 {'、'.join(choices)} 之一。")
    return raw


def bool_arg(name: str) -> Optional[bool]:
    """A true/false (1/0) query argument, None when absent; 400 otherwise."""
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise bad_request(f"参数 {name} 应为 true 或 false。")


# --- serialisation -----------------------------------------------------------

def iso_date(value: Optional[date]) -> Optional[str]:
    """A date as YYYY-MM-DD."""
    return value.isoformat() if value else None


def iso_time(value: Optional[datetime]) -> Optional[str]:
    """A stored (naive UTC) moment as ISO 8601 with an explicit Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


# --- background tasks --------------------------------------------------------

def job_status(job: BackgroundJob) -> dict[str, Any]:
    """The job as JSON, with the API's download link."""
    live = jobs.live_done(job.id)
    return jobs.job_json(job, clock.now(), url_for("api.download_job", job_id=job.id), done=live,
                         alive=live is not None)


def accepted(job: BackgroundJob) -> Response:
    """202 Accepted with the job's JSON and `Location` to poll: work handed to a background job."""
    db.session.refresh(job)
    response = jsonify(job_status(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    """A background job of the caller's: state, done/total, percent, and its download link or summary."""
    job = jobs.job_for(db.session, current_api_user(), job_id)
    response = jsonify(job_status(job))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/jobs/<int:job_id>/download")
def download_job(job_id: int):
    """The finished export's file (attachment) of a job of the caller's."""
    return send_result(jobs.job_for(db.session, current_api_user(), job_id))
