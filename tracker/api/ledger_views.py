"""API ledger import: POST /api/v1/imports/ledger reads an Excel ledger, previews or applies it.

A file larger than PREVIEW_INLINE_MAX_BYTES is kept and read by a background job, as on the
pages: the call answers 202 with the job (`Location: /api/v1/jobs/<id>`). Once a preview job is
done, posting the same file again answers with its stored preview at once.
"""
from __future__ import annotations

from typing import Optional

from flask import current_app, jsonify, request

from tracker import clock
from tracker.background.views import start
from tracker.extensions import db
from tracker.models import User
from tracker.services import background_jobs, ledger_import
from tracker.api import bp, schemas
from tracker.api.auth import current_api_user
from tracker.api.job_views import accepted

CONFIRM_VALUES = {"true": True, "1": True, "false": False, "0": False, "": False}


@bp.post("/imports/ledger")
def import_ledger():
    """Preview an Excel ledger (multipart `file`), or with `confirm=true` create and update its issues."""
    upload = request.files.get("file")
    if upload is None:
        raise schemas.bad_request("请以 multipart/form-data 上传台账文件,字段名为 file。")
    confirm = CONFIRM_VALUES.get(request.form.get("confirm", "").strip().lower())
    if confirm is None:
        raise schemas.bad_request("字段 confirm 应为 true 或 false。")
    round_id = request.form.get("round_id", "").strip()
    if round_id and not round_id.isdigit():
        raise schemas.bad_request("字段 round_id 应为整数。")
    user, round_ = current_api_user(), int(round_id) if round_id else None
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if size > int(current_app.config["PREVIEW_INLINE_MAX_BYTES"]):
        return _in_background(upload.stream, user, round_, confirm)
    preview = ledger_import.read_ledger(upload.stream, db.session, actor=user, round_id=round_,
                                        **ledger_import.limits(current_app.config))
    body = {"rows": len(preview.rows), "errors": preview.errors, "warnings": preview.warnings,
            **preview.counts()}
    if not confirm:
        return jsonify(body)
    if not preview.ok:
        # Nothing is written: the caller gets every error to fix at once.
        return jsonify(error=f"台账有 {len(preview.errors)} 处错误,请修改后重新上传;未写入任何数据。",
                       **body), 422
    if len(preview.rows) > int(current_app.config["IMPORT_INLINE_MAX_ROWS"]):
        # As on the pages: many rows are written by a job, which reads and checks the kept file again.
        upload.stream.seek(0)
        return _in_background(upload.stream, user, round_, confirm)
    created, updated = ledger_import.apply_ledger(db.session, user, clock.now(), clock.today(), preview)
    db.session.commit()
    return jsonify(created=created, updated=updated)


def _in_background(stream, user: User, round_id: Optional[int], confirm: bool):
    """Keep a large ledger and preview or import it in a job; a finished current preview answers at once."""
    app = current_app._get_current_object()
    upload_dir = app.config["UPLOAD_DIR"]
    sha256 = ledger_import.keep_upload(upload_dir, stream, user, app.config["MAX_UPLOAD_BYTES"])
    if confirm:
        # The job reads and checks the whole file again and writes nothing if it has an error.
        job = background_jobs.create_import_job(db.session, user, clock.now(), upload_dir, sha256, round_id, 0)
        start(app, job)
        return accepted(job)
    job, new = background_jobs.preview_job(db.session, user, clock.now(), upload_dir, sha256, round_id)
    if new:
        start(app, job)
    elif job.state == background_jobs.DONE:
        page = background_jobs.stored_preview(job)
        return jsonify(rows=page.row_count, errors=page.errors, warnings=page.warnings, error_count=page.error_count,
                       warning_count=page.warning_count, **page.counts())
    return accepted(job)
