"""Forms of the notice pages: marking notices read, and the mail preferences."""
from __future__ import annotations

from wtforms import HiddenField, StringField

from tracker.core.forms import FlaskForm


class MarkReadForm(FlaskForm):
    """Mark a notice read; `stay` keeps the user on the list instead of following the notice's link."""

    stay = HiddenField()


class MarkAllForm(FlaskForm):
    """Mark all notices read: nothing but the CSRF token."""


class PreferencesForm(FlaskForm):
    """The digest frequency; the value is checked by the service."""

    digest = StringField("摘要邮件")
    # Left out by an older form: the setting stays as it is.
    action_mail = StringField("办理通知邮件")
