"""Forms of the admin pages. They check shape only; the services check the rules
(choices included, so that a tampered value is refused in Chinese by the service)."""
from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.core import labels
from tracker.core.enums import CHAIN_ROLES, ROLES
from tracker.core.errors import Refusal
from tracker.core.forms import FlaskForm, Form
from tracker.core.labels import ROLE_LABELS
from tracker.escalation import settings as job_settings
from tracker.reports import scorecard
from tracker.rounds.services import MAX_STEPS

try:  # WTForms 3.3 prefers SelectChoice objects; older releases take (value, label) tuples.
    from wtforms.fields import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None


def _choice(value: str, label: str):
    return SelectChoice(value, label) if SelectChoice else (value, label)


def _choices(pairs) -> list:
    return [_choice(value, label) for value, label in pairs]


NO_UNIT = ("", "(无)")


class UnitForm(FlaskForm):
    """A new unit: code, name, parent (by code) and address."""

    code = StringField("单位编码", validators=[DataRequired("请填写单位编码。"),
                                           Length(max=64, message="不能超过 64 个字符。")])
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"),
                                           Length(max=200, message="不能超过 200 个字符。")])
    parent = SelectField("上级单位", choices=_choices([NO_UNIT]), validate_choice=False)
    level = SelectField("层级", choices=_choices([("", "(同上级单位)"), *labels.UNIT_LEVEL_LABELS.items()]),
                        validate_choice=False, description="部门取其所属政府的层级;不选时同上级单位,无上级单位时为市级")
    email = StringField("邮箱", validators=[Optional(), Length(max=200, message="不能超过 200 个字符。")])


class UnitEditForm(FlaskForm):
    """An existing unit: its code stays, the rest may change."""

    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"),
                                           Length(max=200, message="不能超过 200 个字符。")])
    parent = SelectField("上级单位", choices=_choices([NO_UNIT]), validate_choice=False)
    level = SelectField("层级", choices=_choices(labels.UNIT_LEVEL_LABELS.items()), validate_choice=False)
    email = StringField("邮箱", validators=[Optional(), Length(max=200, message="不能超过 200 个字符。")])


ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in ROLES]


class UserForm(FlaskForm):
    """A new user."""

    username = StringField("用户名", validators=[DataRequired("请填写用户名。"),
                                              Length(max=80, message="不能超过 80 个字符。")])
    password = PasswordField("初始密码", validators=[DataRequired("请填写初始密码。"),
                                                 Length(max=128, message="不能超过 128 个字符。")])
    role = SelectField("角色", choices=_choices(ROLE_CHOICES), validate_choice=False)
    unit = SelectField("所属单位", choices=_choices([NO_UNIT]), validate_choice=False)
    email = StringField("邮箱", validators=[Optional(), Length(max=200, message="不能超过 200 个字符。")])
    display_name = StringField("姓名", validators=[Optional(), Length(max=100, message="不能超过 100 个字符。")])


class UserEditForm(FlaskForm):
    """An existing user's role, unit, address, name and activity."""

    role = SelectField("角色", choices=_choices(ROLE_CHOICES), validate_choice=False)
    unit = SelectField("所属单位", choices=_choices([NO_UNIT]), validate_choice=False)
    email = StringField("邮箱", validators=[Optional(), Length(max=200, message="不能超过 200 个字符。")])
    display_name = StringField("姓名", validators=[Optional(), Length(max=100, message="不能超过 100 个字符。")])
    active = BooleanField("启用")
    # Re-authentication (ASVS 4.3.3): the service asks for it when the role or the activity changes.
    admin_password = PasswordField("您的当前密码", validators=[Length(max=128, message="不能超过 128 个字符。")],
                                   description="更改角色或启用状态时必填")


class ResetPasswordForm(FlaskForm):
    """A new password for a user, twice."""

    password = PasswordField("新密码", validators=[DataRequired("请填写新密码。"),
                                                Length(max=128, message="不能超过 128 个字符。")])
    confirm = PasswordField("确认新密码", validators=[EqualTo("password", "两次输入的密码不一致。")])
    admin_password = PasswordField("您的当前密码", validators=[DataRequired("请输入您的当前密码。"),
                                                         Length(max=128, message="不能超过 128 个字符。")])


class ResetMfaForm(FlaskForm):
    """Removing a user's second factor: the admin's own current password."""

    admin_password = PasswordField("您的当前密码", validators=[DataRequired("请输入您的当前密码。"),
                                                         Length(max=128, message="不能超过 128 个字符。")])


class TokenRevokeForm(FlaskForm):
    """A revoke button for a user's API tokens: nothing but the CSRF token."""


