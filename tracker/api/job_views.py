"""API background jobs: GET /api/v1/jobs/<id> (state and progress) and its download, for the job's owner."""
from __future__ import annotations

from flask import jsonify, send_file, url_for

from .. import clock
from ..background import runner
from ..background.views import MIMETYPES, result_file
from ..extensions import db
from ..services import background_jobs as jobs
from ..workflow import Refusal
from . import bp
from .auth import current_api_user


def job_status(job) -> dict:
    """The job as JSON, with the API's download link."""
    live = runner.live_done(job.id)
    return jobs.job_json(job, clock.now(), url_for("api.download_job", job_id=job.id), done=live,
                         alive=live is not None)


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
    job = jobs.job_for(db.session, current_api_user(), job_id)
    state, _error = jobs.shown_state(job, clock.now(), alive=runner.live_done(job.id) is not None)
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
