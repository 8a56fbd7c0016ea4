"""Forms of the admin pages. They check shape only; the services check the rules
(choices included, so that a tampered value is refused in Chinese by the service)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.core import labels
from tracker.core.enums import ROLES
from tracker.core.labels import ROLE_LABELS

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
    email = StringField("邮箱", validators=[Optional(), Length(max=200, message="不能超过 200 个字符。")])


class UnitEditForm(FlaskForm):
    """An existing unit: its code stays, the rest may change."""

    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"),
                                           Length(max=200, message="不能超过 200 个字符。")])
    parent = SelectField("上级单位", choices=_choices([NO_UNIT]), validate_choice=False)
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


class ResetPasswordForm(FlaskForm):
    """A new password for a user, twice."""

    password = PasswordField("新密码", validators=[DataRequired("请填写新密码。"),
                                                Length(max=128, message="不能超过 128 个字符。")])
    confirm = PasswordField("确认新密码", validators=[EqualTo("password", "两次输入的密码不一致。")])


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


def unit_choices(tree) -> list:
    """Select options for units, indented by depth, valued by code."""
    return _choices([NO_UNIT] + [(node.unit.code, "\u3000" * node.depth + node.unit.name) for node in tree])
