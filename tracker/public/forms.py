"""Forms of the public disclosure's admin switch."""
from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from tracker.core.forms import FlaskForm


class SwitchForm(FlaskForm):
    """Turn the public page on ("1") or off ("0")."""

    enabled = HiddenField(validators=[DataRequired("请求格式不正确。"),
                                      AnyOf(("0", "1"), message="请求格式不正确。")])
