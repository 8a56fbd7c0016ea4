"""Forms of the ledger's pages: the ledger import (upload, confirm) and the plan import (upload, then
the editable preview). They check the request's shape; the import services check the rules."""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FieldList, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput

from tracker.core import labels
from tracker.core.forms import FlaskForm, Form
from tracker.issues.forms import choices
from tracker.ledger import plan_import


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


CATEGORY_CHOICES = choices(labels.CATEGORY_LABELS.items())


TYPE_CHOICES = choices(labels.RECTIFY_TYPE_LABELS.items())


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
