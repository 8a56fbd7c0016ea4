"""The base classes of every form: submitted text cleaned of invisible characters on the way in.

Every page form derives from `FlaskForm` (or, for a form nested in another, `Form`) here rather
than from Flask-WTF's or WTForms' own, so that each text field gets `tracker.core.text.clean_text`
as its first filter: a text area keeps its line breaks, a one-line field does not. Password fields
are left exactly as typed (a password is compared, never shown or exported), and so are fields
whose data is not text (files, choices, booleans).
"""
from __future__ import annotations

from typing import Any

import flask_wtf
import wtforms
from wtforms import PasswordField, StringField, TextAreaField

from tracker.core.text import clean_line, clean_text


def _filters_for(field_class: type) -> tuple[Any, ...]:
    if not issubclass(field_class, StringField) or issubclass(field_class, PasswordField):
        return ()
    return (clean_text,) if issubclass(field_class, TextAreaField) else (clean_line,)


class CleanTextMeta:
    """WTForms `Meta` hook: binds each text field with the cleaning filter before its own filters."""

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
        """Bind `unbound_field` with `clean_text` (or `clean_line`) prepended to its filters."""
        extra = _filters_for(unbound_field.field_class)
        if extra:
            # A new keyword for this binding only: the class's unbound field is shared by every form.
            options = {**options, "filters": (*extra, *unbound_field.kwargs.get("filters", ()))}
        return unbound_field.bind(form=form, **options)


class Form(wtforms.Form):
    """A WTForms form (one nested in a page form, e.g. a row of a FieldList) with cleaned text."""

    class Meta(CleanTextMeta):
        """Text fields get the cleaning filter."""


class FlaskForm(flask_wtf.FlaskForm):
    """A page form (CSRF-protected, Flask-WTF) with cleaned text."""

    class Meta(CleanTextMeta):
        """Text fields get the cleaning filter."""
