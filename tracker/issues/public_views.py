"""The issue page's POST endpoint for the public disclosure flag (整改公示): supervisors only.

Like the other actions (see actions.py): validate, call one service, commit, redirect;
a refusal rolls back and is flashed, so nothing changes.
"""
from __future__ import annotations

from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from tracker import clock
from tracker.extensions import db
from tracker.models import Issue
from tracker.services import issues as issue_svc
from tracker.issues import bp
from tracker.issues.actions import _run
from tracker.issues.forms import STALE_FORM, _whole_number


class PublicForm(FlaskForm):
    """Mark the issue public ("1") or take it off the public list ("0")."""

    public = HiddenField(validators=[DataRequired("请求格式不正确:缺少公示设置。"),
                                     AnyOf(("0", "1"), message="请求格式不正确:公示设置无效。")])
    version = HiddenField(validators=[DataRequired(STALE_FORM), _whole_number])


@bp.route("/<int:issue_id>/public", methods=["GET", "POST"])
@login_required
def set_public(issue_id: int):
    """Mark an issue for the public disclosure page, or take it off."""
    form = PublicForm()

    def call(issue: Issue) -> str:
        public = form.public.data == "1"
        issue_svc.set_public(db.session, current_user, clock.now(), issue, public,
                             version=int(form.version.data))
        if public:
            return "已设为公示,问题销号后将在整改公示页面公开。"
        return "已取消公示。"

    return _run(issue_id, form, call)
