"""Issue pages: the list, the issue file (一问题一档案), registering and editing, downloads.

The POST endpoints of the issue page (progress, evidence, workflow actions) are in
`actions.py`.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from tracker import clock, workflow
from tracker.extensions import db
from tracker.services.admin import rounds_newest_first
from tracker.models import Attachment, Issue, Round, Unit
from tracker.services import files
from tracker.services import issues as issue_svc
from tracker.services.figures import LIGHT_LABELS
from tracker.services.queries import SORT_LABELS, SORTS, search_issues
from tracker.web import undo_refused
from tracker.workflow import Refusal
from tracker.issues import bp, dossier
from tracker.issues.filters import OVERDUE_FILTERS, STATE_FILTERS, parse_list_args
from tracker.issues.forms import IssueForm, choices

# Sort keys the queries module knows but does not label, for the sort menu.
EXTRA_SORT_LABELS = {"-code": "问题编号(倒序)"}


def _rounds() -> list[Round]:
    return rounds_newest_first(db.session)


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


@bp.route("/")
@login_required
def index():
    """The issue list: filtered, sorted, paged and counted in SQL, within the user's scope."""
    rounds, units = _rounds(), _units()
    args = parse_list_args(request.args, rounds, units)
    per_page = int(current_app.config.get("PER_PAGE", 20))
    rows, total = search_issues(db.session, current_user, clock.today(), current_app.config,
                                args.filters, sort=args.sort, page=args.page, per_page=per_page)
    pages = max(1, math.ceil(total / per_page))
    if args.page > pages and total:
        args.notes.append(f"第 {args.page} 页超出范围,共 {pages} 页。")
    cooperating = issue_svc.cooperating_codes(db.session, [r.issue.id for r in rows])
    return render_template(
        "issues/list.html", rows=rows, total=total, page=args.page, pages=pages, per_page=per_page,
        args=args, values=args.values, rounds=rounds, units=units, cooperating=cooperating,
        state_filters=STATE_FILTERS, overdue_filters=OVERDUE_FILTERS,
        sort_labels={**SORT_LABELS, **{k: v for k, v in EXTRA_SORT_LABELS.items() if k in SORTS}},
        light_labels=LIGHT_LABELS,
    )


@bp.route("/<int:issue_id>")
@login_required
def detail(issue_id: int):
    """The issue page (一问题一档案): fields, figures, history and the user's actions."""
    issue = dossier.load_issue(db.session, current_user, issue_id)
    return render_template("issues/detail.html", **dossier.as_context(dossier.build(db.session, current_user, issue)))


def _issue_form(form: IssueForm) -> IssueForm:
    """Fill the round and unit choices from the database."""
    form.round_id.choices = choices([("", "请选择督察轮次")] + [(str(r.id), r.name) for r in _rounds()])
    units = [(u.code, f"{u.name}({u.code})") for u in _units()]
    form.lead_unit.choices = choices([("", "请选择牵头单位")] + units)
    form.cooperating_units.choices = choices(units)
    return form


def _show_refusal(form: IssueForm, refusal: Refusal) -> None:
    """Put a service's refusal next to the field it concerns, and at the top of the form."""
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None and refusal.field in IssueForm.FIELDS:
        field.errors = list(field.errors or []) + [refusal.message]
    flash(refusal.message, "danger")


def _save_issue(form: IssueForm, save: Callable[[], Issue], done: str) -> tuple[Optional[Response], int]:
    """Validate the posted form and call the service; on success commit, flash `done` (with the
    issue's code) and go to the issue page. Otherwise (None, status) for the form to show again."""
    if not form.validate_on_submit():
        return None, 422
    try:
        issue = save()
    except Refusal as refusal:
        undo_refused(refusal)
        _show_refusal(form, refusal)
        return None, refusal.status
    db.session.commit()
    flash(done.format(code=issue.code), "success")
    return redirect(url_for("issues.detail", issue_id=issue.id)), 302


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Register an issue (督察整改办 only)."""
    if not workflow.may_manage_issues(current_user.role):
        raise Refusal("forbidden", "只有督察整改办可以登记问题。")
    form = _issue_form(IssueForm())
    status = 200
    if request.method == "GET":
        form.assigned_on.data = clock.today().isoformat()
        if request.args.get("round", "").isdigit():
            form.round_id.data = request.args["round"]
    else:
        done, status = _save_issue(form, lambda: issue_svc.create_issue(
            db.session, current_user, clock.now(), form.data_for_service(), clock.today()), "问题 {code} 已登记。")
        if done:
            return done
    return render_template("issues/form.html", form=form, issue=None), status


@bp.route("/<int:issue_id>/edit", methods=["GET", "POST"])
@login_required
def edit(issue_id: int):
    """Edit an issue's fields (督察整改办 only); the hidden version catches concurrent edits."""
    issue = dossier.load_issue(db.session, current_user, issue_id)
    refusal = issue_svc.edit_refusal(current_user, issue)
    if refusal is not None and refusal.kind != "conflict":
        raise refusal
    if refusal is not None and request.method == "GET":
        # A closed issue: say why on its page rather than show a form that cannot be saved.
        flash(refusal.message, "warning")
        return redirect(url_for("issues.detail", issue_id=issue.id))
    form = _issue_form(IssueForm(obj=issue if request.method == "GET" else None))
    status = 200
    if request.method == "GET":
        form.round_id.data = str(issue.round_id)
        form.lead_unit.data = issue.lead_unit.code
        form.cooperating_units.data = [u.code for u in issue_svc.cooperating_codes(db.session, [issue.id])[issue.id]]
        form.deadline.data = issue.deadline.isoformat()
        form.assigned_on.data = issue.assigned_on.isoformat()
        form.domain.data = issue.domain or ""
        form.version.data = str(issue.version)
    else:
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = -1  # a form without its version is treated as stale
        done, status = _save_issue(form, lambda: issue_svc.update_issue(
            db.session, current_user, clock.now(), issue, form.data_for_service(), clock.today(), version=version),
            "问题 {code} 已保存。")
        if done:
            return done
    return render_template("issues/form.html", form=form, issue=issue), status


@bp.route("/<int:issue_id>/attachments/<int:attachment_id>")
@login_required
def download(issue_id: int, attachment_id: int):
    """Send an evidence file, always as a download, to users who can see its issue."""
    issue = issue_svc.get_visible_issue(db.session, current_user, issue_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.issue_id != issue.id:
        raise Refusal("not_found", "佐证材料不存在或您无权查看。")
    path = files.path_for(current_app.config["UPLOAD_DIR"], attachment.sha256)
    if not path.is_file():
        current_app.logger.error("evidence file missing on disk: attachment %s sha256 %s",
                                 attachment.id, attachment.sha256)
        raise Refusal("not_found", f"佐证材料「{attachment.filename}」的文件在服务器上找不到,请联系系统管理员。")
    response = send_file(path, as_attachment=True, download_name=attachment.filename,
                         mimetype="application/octet-stream", conditional=True, max_age=0)
    # Never let a browser render an upload inline, whatever its bytes look like.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


from tracker.issues import actions  # noqa: E402,F401  (registers the POST endpoints on bp)
