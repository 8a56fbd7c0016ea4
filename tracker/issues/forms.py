"""Forms of the issue pages.

The forms check the request's shape (CSRF, lengths, required inputs); the rules
(valid rounds, units, dates, percentages, who may act) are the services' and
the workflow's, so their Chinese messages are the ones users read.
"""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import DateInput, NumberInput

from tracker.core import enums, labels, workflow
from tracker.core.forms import FlaskForm

try:  # WTForms 3.3 prefers SelectChoice objects; older releases take (value, label) tuples.
    from wtforms.fields import SelectChoice
except ImportError:  # pragma: no cover - WTForms < 3.3
    SelectChoice = None

STALE_FORM = "页面已过期,请刷新页面后重试。"


def choice(value: str, label: str):
    """One option of a select field, in the form this WTForms release expects."""
    return SelectChoice(value, label) if SelectChoice else (value, label)


def choices(pairs) -> list:
    """Options from (value, label) pairs."""
    return [choice(v, lb) for v, lb in pairs]


def _whole_number(form, field) -> None:
    """A hidden version field must carry the integer the page was rendered with."""
    try:
        int(field.data)
    except (TypeError, ValueError):
        raise ValidationError(STALE_FORM) from None


class IssueForm(FlaskForm):
    """Register or edit an issue; choices are filled in by the view from the database."""

    # Choices are checked by the service (with Chinese messages), not by WTForms.
    round_id = SelectField("督察轮次", validate_choice=False, validators=[DataRequired("请选择督察轮次。")])
    code = StringField("问题编号", validators=[DataRequired("请填写问题编号。"),
                                           Length(max=64, message="问题编号不能超过 64 个字符。")])
    title = StringField("问题标题", validators=[DataRequired("请填写问题标题。"),
                                            Length(max=300, message="问题标题不能超过 300 个字。")])
    description = TextAreaField("问题描述")
    category = SelectField("问题类别", choices=choices(labels.CATEGORY_LABELS.items()), validate_choice=False)
    rectify_type = SelectField("整改类型", choices=choices(labels.RECTIFY_TYPE_LABELS.items()), validate_choice=False)
    domain = SelectField("领域", choices=choices([("", "(未指定)")] + [(d, d) for d in enums.DOMAINS]),
                         validate_choice=False)
    deadline = StringField("整改时限", widget=DateInput(), validators=[DataRequired("请填写整改时限。")])
    assigned_on = StringField("交办日期", widget=DateInput())
    lead_unit = SelectField("牵头单位", validate_choice=False, validators=[DataRequired("请选择牵头单位。")])
    cooperating_units = SelectMultipleField("配合单位", validate_choice=False)
    target = TextAreaField("整改目标")
    measures = TextAreaField("整改措施")
    responsible_leader = StringField("责任领导", validators=[Length(max=100, message="责任领导不能超过 100 个字。")])
    responsible_person = StringField("责任人", validators=[Length(max=100, message="责任人不能超过 100 个字。")])
    # Why (on an edit): kept with the timeline entry and, when the deadline moves, in its history.
    reason = TextAreaField("修改说明(调整整改时限时请写明理由)",
                           validators=[Length(max=500, message="理由不能超过 500 个字。")])
    version = HiddenField()

    FIELDS = ("round_id", "code", "title", "description", "category", "rectify_type", "domain",
              "deadline", "assigned_on", "lead_unit", "cooperating_units", "target", "measures",
              "responsible_leader", "responsible_person")

    def data_for_service(self) -> dict:
        """The submitted values, keyed as services.issues expects them."""
        return {name: getattr(self, name).data for name in self.FIELDS}


class ProgressForm(FlaskForm):
    """A progress report for one period (进展报送)."""

    period = StringField("报送期次", validators=[DataRequired("请填写报送期次(YYYY-MM)。"),
                                             Regexp(r"^\d{4}-\d{2}$",
                                                    message="报送期次格式应为 YYYY-MM,例如 2020-06。")])
    percent = StringField("整改进度(%)", widget=NumberInput(min=0, max=100),
                          validators=[DataRequired("请填写整改进度(0-100)。")])
    text = TextAreaField("进展情况", validators=[DataRequired("请填写进展情况。"),
                                             Length(max=10000, message="进展情况不能超过 10000 字。")])


class EvidenceForm(FlaskForm):
    """One evidence file (佐证材料)."""

    file = FileField("佐证材料", validators=[FileRequired("请选择要上传的文件。")])


class TransitionForm(FlaskForm):
    """One workflow action; which fields matter depends on the action."""

    action = HiddenField(validators=[DataRequired("请求格式不正确:缺少操作。")])
    version = HiddenField(validators=[DataRequired(STALE_FORM), _whole_number])
    comment = TextAreaField("意见", validators=[Optional(), Length(max=2000, message="意见不能超过 2000 字。")])
    summary = TextAreaField("整改情况总结",
                            validators=[Optional(), Length(max=20000, message="整改情况总结不能超过 20000 字。")])
    target_issue_id = StringField("目标问题", validators=[Optional()])
    target_code = StringField("目标问题编号", validators=[Optional(), Length(max=64)])

    def validate_action(self, field) -> None:
        """Only the workflow's actions are accepted."""
        if field.data not in workflow.ACTIONS:
            raise ValidationError(f"未知的操作:{field.data}")

    def validate_target_issue_id(self, field) -> None:
        """The merge target, when chosen from the list, is an issue id."""
        if field.data:
            try:
                int(field.data)
            except ValueError:
                raise ValidationError("请选择要合并整改的目标问题。") from None


class PublicForm(FlaskForm):
    """Mark the issue public ("1") or take it off the public list ("0")."""

    public = HiddenField(validators=[DataRequired("请求格式不正确:缺少公示设置。"),
                                     AnyOf(("0", "1"), message="请求格式不正确:公示设置无效。")])
    version = HiddenField(validators=[DataRequired(STALE_FORM), _whole_number])


class ExtensionRequestForm(FlaskForm):
    """A deadline extension request (延期申请): the date asked for, why, and optionally evidence."""

    new_deadline = StringField("申请延期至", widget=DateInput(),
                               validators=[DataRequired("请填写申请延期至的日期。"), Length(max=10)])
    reason = TextAreaField("延期理由", validators=[DataRequired("请填写延期理由。"),
                                               Length(max=500, message="延期理由不能超过 500 个字。")])
    file = FileField("佐证材料(选填)")


class ExtensionDecisionForm(FlaskForm):
    """A decision on a pending extension request: approve as asked, approve with another date, or reject."""

    decision = HiddenField(validators=[DataRequired("请求格式不正确:缺少审批结果。"),
                                       AnyOf(("approve", "approve_other", "reject"),
                                             message="请求格式不正确:审批结果无效。")])
    deadline = StringField("批准的整改时限", widget=DateInput(), validators=[Optional(), Length(max=10)])
    reason = TextAreaField("意见", validators=[Optional(), Length(max=500, message="意见不能超过 500 个字。")])
