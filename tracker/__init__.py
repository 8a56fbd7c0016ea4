"""The tracker: rectification of inspection feedback issues (督察反馈问题整改)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from tracker.config import instance_secret, load_config
from tracker.core.errors import Refusal
from tracker.core.extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("tracker")


def create_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the application; `config` overrides what the environment gives."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))
    # Leave room for the multipart envelope around the largest allowed file.
    app.config.setdefault("MAX_CONTENT_LENGTH", app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024)
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
    from tracker.core import api, sqlite, templating
    from tracker.core.views import bp as tasks_bp

    sqlite.init_app(app)
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
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        return response


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
            elif status in (401, 403, 404):
                log.warning("refused %s %s: %s", request.method, request.path, status)
            if _wants_json():
                return jsonify(error=message), status
            return render_template("error.html", status=status, message=message), status
        app.register_error_handler(status, handler)
