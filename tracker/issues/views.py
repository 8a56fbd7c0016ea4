"""Issue pages: the list, the issue file (一问题一档案), registering and editing, downloads.

The POST endpoints of the issue page (progress, evidence, workflow actions) are in
`actions.py`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from tracker.core import clock, files, labels, permissions, thumbnails, workflow
from tracker.core.antivirus import scanner_from_config
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.labels import LIGHT_LABELS
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.issues import dossier
from tracker.issues import extensions as extension_svc
from tracker.issues import services as issue_svc
from tracker.issues.figures import FLAGS, late_periods_of
from tracker.issues.filters import OVERDUE_FILTERS, STATE_FILTERS, parse_list_args
from tracker.issues.forms import (
    EvidenceForm,
    ExtensionDecisionForm,
    ExtensionRequestForm,
    IssueForm,
    ProgressForm,
    PublicForm,
    TransitionForm,
    choices,
)
from tracker.issues.models import Attachment, Issue
from tracker.issues.queries import SORT_LABELS, SORTS, search_issues
from tracker.rounds.models import Round
from tracker.rounds.services import rounds_newest_first
from tracker.units.models import Unit

# Sort keys the queries module knows but does not label, for the sort menu.
bp = Blueprint("issues", __name__, url_prefix="/issues")
# The list of extension requests (延期申请) a user may decide, or sees.
extensions_bp = Blueprint("extensions", __name__, url_prefix="/extensions")

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
    # A list of late reports says on each issue how many (a count of 未按时报送 counts periods, not issues).
    late = (late_periods_of(db.session, [r.issue.id for r in rows])
            if "late_report" in args.filters.flags or args.filters.late_period else {})
    return render_template(
        "issues/list.html", rows=rows, total=total, page=args.page, pages=pages, per_page=per_page,
        args=args, values=args.values, rounds=rounds, units=units, cooperating=cooperating, late=late,
        state_filters=STATE_FILTERS, overdue_filters=OVERDUE_FILTERS,
        sort_labels={**SORT_LABELS, **{k: v for k, v in EXTRA_SORT_LABELS.items() if k in SORTS}},
        light_labels=LIGHT_LABELS,
        figure_filters={name: labels.FIGURE_LABELS[name] for name in FLAGS},
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
    form.lead_unit.choices = choices([("", "请选择牵头单位"), *units])
    form.cooperating_units.choices = choices(units)
    return form


def _save_issue(form: IssueForm, save: Callable[[], Issue], done: str) -> tuple[Optional[Response], int]:
    """Validate the posted form and call the service; on success commit, flash `done` (with the
    issue's code) and go to the issue page. Otherwise (None, status) for the form to show again."""
    outcome = attempt(save, form=form, done=lambda issue: done.format(code=issue.code))
    if outcome.done and outcome.result is not None:
        return redirect(url_for("issues.detail", issue_id=outcome.result.id)), 302
    return None, outcome.status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Register an issue (督察整改办 only)."""
    permissions.require(current_user, Permission.MANAGE_ISSUES, doing="登记问题")
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
    refusal = permissions.refusal(current_user, Permission.EDIT_ISSUE, issue)
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
        def save() -> Issue:
            changed = issue_svc.update_issue(db.session, current_user, clock.now(), issue, form.data_for_service(),
                                             clock.today(), version=version, reason=form.reason.data)
            if not changed:
                flash("没有修改任何内容。", "info")
            return issue

        done, status = _save_issue(form, save, "问题 {code} 已保存。")
        if done:
            return done
    return render_template("issues/form.html", form=form, issue=issue), status


def _stored_attachment(issue_id: int, attachment_id: int) -> tuple[Attachment, Path]:
    """An evidence file of an issue the user can see, and where it lies on disk; 404 otherwise."""
    issue = issue_svc.get_visible_issue(db.session, current_user, issue_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.issue_id != issue.id:
        raise Refusal("not_found", "佐证材料不存在或您无权查看。")
    path = files.path_for(current_app.config["UPLOAD_DIR"], attachment.sha256)
    if not path.is_file():
        current_app.logger.error("evidence file missing on disk: attachment %s sha256 %s",
                                 attachment.id, attachment.sha256)
        raise Refusal("not_found", f"佐证材料「{attachment.filename}」的文件在服务器上找不到,请联系系统管理员。")
    return attachment, path


@bp.route("/<int:issue_id>/attachments/<int:attachment_id>")
@login_required
def download(issue_id: int, attachment_id: int):
    """Send an evidence file, always as a download, to users who can see its issue."""
    attachment, path = _stored_attachment(issue_id, attachment_id)
    response = send_file(path, as_attachment=True, download_name=attachment.filename,
                         mimetype="application/octet-stream", conditional=True, max_age=0)
    # Never let a browser render an upload inline, whatever its bytes look like.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# What an evidence file shown in the page may do: nothing. A photo is a picture and no document
# (no script, no plugin, a sandbox without any permission); a PDF is read by the page's PDF.js,
# which fetches its bytes: opened directly, the browser's viewer may not run it (sandboxed).
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
PDF_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
NOT_VIEWABLE = "「{name}」不是图片或 PDF,不能在页面中查看,请下载后查看。"


def _inline(response: Response, mimetype: str, filename: str) -> Response:
    """Mark a response as a file shown in the page: its own type, its name (inline), no sniffing, a
    sandbox, no cache."""
    response.headers["Content-Type"] = mimetype
    fallback = "".join(c for c in filename if " " <= c <= "~" and c not in '"\\').strip() or "file"
    encoded = quote(filename, safe="")
    response.headers["Content-Disposition"] = f"inline; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PDF_CSP if mimetype == "application/pdf" else IMAGE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:issue_id>/attachments/<int:attachment_id>/view")
@login_required
def view(issue_id: int, attachment_id: int):
    """Send a photo (JPEG, PNG, GIF, WebP) or PDF to be shown in the issue page, to users who can see
    the issue; the type is read from the file's bytes. Any other file is refused (415): download it."""
    attachment, path = _stored_attachment(issue_id, attachment_id)
    mimetype = files.inline_type(path)
    if mimetype is None:
        raise Refusal("unsupported_media_type", NOT_VIEWABLE.format(name=attachment.filename))
    response = send_file(path, as_attachment=False, download_name=attachment.filename, mimetype=mimetype,
                         conditional=True, max_age=0)
    return _inline(response, mimetype, attachment.filename)


@bp.route("/<int:issue_id>/attachments/<int:attachment_id>/thumb")
@login_required
def thumb(issue_id: int, attachment_id: int):
    """A small re-encoded copy of an evidence photo (made on first request, kept by the file's hash);
    for a file that is no photo, or one that cannot or must not be decoded, a placeholder picture."""
    attachment, path = _stored_attachment(issue_id, attachment_id)
    made = None
    if files.inline_type(path) in files.PHOTO_CONTENT_TYPES:
        made = thumbnails.thumbnail(current_app.config["UPLOAD_DIR"], attachment.sha256, path)
    if made is None:
        assert current_app.static_folder is not None
        made = (Path(current_app.static_folder) / THUMB_PLACEHOLDER, "image/svg+xml")
    thumb_path, mimetype = made
    response = send_file(thumb_path, mimetype=mimetype, conditional=False, max_age=0,
                         download_name=f"thumb-{attachment.id}{thumb_path.suffix}")
    return _inline(response, mimetype, f"thumb-{attachment.id}{thumb_path.suffix}")


THUMB_PLACEHOLDER = "thumb-placeholder.svg"


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
    endpoint = request.endpoint
    assert endpoint is not None  # a request routed to this view
    posted = {**request.form.to_dict(), "for": request.form.get("action") or endpoint.rsplit(".", 1)[-1]}
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
    # The page holds several forms: a refusal is said at its top, with what was typed kept.
    outcome = attempt(lambda: call(issue), done=lambda message: message)
    return _back(issue_id) if outcome.done else _again(issue_id, outcome.status)


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
            current_app.config["UPLOAD_DIR"], current_app.config["MAX_UPLOAD_BYTES"],
            quota_bytes=current_app.config.get("UPLOAD_QUOTA_BYTES_PER_DAY"),
            timezone=current_app.config.get("TIMEZONE", "Asia/Shanghai"),
            scanner=scanner_from_config(current_app.config))
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
            assert target is not None
            return f"已与问题 {target.code} 合并整改。"
        return SUCCESS[action]

    return _run(issue_id, form, call)


