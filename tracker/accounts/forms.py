"""Forms of sign-in, password change and the second factor."""
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from tracker.core.forms import FlaskForm


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=80)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])


class PasswordForm(FlaskForm):
    """The current password and the new one twice."""

    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。")])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码。"),
                                           Length(min=MIN_LENGTH, max=MAX_LENGTH,
                                                  message=f"新密码须为 {MIN_LENGTH}-{MAX_LENGTH} 个字符。")])
    confirm = PasswordField("确认新密码", validators=[EqualTo("new", "两次输入的新密码不一致。")])


class LogoutForm(FlaskForm):
    """An empty form, so that logout is a POST with a CSRF token."""


class RevokeForm(FlaskForm):
    """A revoke button: nothing but the CSRF token."""


class EndSessionsForm(FlaskForm):
    """Ending a session (or every other one) needs the user's password again (ASVS 3.3.4)."""

    password = PasswordField("当前密码", validators=[DataRequired("请输入您的当前密码。"), Length(max=MAX_LENGTH)])


class CodeForm(FlaskForm):
    """The 6-digit code of the authenticator app (the second step of signing in, or enrolment)."""

    code = StringField("动态验证码", validators=[DataRequired("请输入动态验证码。"), Length(max=10)])


class DisableMfaForm(FlaskForm):
    """Turning one's second factor off: the current password and a code."""

    password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。"), Length(max=128)])
    code = StringField("动态验证码", validators=[DataRequired("请输入动态验证码。"), Length(max=10)])
