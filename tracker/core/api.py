"""What every API view shares: the API blueprint class, bearer-token authentication, request
parsing through schemas, the error shape, background task status, and the OpenAPI document.

Each domain's `api.py` makes one `ApiBlueprint` and describes each operation with schemas
(see `tracker.core.schemas`): `@blp.arguments(Schema)` parses the request through the schema,
`@blp.response(status, Schema)` dumps the answer through it, and both, with `@blp.operation`,
make the operation's entry in openapi.json. Views parse, call one service, commit and answer.

A refused action raises `Refusal`; the blueprint's error handler rolls the session back, logs the
refusal and answers {"error": "..."} with its status. A request the schema refuses is a 400
`Refusal` too (`ApiParser`), with the same Chinese messages the API has always given.

Only the `Authorization: Bearer TOKEN` header authenticates an API call; the browser's session
cookie never does, so a page visited in a signed-in browser cannot be turned into an API call on
the user's behalf. The accounts domain tells this module how a token finds its user
(`token_loader`), as Flask-Login's user loader does for sessions.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Optional, TypeVar

import flask_smorest
from flask import Flask, Request, Response, current_app, g, jsonify, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from tracker.core import bounds, clock, openapi
from tracker.core import tasks as jobs
from tracker.core.errors import STALE_MESSAGE, Refusal
from tracker.core.extensions import DbSession, csrf, db
from tracker.core.models import BackgroundJob
from tracker.core.schemas import JobSchema, first_message
from tracker.core.security_log import security_event
from tracker.core.views import MIMETYPES, send_result

if TYPE_CHECKING:
    from tracker.accounts.models import User

log = logging.getLogger("tracker.api")

View = TypeVar("View", bound=Callable[..., Any])

_token_loader: Optional[Callable[[DbSession, str], Optional[User]]] = None


def token_loader(loader: Callable[[DbSession, str], Optional[User]]) -> Callable[[DbSession, str], Optional[User]]:
    """Register how a bearer token finds its (active) user; used as a decorator by the accounts domain."""
    global _token_loader
    _token_loader = loader
    return loader


# --- authentication ----------------------------------------------------------

MISSING_TOKEN = "缺少访问令牌:请在请求头中提供 Authorization: Bearer <令牌>。"


MALFORMED_TOKEN = "Authorization 请求头格式不正确,应为 Bearer <令牌>。"


INVALID_TOKEN = "访问令牌无效、已过期或已被撤销,请重新获取令牌。"


def public(view: View) -> View:
    """Mark an API view as answering without a token (signing in, the document); documented so."""
    wrapped = flask_smorest.Blueprint.doc(security=[])(view)
    wrapped.public_api = True  # read by `authenticate_request`
    return wrapped


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
    """API blueprints' `before_request`: resolve the bearer token to a user or answer 401."""
    # `g` outlives a request when an app context is reused (tests); start clean.
    g.api_user = None
    g.api_token = None
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "public_api", False) or request.method == "OPTIONS":
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


# --- errors ------------------------------------------------------------------

def _who() -> str:
    user = g.get("api_user")
    return user.username if user is not None else "-"


def bad_request(message: str) -> Refusal:
    """A 400 refusal: the request itself is malformed."""
    return Refusal("bad_request", message)


def refused(err: Refusal) -> tuple[Response, int]:
    """A refused call: nothing written stays, the caller gets the reason."""
    db.session.rollback()
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), err.status, err.message)
    details = getattr(err, "errors", None)  # a refusal listing every row's problems (plan import)
    return jsonify(error=err.message, **({"errors": details} if details is not None else {})), err.status


def stale(_err: StaleDataError) -> tuple[Response, int]:
    """Two writers on one issue at once: the later one loses and is told so."""
    db.session.rollback()
    log.warning("refused %s %s for %s: 409 stale", request.method, request.path, _who())
    return jsonify(error=STALE_MESSAGE), 409


def integrity(_err: IntegrityError) -> tuple[Response, int]:
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