@bp.route("/<int:issue_id>/public", methods=["GET", "POST"])
@login_required
def set_public(issue_id: int):
    """Mark an issue for the public disclosure page, or take it off."""
    form = PublicForm()

    def call(issue: Issue) -> str:
        public = form.public.data == "1"
        issue_svc.set_public(db.session, current_user, clock.now(), issue, public,
                             version=int(form.version.data))
        if public:
            return "已设为公示,问题销号后将在整改公示页面公开。"
        return "已取消公示。"

    return _run(issue_id, form, call)


@bp.route("/<int:issue_id>/extensions", methods=["GET", "POST"])
@login_required
def request_extension(issue_id: int):
    """Ask for a later deadline (延期申请): the lead unit's head, with a reason and optional evidence."""
    form = ExtensionRequestForm()

    def call(issue: Issue) -> str:
        upload = form.file.data
        attachment = None
        if upload is not None and getattr(upload, "filename", None):
            attachment = extension_svc.EvidenceUpload.from_config(upload.filename or "", upload.stream,
                                                                  current_app.config)
        request_ = extension_svc.request_extension(db.session, current_user, clock.now(), issue,
                                                   form.new_deadline.data, form.reason.data, attachment)
        return f"延期申请已提交(申请延至 {request_.new_deadline:%Y-%m-%d}),等待督察整改办审批。"

    return _run(issue_id, form, call)


