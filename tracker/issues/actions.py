"""The issue page's POST endpoints: progress reports, evidence uploads and workflow actions.

Each validates its form, calls one service, commits and redirects to the issue
page; a refusal rolls back and is flashed, so nothing changes.
"""
from __future__ import annotations

from typing import Callable, Optional

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import clock, workflow
from tracker.extensions import db
from tracker.models import Issue
from tracker.services import issues as issue_svc
from tracker.web import undo_refused
from tracker.workflow import Refusal
from tracker.issues import bp, dossier
from tracker.issues.forms import EvidenceForm, ProgressForm, TransitionForm

SUCCESS = {
    workflow.SUBMIT: "已提交销号申请,等待督察整改办验收。",
    workflow.VERIFY: "已验收通过,等待销号审批。",
    workflow.APPROVE: "已批准销号,问题已销号。",
    workflow.RETURN: "已退回,问题回到整改中。",
    workflow.REOPEN: "已重新打开,问题回到整改中。",
    workflow.MARK_BASICALLY_DONE: "已标记为基本完成。",
    workflow.MERGE: "已合并整改。",
}
GET_NOTICE = "该操作需要在问题页面上点击按钮提交,请重新操作。"


def _back(issue_id: int):
    return redirect(url_for("issues.detail", issue_id=issue_id))


def _flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")


def _again(issue_id: int, status: int):
    """The issue page again, with the reasons on top and what the user typed still in its form."""
    issue = dossier.load_issue(db.session, current_user, issue_id)
    posted = {**request.form.to_dict(), "for": request.form.get("action") or request.endpoint.rsplit(".", 1)[-1]}
    return render_template("issues/detail.html", posted=posted,
                           **dossier.as_context(dossier.build(db.session, current_user, issue))), status


def _run(issue_id: int, form, call: Callable[[Issue], Optional[str]]):
    """Validate `form`, run `call(issue)` (one service call), commit and flash its message.

    A GET (e.g. after signing in again) changes nothing and only leads back to the page.
    """
    issue = issue_svc.get_visible_issue(db.session, current_user, issue_id)
    if not form.is_submitted():
        flash(GET_NOTICE, "warning")
        return _back(issue.id)
    if not form.validate():
        _flash_form_errors(form)
        return _again(issue.id, 422)
    try:
        message = call(issue)
    except Refusal as refusal:
        undo_refused(refusal)
        flash(refusal.message, "danger")
        return _again(issue_id, refusal.status)
    db.session.commit()
    if message:
        flash(message, "success")
    return _back(issue_id)


@bp.route("/<int:issue_id>/progress", methods=["GET", "POST"])
@login_required
def report(issue_id: int):
    """File a progress report (进展报送) for a period."""
    form = ProgressForm()

    def call(issue: Issue) -> str:
        report = issue_svc.report_progress(db.session, current_user, clock.now(), issue,
                                           form.period.data, form.percent.data, form.text.data,
                                           current_app.config["TIMEZONE"])
        return f"{report.period} 的进展已报送,进度 {report.percent}%。"

    return _run(issue_id, form, call)


@bp.route("/<int:issue_id>/attachments", methods=["GET", "POST"])
@login_required
def upload(issue_id: int):
    """Upload an evidence file (佐证材料)."""
    form = EvidenceForm()

    def call(issue: Issue) -> str:
        upload = form.file.data
        attachment = issue_svc.add_evidence(
            db.session, current_user, clock.now(), issue, upload.filename or "", upload.stream,
            current_app.config["UPLOAD_DIR"], current_app.config["MAX_UPLOAD_BYTES"])
        return f"佐证材料「{attachment.filename}」已上传。"

    return _run(issue_id, form, call)


@bp.route("/<int:issue_id>/transition", methods=["GET", "POST"])
@login_required
def transition(issue_id: int):
    """Take one workflow action (submit, verify, approve, return, reopen, basically done, merge)."""
    form = TransitionForm()

    def call(issue: Issue) -> str:
        action = form.action.data
        target_id = int(form.target_issue_id.data) if form.target_issue_id.data else None
        issue_svc.transition(db.session, current_user, clock.now(), issue, action,
                             comment=form.comment.data, summary=form.summary.data,
                             target_issue_id=target_id, version=int(form.version.data),
                             target_code=form.target_code.data)
        if action == workflow.MERGE and issue.merged_into_id is not None:
            target = db.session.get(Issue, issue.merged_into_id)  # in the identity map already
            return f"已与问题 {target.code} 合并整改。"
        return SUCCESS[action]

    return _run(issue_id, form, call)