class RoundForm(FlaskForm):
    """An inspection round."""

    name = StringField("轮次名称", validators=[DataRequired("请填写轮次名称。"),
                                           Length(max=200, message="不能超过 200 个字符。")])
    level = SelectField("层级", choices=_choices(labels.LEVEL_LABELS.items()), validate_choice=False)
    kind = SelectField("类型", choices=_choices(labels.ROUND_KIND_LABELS.items()), validate_choice=False)
    # A string (type=date in browsers): the service parses it and words the error in Chinese.
    feedback_date = StringField("反馈日期", validators=[Optional(), Length(max=10, message="不能超过 10 个字符。")],
                                render_kw={"type": "date", "placeholder": "YYYY-MM-DD"})
    document_no = StringField("整改方案文号", validators=[Optional(), Length(max=100, message="不能超过 100 个字符。")],
                              render_kw={"placeholder": "如 通党字〔2018〕85号"})
    # A string (type=number in browsers): the service checks 0..10 and words the error in Chinese.
    max_extensions = StringField("每个问题最多延期次数", default="2",
                                 validators=[Optional(), Length(max=2, message="应为 0 到 10 的整数。")],
                                 render_kw={"type": "number", "min": 0, "max": 10})


def unit_choices(tree) -> list:
    """Select options for units, indented by depth, valued by code."""
    return _choices([NO_UNIT] + [(node.unit.code, "\u3000" * node.depth + node.unit.name) for node in tree])


class StepForm(Form):
    """One row of the approval-chain editor; a row with neither role nor name is left out."""

    level = SelectField("层级", choices=_choices([("", "不限层级"), *labels.UNIT_LEVEL_LABELS.items()]),
                        validate_choice=False)
    role = SelectField("办理角色", choices=_choices([("", "(不用此行)"),
                                                  *((r, ROLE_LABELS[r]) for r in CHAIN_ROLES)]),
                       validate_choice=False)
    label = StringField("环节名称", validators=[Optional(), Length(max=20, message="不能超过 20 个字。")],
                        render_kw={"placeholder": "如 市级验收"})


class ChainForm(FlaskForm):
    """A round's approval chain: up to six steps in order (the service checks them)."""

    steps = FieldList(FormField(StepForm), min_entries=MAX_STEPS, max_entries=MAX_STEPS)

    def chain(self) -> list[dict[str, Any]]:
        """The rows in use, as the service takes them."""
        return [{"level": row["level"] or None, "role": row["role"], "label": row["label"]}
                for row in self.steps.data if row["role"] or (row["label"] or "").strip()]


class RetryForm(FlaskForm):
    """A retry button: nothing but the CSRF token."""


class ScorecardRulesForm(FlaskForm):
    """The base score and the deduction per occurrence, passed to the service as typed."""

    base = StringField(scorecard.FIELD_LABELS["base"], validators=[Length(max=12)])
    overdue = StringField(scorecard.FIELD_LABELS["overdue"], validators=[Length(max=12)])
    late_report = StringField(scorecard.FIELD_LABELS["late_report"], validators=[Length(max=12)])
    supervision_order = StringField(scorecard.FIELD_LABELS["supervision_order"], validators=[Length(max=12)])
    interview = StringField(scorecard.FIELD_LABELS["interview"], validators=[Length(max=12)])

    def service_data(self) -> dict[str, str]:
        """Every rule, as the service's `save_rules` takes it."""
        return {name: self._fields[name].data for name in scorecard.FIELDS}


class LevelForm(Form):
    """One row of the ladder table: offset in days, kind, recipient roles (values checked by the service)."""

    offset = StringField("天数", validators=[Length(max=10, message="天数过长。")])
    kind = StringField("类型", validators=[Length(max=40, message="类型无效。")])
    roles = SelectMultipleField("通知对象", choices=[], validate_choice=False)


class SettingsForm(FlaskForm):
    """The whole settings page; each field is passed to the service as typed."""

    ladder = FieldList(FormField(LevelForm))
    day_mode = StringField(job_settings.FIELD_LABELS["day_mode"])
    report_due_day = StringField(job_settings.FIELD_LABELS["report_due_day"], validators=[Length(max=10)])
    report_reminder_day = StringField(job_settings.FIELD_LABELS["report_reminder_day"], validators=[Length(max=10)])
    unit_yellow_limit = StringField(job_settings.FIELD_LABELS["unit_yellow_limit"], validators=[Length(max=10)])
    digest_time = StringField(job_settings.FIELD_LABELS["digest_time"], validators=[Length(max=10)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ladder_errors: list[str] = []

    def place_refusal(self, refusal: Refusal) -> bool:
        """A refused ladder is said above the ladder's table (its rows have no field of their own)."""
        if refusal.field == "ladder":
            self.ladder_errors.append(refusal.message)
            return True
        return False

    def ladder_rows(self) -> list[dict[str, Any]]:
        """The ladder as the service takes it; a row with neither days nor kind is left out (deleted)."""
        rows = []
        for entry in self.ladder.entries:
            offset = (entry.offset.data or "").strip()
            kind = (entry.kind.data or "").strip()
            if not offset and not kind:
                continue
            rows.append({"offset": offset, "kind": kind, "roles": list(entry.roles.data or [])})
        return rows

    def service_data(self) -> dict[str, Any]:
        """Every setting, as the service's `save_settings` takes it."""
        return {
            "ladder": self.ladder_rows(),
            "day_mode": self.day_mode.data,
            "report_due_day": self.report_due_day.data,
            "report_reminder_day": self.report_reminder_day.data,
            "unit_yellow_limit": self.unit_yellow_limit.data,
            "digest_time": self.digest_time.data,
        }
