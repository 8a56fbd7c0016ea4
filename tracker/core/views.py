"""The task pages (后台任务): a user's recent tasks, one task's progress, its JSON for the page's polling,
and its download.

Only the task's owner sees any of it; anyone else gets 404, logged like every refused access.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from flask import Blueprint, Flask, current_app, jsonify, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.core import clock
from tracker.core import tasks as jobs
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.core.web import login_required

bp = Blueprint("background", __name__, url_prefix="/jobs")

MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8"}
# Seconds between reloads of a running task's page when the browser runs no JavaScript.
REFRESH_SECONDS = 3


def start(app: Flask, job: BackgroundJob) -> None:
    """Commit a newly created task, then hand it to the runner (the task must exist before it runs)."""
    db.session.commit()
    jobs.submit(app, job.id)


def status(job: BackgroundJob) -> dict[str, Any]:
    """The job as JSON, with progress this process knows of that is not yet in the database."""
    live = jobs.live_done(job.id)
    download = url_for("background.download", job_id=job.id)
    data = jobs.job_json(job, clock.now(), download, done=live, alive=live is not None)
    data["message"] = progress_text(data["done"], data["total"], job.kind)
    kind = jobs.KINDS.get(job.kind)
    if data["state"] == jobs.RUNNING and kind and kind.starting_note and data["done"] == 0:
        data["message"] += kind.starting_note
    return data


def progress_text(done: int, total: int, kind: str = "") -> str:
    """The progress line under the bar; a task whose row count is not known yet shows rows done only."""
    known = jobs.KINDS.get(kind)
    word = known.progress_word if known else "已处理"
    if known and known.total_may_be_unknown and not total:
        return f"{word} {done} 行"
    return f"{word} {done} / {total} 行"


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The user's recent jobs, newest first."""
    rows = [(job, status(job)) for job in jobs.recent_jobs(db.session, current_user)]
    return render_template("background/list.html", rows=rows)


@bp.get("/<int:job_id>")
@login_required
def show(job_id: int) -> ResponseReturnValue:
    """One job: its progress while it runs, then its download (export) or summary (import), or its error."""
    job = jobs.job_for(db.session, current_user, job_id)
    data = status(job)
    refresh = REFRESH_SECONDS if data["state"] in jobs.ACTIVE else None
    return render_template("background/show.html", job=job, data=data, refresh=refresh,
                           params=jobs.params(job))


@bp.get("/<int:job_id>/status")
@login_required
def status_json(job_id: int) -> ResponseReturnValue:
    """The job's state and progress as JSON, polled by static/jobs.js (same shape as GET /api/v1/jobs/<id>)."""
    job = jobs.job_for(db.session, current_user, job_id)
    response = jsonify(status(job))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:job_id>/download")
@login_required
def download(job_id: int) -> ResponseReturnValue:
    """The finished export's file, as an attachment only."""
    return send_result(jobs.job_for(db.session, current_user, job_id))


def send_result(job: BackgroundJob) -> Response:
    """A finished job's file as an attachment (never shown inline); refused while there is none."""
    state, _error = jobs.shown_state(job, clock.now(), alive=jobs.live_done(job.id) is not None)
    if state != jobs.DONE or not job.result_path:
        raise Refusal("not_found", "该任务没有可下载的文件。")
    path = result_file(job)
    if path is None:
        raise Refusal("not_found", "导出文件已不存在,请重新导出。")
    response = send_file(path, mimetype=MIMETYPES.get(path.suffix.lstrip("."), "application/octet-stream"),
                         as_attachment=True, download_name=job.download_name or path.name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def result_file(job: BackgroundJob) -> Optional[Path]:
    """The job's result file, only if it is inside UPLOAD_DIR/exports and still there."""
    folder = (Path(current_app.config["UPLOAD_DIR"]) / jobs.RESULTS_FOLDER).resolve()
    path = (Path(current_app.config["UPLOAD_DIR"]) / (job.result_path or "")).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