@bp.route("/<int:issue_id>/extensions/<int:request_id>/decision", methods=["GET", "POST"])
@login_required
def decide_extension(issue_id: int, request_id: int):
    """Approve (as asked or with another date) or reject a pending extension request (the office)."""
    form = ExtensionDecisionForm()

    def call(issue: Issue) -> str:
        request_ = extension_svc.get_visible_request(db.session, current_user, request_id)
        if request_.issue_id != issue.id:
            raise Refusal("not_found", "延期申请不存在或您无权查看。")
        choice = form.decision.data
        if choice == "approve_other" and not (form.deadline.data or "").strip():
            raise Refusal("invalid", "按其他日期批准时请填写批准的整改时限。", "deadline")
        decision = extension_svc.REJECT if choice == "reject" else extension_svc.APPROVE
        deadline = form.deadline.data if choice == "approve_other" else None
        extension_svc.decide_extension(db.session, current_user, clock.now(), request_, decision,
                                       deadline=deadline, reason=form.reason.data)
        if decision == extension_svc.REJECT:
            return "已驳回延期申请。"
        return f"已批准延期,整改时限调整为 {request_.granted_deadline:%Y-%m-%d}。"

    return _run(issue_id, form, call)


@extensions_bp.route("/", endpoint="index")
@login_required
def extension_list():
    """Extension requests: for a supervisor those they may decide, for others those of the issues they
    see; ?state=pending (default), approved, rejected or all."""
    state = (request.args.get("state") or "pending").strip()
    note = None
    if state not in extension_svc.LIST_STATES:
        note = f"状态「{state[:40]}」无效,已显示待审批的申请。"
        state = "pending"
    rows = extension_svc.list_requests(db.session, current_user, state)
    return render_template("issues/extensions.html", rows=rows, state=state, note=note,
                           states={**labels.EXTENSION_STATE_LABELS, "all": "全部"})