def http_error(err: HTTPException) -> tuple[Response, int]:
    """Werkzeug's errors (e.g. a body over MAX_CONTENT_LENGTH) in the API's JSON shape."""
    status = err.code or 500
    if status >= 500:
        db.session.rollback()
    mb = current_app.config.get("MAX_UPLOAD_BYTES", 0) // (1024 * 1024)
    message = HTTP_MESSAGES.get(status, "请求无法处理。").format(mb=mb)
    log.warning("refused %s %s for %s: %s %s", request.method, request.path, _who(), status, err.name)
    if status == 413:
        security_event("request_too_large", level=logging.WARNING, method=request.method, path=request.path,
                       declared=request.content_length, limit=request.max_content_length, ip=request.remote_addr)
    return jsonify(error=message), status


# --- request parsing ---------------------------------------------------------

EMPTY_BODY = "请求体为空:应为 JSON 对象。"


INVALID_JSON = "请求体不是合法的 JSON。"


NOT_AN_OBJECT = "请求体必须是 JSON 对象(形如 {\"字段\": 值})。"


NOT_JSON = "请求体须为 JSON(Content-Type: application/json)。"


def require_json_content_type(req: Request) -> None:
    """Refuse (415) a JSON-bodied operation's request whose Content-Type is not application/json
    (parameters such as charset allowed; ASVS 13.1.5): a form post or a text/plain body, which
    a browser may send cross-site without a preflight, is never read as the operation's JSON."""
    if req.mimetype != "application/json":
        raise Refusal("unsupported_media_type", NOT_JSON)


class ApiParser(FlaskParser):
    """webargs' Flask parser, answering as the API always has: any refused request is a 400
    `Refusal` with one Chinese message (never webargs' 422 with a dict of English messages).

    - The body must be sent as Content-Type: application/json (else 415) and be an object.
    - The "multipart" location is one multipart/form-data body: its files and its form fields.
    """

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_json(self, req: Request, schema: Schema) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 refusal saying what is wrong."""
        raw = req.get_data(cache=True)
        if not raw.strip():
            raise bad_request(EMPTY_BODY)
        require_json_content_type(req)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise bad_request(INVALID_JSON) from None
        except RecursionError:  # nesting deeper than the interpreter's stack
            raise bad_request(bounds.TOO_DEEP_MESSAGE) from None
        if not isinstance(data, dict):
            raise bad_request(NOT_AN_OBJECT)
        if bounds.json_depth(data) > bounds.MAX_JSON_DEPTH:
            raise bad_request(bounds.TOO_DEEP_MESSAGE)
        return data

    def load_multipart(self, req: Request, schema: Schema) -> MultiDict[str, Any]:
        """The files and form fields of a multipart body (a file wins over a form field of its name)."""
        return MultiDict([*req.files.items(multi=True), *req.form.items(multi=True)])

    def handle_error(self, error: ValidationError, req: Request, schema: Schema, *,
                     error_status_code: Optional[int], error_headers: Any) -> NoReturn:
        """Refuse (400) with the first wrong field's message."""
        # webargs files the messages under the location: {"json": {"title": ["..."]}}.
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))
        raise bad_request(first_message(messages, schema))


# --- the blueprint -----------------------------------------------------------

class ApiBlueprint(flask_smorest.Blueprint):
    """A domain's part of /api/v1: bearer-token authentication, the {"error"} shape for every
    refusal, requests parsed by `ApiParser`, and operations documented with `operation`.

    The document's summaries and descriptions are the Chinese texts of `operation`; the views'
    (English) docstrings are for developers and stay out of it.
    """

    ARGUMENTS_PARSER = ApiParser()

    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    # Every line of a docstring "starts with" the empty delimiter: no docstring text reaches the document.
    DOCSTRING_INFO_DELIMITER = ""

    def __init__(self, name: str, import_name: str, *, tag: str, description: str = "") -> None:
        super().__init__(name, import_name, url_prefix=openapi.API_PREFIX, description=description)
        self.tag = tag
        self.before_request(authenticate_request)
        self.register_error_handler(Refusal, refused)
        self.register_error_handler(StaleDataError, stale)
        self.register_error_handler(IntegrityError, integrity)
        self.register_error_handler(HTTPException, http_error)

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[[View], View]:
        """flask-smorest's `arguments`; a refused request is documented as the 400 it answers, and
        a JSON body's operation also as the 415 a body of another Content-Type answers."""
        kwargs.setdefault("error_status_code", 400)
        parse = super().arguments(schema, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse

        def decorator(view: View) -> View:
            return self.alt_response(415, response=openapi.error_response(415))(parse(view))

        return decorator

    def operation(self, operation_id: str, summary: str, *, description: Optional[str] = None,
                  errors: Iterable[int] = (), tag: Optional[str] = None) -> Callable[[View], View]:
        """Document an operation: its id, Chinese summary (and description), tag, and the error
        responses (statuses) it may answer with, each {"error": "..."}."""
        doc: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag or self.tag]}
        if description:
            doc["description"] = description

        def decorator(view: View) -> View:
            for status in sorted(errors, reverse=True):
                view = self.alt_response(status, response=openapi.error_response(status))(view)
            return self.doc(**doc)(view)

        return decorator


