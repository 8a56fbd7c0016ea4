"""The ledger's pages (台账): export of the issue list, import of an Excel ledger, import of a plan's text.

- Export (GET /issues/export.xlsx and .csv) takes the list's query arguments (filters and sort,
  page ignored) and exports every issue the user may see that matches them.
- Import (/issues/import) keeps the uploaded workbook, shows what applying it would do, and
  applies it when confirmed; nothing is written while any row has an error.
- Plan import (/issues/import-plan) reads a plan (pasted or .txt/.docx) into an editable
  preview, then creates every chosen task at once (all or nothing).

Work larger than the configured limits leaves the request for a background task
(`tracker.core.tasks.runs_in_background`); the user follows it on the task's page.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Optional

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker.core import clock, permissions, tasks
from tracker.core.antivirus import scanner_from_config
from tracker.core.bounds import whole_number
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.files import archive_limits
from tracker.core.permissions import Permission
from tracker.core.views import start
from tracker.core.web import app_object, attachment_headers, attempt, send_workbook, undo_refused
from tracker.issues.filters import parse_list_args
from tracker.issues.forms import choices
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import
from tracker.ledger import plan_import
from tracker.ledger import tasks as ledger_tasks
from tracker.ledger.forms import LedgerConfirmForm, LedgerUploadForm, PlanConfirmForm, PlanUploadForm
from tracker.rounds.models import Round
from tracker.rounds.services import rounds_newest_first
from tracker.units.models import Unit

bp = Blueprint("ledger", __name__, url_prefix="/issues")


def xlsx_response(rows: Iterable[list[Any]], today: date) -> Response:
    """The ledger as an Excel download, written while the rows are read."""
    return send_workbook(lambda spool: ledger.write_xlsx(rows, spool), ledger.filename(today, "xlsx"),
                         f"ledger-{today.isoformat()}.xlsx")


def csv_response(rows: Iterable[list[Any]], today: date) -> Response:
    """Stream the ledger as CSV, chunk by chunk, while the rows are read."""
    response = Response(stream_with_context(ledger.csv_chunks(rows)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return attachment_headers(response, ledger.filename(today, "csv"), f"ledger-{today.isoformat()}.csv")


def _export(fmt: str) -> ResponseReturnValue:
    """Stream the ledger of the list's filters and sort, or start a background job when it is large."""
    rounds = list(db.session.scalars(select(Round)))
    units = list(db.session.scalars(select(Unit)))
    args = parse_list_args(request.args, rounds, units)
    today = clock.today()
    config = current_app.config
    total = ledger.count_rows(db.session, current_user, today, config, args.filters)
    if tasks.runs_in_background(ledger_tasks.EXPORT, total, config):
        job = ledger_tasks.create_export_job(db.session, current_user, clock.now(), fmt, args.filters,
                                                args.sort, today, total)
        start(app_object(), job)
        return redirect(url_for("background.show", job_id=job.id))
    rows = ledger.ledger_rows(db.session, current_user, today, config, args.filters, sort=args.sort)
    return xlsx_response(rows, today) if fmt == "xlsx" else csv_response(rows, today)


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> ResponseReturnValue:
    """The issue list as an Excel ledger (整改台账); a large one as a background job."""
    return _export("xlsx")


