"""Text cleaned where it enters (ASVS 5.1.3): `clean_text`, and every form of the app using it."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import wtforms
from werkzeug.datastructures import MultiDict

import tracker
from tracker.core import forms as core_forms
from tracker.core.text import clean_line, clean_text


@pytest.mark.parametrize("raw, cleaned", [
    ("整改\u000b完成", "整改完成"),  # the vertical tab Word pastes
    ("a\x00b\x01c\x08d\x0c\x1fe\x7f\x85\x9f", "abcde"),  # C0, DEL, C1
    ("第一行\r\n第二行\r第三行\n\t缩进", "第一行\n第二行\n第三行\n\t缩进"),
    ("坏\ud800字\udfff", "坏字"),  # lone surrogates
    ("\ufeff标题\ufffe\uffff\ufdd0", "标题"),
    ("\U0001fffe补\U0010ffff充", "补充"),
    ("\u202e名单\u202c\u2066x\u2069", "名单x"),
    ("普通文字 😀 emoji‍👩", "普通文字 😀 emoji‍👩"),  # visible text, ZWJ sequences kept
])
def test_clean_text_removes_invisible_troublemakers_only(raw, cleaned):
    assert clean_text(raw) == cleaned


def test_one_line_text_turns_breaks_and_tabs_into_spaces():
    assert clean_line("市\t生态\r\n环境局\x0b") == "市 生态 环境局"
    assert clean_text(None) is None and clean_text(42) == 42


def _form_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if not info.name.endswith(".forms"):
            continue
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, wtforms.Form):
                found.append(cls)
    return found


def test_every_form_of_the_app_cleans_its_text():
    classes = _form_classes()
    assert len(classes) > 15
    plain = [cls.__qualname__ for cls in classes
             if not issubclass(cls, (core_forms.Form, core_forms.FlaskForm))]
    assert plain == []


def test_a_form_cleans_text_areas_and_lines_and_leaves_passwords_alone(app):
    class Sample(core_forms.FlaskForm):
        title = wtforms.StringField(filters=[lambda v: v.strip() if v else v])
        body = wtforms.TextAreaField()
        secret = wtforms.PasswordField()

    with app.test_request_context(method="POST"):
        data = MultiDict({"title": " 标题\u000b\n ", "body": "一\r\n二\u000b", "secret": "pa\u000bss"})
        form = Sample(formdata=data, meta={"csrf": False})
        assert form.title.data == "标题"  # cleaned first, then the field's own filter
        assert form.body.data == "一\n二"
        assert form.secret.data == "pa\u000bss"
        # Binding again does not stack filters on the shared class attribute.
        again = Sample(formdata=data, meta={"csrf": False})
        assert len(again.title.filters) == len(form.title.filters) == 2
