"""API background jobs: GET /api/v1/jobs/<id> (state and progress) and its download, for the job's owner."""
from __future__ import annotations

from flask import Response, jsonify, url_for

from tracker import clock
from tracker.background import runner
from tracker.background.views import send_result
from tracker.extensions import db
from tracker.services import background_jobs as jobs
from tracker.api import bp
from tracker.api.auth import current_api_user


def job_status(job) -> dict:
    """The job as JSON, with the API's download link."""
    live = runner.live_done(job.id)
    return jobs.job_json(job, clock.now(), url_for("api.download_job", job_id=job.id), done=live,
                         alive=live is not None)


def accepted(job) -> Response:
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