@bp.get("/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    """The issue list as a CSV ledger (UTF-8 with BOM, for Excel); a large one as a background job."""
    return _export("csv")


PREVIEW_ROWS = ledger_import.PREVIEW_ROWS  # rows shown in the preview table


def _round_arg(value: Optional[str]) -> Optional[int]:
    return whole_number(value)


def _limits() -> ledger_import.ImportLimits:
    return ledger_import.limits(current_app.config)


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_ledger():
    """Upload a ledger (督察整改办); the file is kept and the preview page opens."""
    # Refuse before an upload; the services check again.
    permissions.require(current_user, Permission.MANAGE_ISSUES, doing="导入整改台账")
    form = LedgerUploadForm()
    rounds = rounds_newest_first(db.session)
    form.round_id.choices = choices([("", "(按台账中的督察轮次)")] + [(str(r.id), r.name) for r in rounds])
    status = 200
    if request.method == "POST":
        outcome = attempt(lambda: ledger_import.keep_upload(current_app.config["UPLOAD_DIR"], form.file.data.stream,
                                                            current_user, _limits()["max_bytes"],
                                                            _limits()["archive"],
                                                            scanner_from_config(current_app.config)), form=form)
        if outcome.done:
            return redirect(url_for("ledger.import_preview", sha256=outcome.result,
                                    round_id=_round_arg(form.round_id.data)))
        status = outcome.status
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
    size = ledger_import.kept_size(upload_dir, sha256, current_user)
    if not tasks.runs_in_background(ledger_tasks.PREVIEW, size, current_app.config):
        preview = ledger_import.read_kept(upload_dir, sha256, db.session, current_user, round_id=round_id,
                                          **_limits())
        page = ledger_import.PreviewPage.from_preview(preview, shown=PREVIEW_ROWS)
        return _render_preview(sha256, round_id, page)
    job, new = ledger_tasks.preview_job(db.session, current_user, clock.now(), upload_dir, sha256, round_id)
    if new:
        start(app_object(), job)
    elif job.state == tasks.DONE:
        return _render_preview(sha256, round_id, ledger_tasks.stored_preview(job), job)
    return redirect(url_for("background.show", job_id=job.id))


def _render_preview(sha256: str, round_id: Optional[int], page: ledger_import.PreviewPage, job=None):
    return render_template("issues/import.html", form=None, preview=page, sha256=sha256, job=job,
                           confirm_form=LedgerConfirmForm(round_id=round_id or "", rows=page.row_count))


@bp.post("/import/<sha256>")
@login_required
def import_confirm(sha256: str):
    """Apply a kept ledger whose preview has no errors, then show the issue list."""
    # Refuse (403) before anything else, as the upload does; the services check again.
    permissions.require(current_user, Permission.MANAGE_ISSUES, doing="导入整改台账")
    form = LedgerConfirmForm()
    if not form.validate_on_submit():
        flash("页面已过期,请重新确认导入。", "danger")
        return redirect(url_for("ledger.import_preview", sha256=sha256, round_id=_round_arg(form.round_id.data)))
    round_id = _round_arg(form.round_id.data)
    rows = _round_arg(form.rows.data)
    if rows is not None and tasks.runs_in_background(ledger_tasks.IMPORT, rows, current_app.config):
        return _import_in_background(sha256, round_id, rows)
    def apply() -> tuple[int, int]:
        preview = ledger_import.read_kept(current_app.config["UPLOAD_DIR"], sha256, db.session, current_user,
                                          round_id=round_id, **_limits())
        return ledger_import.apply_ledger(db.session, current_user, clock.now(), clock.today(), preview)

    outcome = attempt(apply, done=lambda counts: f"台账导入完成:新登记 {counts[0]} 个问题,更新 {counts[1]} 个问题。")
    if outcome.done:
        return redirect(url_for("issues.index"))
    return redirect(url_for("ledger.import_preview", sha256=sha256, round_id=round_id))


def _import_in_background(sha256: str, round_id: Optional[int], rows: int):
    """Record an import job for the kept ledger and send the user to its page."""
    outcome = attempt(lambda: ledger_tasks.create_import_job(db.session, current_user, clock.now(),
                                                             current_app.config["UPLOAD_DIR"], sha256, round_id, rows))
    if not outcome.done or outcome.result is None:
        return redirect(url_for("ledger.import_preview", sha256=sha256, round_id=round_id))
    start(app_object(), outcome.result)
    return redirect(url_for("background.show", job_id=outcome.result.id))


def _round_choices() -> list[tuple[str, str]]:
    rounds = rounds_newest_first(db.session)
    return choices((str(r.id), r.name) for r in rounds)


def _unit_choices(name: str, units: Sequence[tuple[str, str]]) -> list:
    """A mapping entry's options: none chosen, a new unit with the plan's name, then every unit."""
    return choices([("", "(请选择)"), (plan_import.NEW_UNIT, f"新建单位「{name}」")] +
                   [(c, f"{n}({c})") for c, n in units])


def _require_importer() -> None:
    # Refuse before reading a plan; the service checks again.
    permissions.require(current_user, Permission.MANAGE_ISSUES, doing="导入整改方案")


def _int(value: Optional[str]) -> Optional[int]:
    return whole_number(value)


def _preset(unknown: list[str], suggestions: dict[str, str], chosen: dict[str, str]) -> dict[str, str]:
    """What each unknown name's mapping starts as: the user's choice, the suggested unit, else 新建."""
    hints = [h for n, h in suggestions.items() if n not in chosen]
    codes = dict(db.session.execute(select(Unit.name, Unit.code).where(Unit.name.in_(hints))).all()) if hints else {}
    preset = dict(chosen)
    for name in unknown:
        if name not in preset:
            preset[name] = codes.get(suggestions.get(name, ""), plan_import.NEW_UNIT)
    return preset


def _set_unit_entries(form: PlanConfirmForm, names: list[str], chosen: dict[str, str]) -> None:
    """Rebuild the mapping entries for exactly `names`, keeping what the user chose."""
    while len(form.units.entries):
        form.units.pop_entry()
    for name in names:
        form.units.append_entry({"name": name, "target": chosen.get(name, "")})


@bp.route("/import-plan", methods=["GET", "POST"])
@login_required
def import_plan():
    """Step 1: read a plan (pasted or uploaded) into the editable preview."""
    _require_importer()
    form = PlanUploadForm()
    form.round_id.choices = choices([("", "(请选择)")]) + _round_choices()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("issues/plan_import.html", form=form), (422 if request.method == "POST" else 200)
    round_id = _int(form.round_id.data)
    if round_id is None:
        form.round_id.errors = ["请选择问题所属的督察轮次。"]
        return render_template("issues/plan_import.html", form=form), 422
    year_text = (form.year.data or "").strip()
    try:
        if year_text and whole_number(year_text) is None:
            raise Refusal("invalid", "方案年份应为四位数字,如 2020。", "year")
        text = form.text.data or ""
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            text = plan_import.read_plan_file(upload.stream, upload.filename,
                                              archive=archive_limits(current_app.config),
                                              scanner=scanner_from_config(current_app.config),
                                              user=current_user.username)
        prefix = plan_import.check_code_prefix(form.code_prefix.data) if form.code_prefix.data else None
        assigned_on = plan_import.read_date(form.assigned_on.data, "assigned_on", "交办日期")
        fallback = plan_import.read_date(form.default_deadline.data, "default_deadline", "默认整改时限")
        preview = plan_import.preview_plan(db.session, current_user, text, int(year_text) if year_text else None,
                                           round_id)
    except Refusal as refusal:
        undo_refused(refusal)
        target = getattr(form, refusal.field or "text", None) or form.text
        target.errors = [refusal.message]
        return render_template("issues/plan_import.html", form=form), refusal.status
    plan, today = preview.plan, clock.today()
    if not plan.tasks:
        form.text.errors = ["没有识别出任务:方案中应有以“(责任单位:…)”等括号列出责任单位的条目。"]
        return render_template("issues/plan_import.html", form=form), 422
    rows = plan_import.draft_rows(plan, prefix or plan_import.default_code_prefix(plan), form.rectify_type.data,
                                  fallback or plan_import.default_deadline(plan, today))
    confirm = PlanConfirmForm(formdata=None, data={
        "round_id": str(round_id), "category": form.category.data,
        "assigned_on": (assigned_on or plan_import.default_assigned_on(plan, today)).isoformat(),
        "plan_title": plan.title or "",
        "rows": [{"include": True, "number": r.number, "code": r.code, "title": r.title, "text": r.text,
                  "lead_unit": r.lead_unit, "cooperating_units": "、".join(r.cooperating_units),
                  "deadline": r.deadline.isoformat() if isinstance(r.deadline, date) else (r.deadline or ""),
                  "deadline_text": r.deadline_text or "",
                  "rectify_type": r.rectify_type,
                  "notes": ";".join(r.notes)}
                 for r in rows],
    })
    _set_unit_entries(confirm, preview.unknown_units, _preset(preview.unknown_units, preview.suggestions, {}))
    return _render_plan_preview(confirm, plan, preview.suggestions, errors=[])


def _render_plan_preview(form: PlanConfirmForm, plan: Any, suggestions: dict[str, str], errors: list[dict],
                         status: int = 200) -> tuple[str, int]:
    form.round_id.choices = _round_choices()
    # Every unit, read once for all the mapping entries.
    units = db.session.execute(select(Unit.code, Unit.name).order_by(Unit.code)).all() if form.units else []
    for entry in form.units:
        entry.form.target.choices = _unit_choices(entry.form["name"].data, units)
    by_task: dict[str, list[str]] = {}
    general = []
    for e in errors:
        if e.get("task"):
            by_task.setdefault(e["task"], []).append(e["message"])
        else:
            general.append(e["message"])
    return render_template("issues/plan_preview.html", form=form, plan=plan, suggestions=suggestions,
                           row_errors=by_task, general_errors=general), status


@bp.post("/import-plan/confirm")
@login_required
def import_plan_confirm():
    """Step 2: create the checked tasks as issues, or show the table again with its errors."""
    _require_importer()
    form = PlanConfirmForm()
    form.round_id.choices = _round_choices()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash("页面已过期,请重新上传方案。", "danger")
            return redirect(url_for("ledger.import_plan"))
        return _render_plan_preview(form, None, {}, [{"task": None, "message": "请检查标红的日期。"}], 422)
    rows = [plan_import.PlanRow(
        number=entry.form.number.data or "", code=entry.form.code.data or "", title=entry.form.title.data or "",
        text=entry.form.text.data or "", lead_unit=(entry.form.lead_unit.data or "").strip(),
        cooperating_units=plan_import.split_unit_names(entry.form.cooperating_units.data or ""),
        deadline=entry.form.deadline.data or None, deadline_text=entry.form.deadline_text.data or None,
        rectify_type=entry.form.rectify_type.data, include=bool(entry.form.include.data),
    ) for entry in form.rows]
    unit_map = {entry.form["name"].data: entry.form.target.data or "" for entry in form.units}
    # The user may have typed unit names the tracker does not know: offer them for mapping too.
    names = list(dict.fromkeys(n for r in rows if r.include for n in [r.lead_unit, *r.cooperating_units] if n))
    unknown = plan_import.unknown_unit_names(db.session, names)
    suggestions = plan_import.suggest_units(db.session, unknown)
    _set_unit_entries(form, unknown, _preset(unknown, suggestions, unit_map))
    options = plan_import.PlanOptions(round_id=_int(form.round_id.data), category=form.category.data,
                                      assigned_on=form.assigned_on.data or None,
                                      plan_title=form.plan_title.data or None,
                                      unit_map=unit_map)
    try:
        issues = plan_import.apply_plan(db.session, current_user, clock.now(), clock.today(), options, rows)
    except plan_import.PlanRejected as rejected:
        undo_refused(rejected)
        return _render_plan_preview(form, None, suggestions, rejected.errors, rejected.status)
    except Refusal as refusal:
        undo_refused(refusal)
        return _render_plan_preview(form, None, suggestions, [{"task": None, "message": refusal.message}],
                               refusal.status)
    db.session.commit()
    flash(f"已按方案创建 {len(issues)} 个问题。", "success")
    return redirect(url_for("issues.index", round=options.round_id))
