"""The plan import pages (整改方案导入): paste or upload a plan, check its tasks, create them.

Step 1 reads the plan (pasted text, .txt or .docx) and shows every task in an editable
table with the units the tracker does not know, each preset to its closest unit or to
"新建". Step 2 posts the edited table; nothing is written unless every row is valid, and
the table comes back with each row's errors otherwise.
"""
from __future__ import annotations

from typing import Optional

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import DateInput

from tracker import clock, workflow
from tracker.extensions import db
from tracker.services.admin import rounds_newest_first
from tracker.models import Unit
from tracker.services import plan_import
from tracker.web import undo_refused
from tracker.workflow import Refusal
from tracker.issues import bp
from tracker.issues.forms import choices

CATEGORY_CHOICES = choices(workflow.CATEGORIES.items())
TYPE_CHOICES = choices(workflow.RECTIFY_TYPES.items())


class PlanUploadForm(FlaskForm):
    """Step 1: the plan's text (pasted or as a file) and what all its issues share."""

    text = TextAreaField("粘贴方案全文")
    file = FileField("或上传方案文件(.txt 或 .docx)")
    year = StringField("方案年份(可不填:从标题或落款日期识别)")
    round_id = SelectField("督察轮次", choices=[], validate_choice=False)
    category = SelectField("问题类别", choices=CATEGORY_CHOICES, default=plan_import.DEFAULT_CATEGORY,
                           validate_choice=False)
    rectify_type = SelectField("有时限任务的整改类型(无时限的任务为“长期坚持”)", choices=TYPE_CHOICES,
                               default=plan_import.DEFAULT_RECTIFY_TYPE, validate_choice=False)
    code_prefix = StringField("问题编号前缀(可不填,默认 FA+年份,如 FA2020-001)")
    assigned_on = StringField("交办日期(可不填:方案落款日期,否则方案年份 1 月 1 日)", widget=DateInput())
    default_deadline = StringField("未写明时限的任务的整改时限(可不填:方案年份 12 月 31 日)", widget=DateInput())


class PlanRowForm(Form):
    """One task of the preview, as the user may edit it."""

    include = BooleanField("导入", default=True)
    number = HiddenField()
    code = StringField("问题编号")
    title = StringField("问题标题")
    text = TextAreaField("任务内容")
    lead_unit = StringField("牵头单位")
    cooperating_units = StringField("配合单位")
    deadline = StringField("整改时限", widget=DateInput())
    deadline_text = HiddenField()
    notes = HiddenField()
    rectify_type = SelectField("整改类型", choices=TYPE_CHOICES, validate_choice=False)


class UnitMapForm(Form):
    """A unit name the tracker does not know, and the unit it stands for (or a new one)."""

    name = HiddenField()
    target = SelectField("对应单位", choices=[], validate_choice=False)


class PlanConfirmForm(FlaskForm):
    """Step 2: the edited tasks, the unit mapping and the shared fields."""

    round_id = SelectField("督察轮次", choices=[], validate_choice=False)
    category = SelectField("问题类别", choices=CATEGORY_CHOICES, validate_choice=False)
    assigned_on = StringField("交办日期", widget=DateInput())
    plan_title = HiddenField()
    rows = FieldList(FormField(PlanRowForm))
    units = FieldList(FormField(UnitMapForm))


def _round_choices() -> list[tuple[str, str]]:
    rounds = rounds_newest_first(db.session)
    return choices((str(r.id), r.name) for r in rounds)


def _unit_choices(name: str, units: list[tuple[str, str]]) -> list:
    """A mapping entry's options: none chosen, a new unit with the plan's name, then every unit."""
    return choices([("", "(请选择)"), (plan_import.NEW_UNIT, f"新建单位「{name}」")] +
                   [(c, f"{n}({c})") for c, n in units])


def _require_importer() -> None:
    if not workflow.may_manage_issues(current_user.role):
        # Refuse before reading a plan; the service checks again.
        raise Refusal("forbidden", "只有督察整改办可以导入整改方案。")


def _int(value: Optional[str]) -> Optional[int]:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


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
        if year_text and not year_text.isdigit():
            raise Refusal("invalid", "方案年份应为四位数字,如 2020。", "year")
        text = form.text.data or ""
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            text = plan_import.read_plan_file(upload.stream, upload.filename)
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
                  "deadline": r.deadline.isoformat() if r.deadline else "", "deadline_text": r.deadline_text or "", "rectify_type": r.rectify_type,
                  "notes": ";".join(r.notes)}
                 for r in rows],
    })
    _set_unit_entries(confirm, preview.unknown_units, _preset(preview.unknown_units, preview.suggestions, {}))
    return _render_preview(confirm, plan, preview.suggestions, errors=[])


def _render_preview(form: PlanConfirmForm, plan, suggestions: dict[str, str], errors: list[dict], status: int = 200):
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
            return redirect(url_for("issues.import_plan"))
        return _render_preview(form, None, {}, [{"task": None, "message": "请检查标红的日期。"}], 422)
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
                                      assigned_on=form.assigned_on.data or None, plan_title=form.plan_title.data or None,
                                      unit_map=unit_map)
    try:
        issues = plan_import.apply_plan(db.session, current_user, clock.now(), clock.today(), options, rows)
    except plan_import.PlanRejected as rejected:
        undo_refused(rejected)
        return _render_preview(form, None, suggestions, rejected.errors, rejected.status)
    except Refusal as refusal:
        undo_refused(refusal)
        return _render_preview(form, None, suggestions, [{"task": None, "message": refusal.message}],
                               refusal.status)
    db.session.commit()
    flash(f"已按方案创建 {len(issues)} 个问题。", "success")
    return redirect(url_for("issues.index", round=options.round_id))

