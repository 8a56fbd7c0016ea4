"""The ledger import pages (台账导入): upload, preview with every row's errors, confirm.

The uploaded file is kept on the server (UPLOAD_DIR/imports/<sha256>); the preview page and
the confirmation both read that file, so what is written is exactly what was previewed.
A kept file larger than PREVIEW_INLINE_MAX_BYTES is read and checked for the preview by a
background job (the page then shows the job's stored result), and a ledger of more than
IMPORT_INLINE_MAX_ROWS rows is applied by a background job (all or nothing, like inline);
the user follows either on the job's page. The confirmation always reads and checks the file again.
"""
from __future__ import annotations

from typing import Optional

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField

from tracker import clock, workflow
from tracker.extensions import db
from tracker.services.admin import rounds_newest_first
from tracker.services import background_jobs, ledger_import
from tracker.web import undo_refused
from tracker.workflow import Refusal
from tracker.issues import bp
from tracker.issues.forms import choices

PREVIEW_ROWS = ledger_import.PREVIEW_ROWS  # rows shown in the preview table
DEFAULT_INLINE_MAX_ROWS = 500  # larger ledgers are applied by a background job
DEFAULT_PREVIEW_INLINE_MAX_BYTES = 512 * 1024  # larger files are previewed by a background job


class LedgerUploadForm(FlaskForm):
    """Upload a ledger workbook, with the round for rows that do not name one."""

    file = FileField("台账文件(.xlsx)", validators=[FileRequired("请选择要导入的台账文件。")])
    round_id = SelectField("督察轮次(台账无“督察轮次”列或该列为空时使用)", choices=[], validate_choice=False)


class LedgerConfirmForm(FlaskForm):
    """Confirm the import of a previewed ledger."""

    round_id = HiddenField()
    # The previewed row count: it only chooses between applying here and a background job
    # (both read and check the kept file again), so a changed value cannot change what is written.
    rows = HiddenField()


def _round_arg(value: Optional[str]) -> Optional[int]:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _limits() -> dict:
    return ledger_import.limits(current_app.config)


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_ledger():
    """Upload a ledger (督察整改办); the file is kept and the preview page opens."""
    if not workflow.may_manage_issues(current_user.role):
        # Refuse before an upload; the services check again.
        raise Refusal("forbidden", "只有督察整改办可以导入整改台账。")
    form = LedgerUploadForm()
    rounds = rounds_newest_first(db.session)
    form.round_id.choices = choices([("", "(按台账中的督察轮次)")] + [(str(r.id), r.name) for r in rounds])
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            sha256 = ledger_import.keep_upload(current_app.config["UPLOAD_DIR"], form.file.data.stream, current_user,
                                               _limits()["max_bytes"])
        except Refusal as refusal:
            undo_refused(refusal)
            form.file.errors = [refusal.message]
            status = refusal.status
        else:
            return redirect(url_for("issues.import_preview", sha256=sha256,
                                    round_id=_round_arg(form.round_id.data)))
    elif request.method == "POST":
        status = 422
    return render_template("issues/import.html", form=form, preview=None), status


@bp.get("/import/<sha256>")
@login_required
def import_preview(sha256: str):
    """The preview of a kept ledger: what would be created or updated, and every row's errors.

    A large file is read by a background job: its stored result when there is a current one,
    else the job's page (a new job, or the one already running for this file and round).
    """
    round_id = _round_arg(request.args.get("round_id"))
    upload_dir = current_app.config["UPLOAD_DIR"]
    inline_max = int(current_app.config.get("PREVIEW_INLINE_MAX_BYTES", DEFAULT_PREVIEW_INLINE_MAX_BYTES))
    if ledger_import.kept_size(upload_dir, sha256, current_user) <= inline_max:
        preview = ledger_import.read_kept(upload_dir, sha256, db.session, current_user, round_id=round_id,
                                          **_limits())
        page = ledger_import.PreviewPage.from_preview(preview, shown=PREVIEW_ROWS)
        return _render_preview(sha256, round_id, page)
    from tracker.background.views import start

    job, new = background_jobs.preview_job(db.session, current_user, clock.now(), upload_dir, sha256, round_id)
    if new:
        start(current_app._get_current_object(), job)
    elif job.state == background_jobs.DONE:
        return _render_preview(sha256, round_id, background_jobs.stored_preview(job), job)
    return redirect(url_for("background.show", job_id=job.id))


def _render_preview(sha256: str, round_id: Optional[int], page: ledger_import.PreviewPage, job=None):
    return render_template("issues/import.html", form=None, preview=page, sha256=sha256, job=job,
                           confirm_form=LedgerConfirmForm(round_id=round_id or "", rows=page.row_count))


@bp.post("/import/<sha256>")
@login_required
def import_confirm(sha256: str):
    """Apply a kept ledger whose preview has no errors, then show the issue list."""
    form = LedgerConfirmForm()
    if not form.validate_on_submit():
        flash("页面已过期,请重新确认导入。", "danger")
        return redirect(url_for("issues.import_preview", sha256=sha256, round_id=_round_arg(form.round_id.data)))
    round_id = _round_arg(form.round_id.data)
    rows = _round_arg(form.rows.data)
    if rows is not None and rows > int(current_app.config.get("IMPORT_INLINE_MAX_ROWS", DEFAULT_INLINE_MAX_ROWS)):
        return _import_in_background(sha256, round_id, rows)
    try:
        preview = ledger_import.read_kept(current_app.config["UPLOAD_DIR"], sha256, db.session, current_user,
                                          round_id=round_id, **_limits())
        created, updated = ledger_import.apply_ledger(db.session, current_user, clock.now(), clock.today(),
                                                      preview)
    except Refusal as refusal:
        undo_refused(refusal)
        flash(refusal.message, "danger")
        return redirect(url_for("issues.import_preview", sha256=sha256, round_id=round_id))
    db.session.commit()
    flash(f"台账导入完成:新登记 {created} 个问题,更新 {updated} 个问题。", "success")
    return redirect(url_for("issues.index"))


def _import_in_background(sha256: str, round_id: Optional[int], rows: int):
    """Record an import job for the kept ledger and send the user to its page."""
    from tracker.background.views import start

    try:
        job = background_jobs.create_import_job(db.session, current_user, clock.now(),
                                                current_app.config["UPLOAD_DIR"], sha256, round_id, rows)
    except Refusal as refusal:
        undo_refused(refusal)
        flash(refusal.message, "danger")
        return redirect(url_for("issues.import_preview", sha256=sha256, round_id=round_id))
    start(current_app._get_current_object(), job)
    return redirect(url_for("background.show", job_id=job.id))
