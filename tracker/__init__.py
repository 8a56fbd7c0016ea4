"""The tracker: rectification of inspection feedback issues (督察反馈问题整改)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Optional

from flask import Flask, g, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker.config import instance_secret, load_config
from tracker.core.errors import Refusal
from tracker.core.extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("tracker")
# Room for the multipart envelope (boundaries, part headers, other fields) around the largest upload;
# deploy/nginx/tracker.conf's client_max_body_size allows the same.
UPLOAD_ENVELOPE_BYTES = 1024 * 1024
HSTS = "max-age=31536000; includeSubDomains"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, signed with HMAC-SHA-256 rather than Flask's default SHA-1
    (ASVS 6.2.5: no SHA-1). Cookies signed the old way no longer verify: people sign in once again."""

    digest_method = staticmethod(hashlib.sha256)


def create_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the application; `config` overrides what the environment gives."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.session_interface = SessionInterface()
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))
    if not app.config.get("FIELD_KEY"):
        from cryptography.fernet import Fernet

        app.config["FIELD_KEY"] = instance_secret(Path(app.instance_path), "field_key",
                                                  lambda: Fernet.generate_key().decode())
    given = config or {}
    # Leave room for the multipart envelope around the largest allowed file. Flask defines the key
    # (None: no limit), so a setdefault here never took effect: set it unless the caller gave one.
    if "MAX_CONTENT_LENGTH" not in given:
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + UPLOAD_ENVELOPE_BYTES
    # Cookies follow SECURE_COOKIES (TRACKER_SECURE_COOKIES) unless the caller set them one by one.
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if key not in given:
            app.config[key] = bool(app.config.get("SECURE_COOKIES"))
    if app.config["SESSION_COOKIE_SECURE"] and "SESSION_COOKIE_NAME" not in given:
        # __Host-: browsers keep it only if Secure, for this host alone and path /, so neither a
        # plain-HTTP page nor a sibling subdomain can plant or overwrite the session cookie.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    if app.config.get("PROXY_COUNT"):
        # Trust X-Forwarded-For/-Proto/-Host from exactly that many proxies (the README's nginx: 1),
        # so remote_addr and https links are the client's; with 0 a client could forge them.
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    # The app's records (refusals, settings changed, units an import created, job runs) are INFO
    # and above, under the "tracker" logger; Flask's handler on it writes them to stderr (gunicorn's
    # error log) unless the host has configured logging itself. No root handler is added here:
    # that printed every record twice and left INFO dropped outside tests.
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)

    from tracker.core import bounds

    # Before any route: ids in paths are bounded to the database's integer range.
    bounds.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from tracker import accounts, admin, escalation, issues, ledger, notify, public, reports, rounds, units
    from tracker.core import api, sqlite, templating, throttle
    from tracker.core.views import bp as tasks_bp

    sqlite.init_app(app)
    throttle.init_app(app)
    # The API's document and shared endpoints first: each domain then adds its API blueprint to them.
    api.init_app(app)
    # Each domain registers its pages, its API, its subscribers and its commands.
    for domain in (accounts, units, rounds, issues, notify, escalation, ledger, reports, public, admin):
        domain.init_app(app)
    app.register_blueprint(tasks_bp)
    templating.init_app(app)
    _register_errors(app)
    _register_headers(app)

    from tracker.cli import register_commands

    register_commands(app)
    return app


def _register_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        if app.config.get("SECURE_COOKIES"):
            # Served over HTTPS only: tell browsers never to try plain HTTP for a year.
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if _private_response():
            # A signed-in person's pages and every API answer name people and issues: no browser
            # or proxy may keep a copy (a shared computer's back button, a caching proxy).
            if "no-store" not in (response.headers.get("Cache-Control") or ""):
                response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        # An API answer is data, never a page: a browser that opens it directly saves it instead of
        # rendering it (ASVS 14.4.2). Downloads name their own file.
        if _wants_json() and "Content-Disposition" not in response.headers:
            response.headers["Content-Disposition"] = 'attachment; filename="api.json"'
        return response


def _private_response() -> bool:
    """Whether this response must not be cached: any API answer, or any page for a signed-in user.

    Static files are public and may be cached. The signed-in test reads the session, not the user,
    so that it never costs a query.
    """
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return False
    if request.path.startswith("/api/"):
        return True
    return bool(session.get("_user_id")) or bool(getattr(g, "_login_user", None)
                                                  and g._login_user.is_authenticated)


def _too_large() -> None:
    """Record a body refused for its size (read from its declared length, never from the body)."""
    from tracker.core.security_log import security_event

    security_event("request_too_large", level=logging.WARNING, method=request.method, path=request.path,
                   declared=request.content_length, limit=request.max_content_length, ip=request.remote_addr)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(Refusal)
    def refused(err: Refusal):
        from tracker.core.web import undo_refused

        undo_refused(err)
        if _wants_json():
            return jsonify(error=err.message), err.status
        return render_template("error.html", status=err.status, message=err.message), err.status

    @app.errorhandler(CSRFError)
    def csrf_failed(err):
        log.warning("refused %s %s: CSRF %s", request.method, request.path, err.description)
        return render_template("error.html", status=400,
                               message="页面已过期或表单校验失败,请返回刷新后重试。"), 400

    messages = {
        400: "请求格式不正确。",
        401: "请先登录。",
        403: "您无权执行此操作。",
        404: "页面不存在或您无权查看。",
        405: "不支持该请求方法。",
        413: "上传的文件太大。",
        500: "服务器出错了,请稍后再试;如果反复出现,请联系系统管理员。",
    }
    for status, message in messages.items():
        def handler(err, status=status, message=message):
            if status >= 500:
                db.session.rollback()
            elif status == 413:
                _too_large()
            elif status in (401, 403, 404, 405):  # 405: a method the app does not use (ASVS 14.5.1)
                log.warning("refused %s %s: %s", request.method, request.path, status)
            if _wants_json():
                return jsonify(error=message), status
            return render_template("error.html", status=status, message=message), status
        app.register_error_handler(status, handler)