# --- background tasks --------------------------------------------------------

bp = ApiBlueprint("api", __name__, tag="jobs", description="后台任务与本文档")

JOB_ID = {"in": "path", "name": "job_id", "description": "后台任务 id"}

FILE = {"type": "string", "format": "binary"}


def job_status(job: BackgroundJob) -> dict[str, Any]:
    """The job as `tracker.core.tasks.job_json` describes it, with the API's download link."""
    live = jobs.live_done(job.id)
    return jobs.job_json(job, clock.now(), url_for("api.download_job", job_id=job.id), done=live,
                         alive=live is not None)


def accepted(job: BackgroundJob) -> Response:
    """202 Accepted with the job (Job schema) and `Location` to poll: work handed to a background job."""
    db.session.refresh(job)
    response = jsonify(JobSchema().dump(job_status(job)))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response


def accepted_response(description: str) -> dict[str, Any]:
    """`alt_response` arguments documenting the 202 of an operation that may hand its work to a
    background job: the Job and its Location."""
    return {"schema": JobSchema, "description": description, "headers": {
        "Location": {"schema": {"type": "string"}, "description": "/api/v1/jobs/{job_id}"}}}


@bp.get("/jobs/<int:job_id>", parameters=[JOB_ID])
@bp.operation("getJob", "后台任务(大批量导出、导入)的状态和进度;仅发起人可见", errors=(401, 404))
@bp.response(200, JobSchema, description="后台任务")
def get_job(job_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A background job of the caller's: state, done/total, percent, and its download link or summary."""
    job = jobs.job_for(db.session, current_api_user(), job_id)
    return job_status(job), {"Cache-Control": "private, no-store"}


@bp.get("/jobs/<int:job_id>/download", parameters=[JOB_ID])
@bp.operation("downloadJob", "下载已完成的导出任务的文件(附件);仅发起人可下载", errors=(401, 404))
@bp.response(200, FILE, content_type=MIMETYPES["xlsx"], description="导出的台账文件(附件)")
@bp.alt_response(200, schema=FILE, content_type="text/csv", description="导出的台账文件(附件)", success=True)
def download_job(job_id: int) -> WerkzeugResponse:
    """The finished export's file (attachment) of a job of the caller's."""
    return send_result(jobs.job_for(db.session, current_api_user(), job_id))


# --- the document ------------------------------------------------------------

@bp.get("/openapi.json")
@bp.operation("openapi", "本文档", tag="meta")
@bp.response(200, {"type": "object"}, description="OpenAPI 3.0 文档")
@public
def openapi_document() -> Response:
    """The OpenAPI 3.0 description of this API (no token needed), generated from the schemas."""
    return jsonify(openapi.api_of(current_app).document())


def register(app: Flask, blp: ApiBlueprint) -> None:
    """Add a domain's API blueprint to the app and its document (called from the domain's init_app)."""
    openapi.api_of(app).register_blueprint(blp)
    # Bearer tokens, not cookies, authenticate the API: there is no session for CSRF to protect.
    csrf.exempt(blp)


def init_app(app: Flask) -> None:
    """Set up the API document and serve the shared endpoints (jobs, the document) before the domains add theirs."""
    openapi.init_app(app)
    register(app, bp)
