"""Notice pages: the signed-in user's notices, marking them read, and the digest preference.

Everyone signed in has these pages, and only for their own notices: another
user's notice is not found (404) and stays as it was. Each POST validates its
form (CSRF), calls one service, commits and redirects.
"""
from __future__ import annotations

import logging
import math
from typing import Optional

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from tracker.core import clock
from tracker.core.bounds import page_number
from tracker.core.extensions import db
from tracker.core.labels import ACTION_MAIL_LABELS, DIGEST_LABELS
from tracker.core.labels import MAIL_KIND_LABELS as KIND_LABELS
from tracker.core.web import attempt, safe_local_link
from tracker.notify import notices, prefs
from tracker.notify.forms import MarkAllForm, MarkReadForm, PreferencesForm

bp = Blueprint("notices", __name__, url_prefix="/notices")

log = logging.getLogger(__name__)
PER_PAGE = 20


@bp.app_context_processor
def unread_badge() -> dict:
    """`unread_notice_count()` for the page header: one COUNT query, made only when the header calls it."""
    def unread_notice_count() -> Optional[int]:
        if not getattr(current_user, "is_authenticated", False):
            return None
        try:
            return notices.unread_count(db.session, current_user)
        except SQLAlchemyError:  # the header must not turn an error page into a crash
            log.exception("could not count unread notices")
            return None
    return {"unread_notice_count": unread_notice_count}


def _page() -> int:
    return page_number(request.args.get("page")) or 1


@bp.route("/")
@login_required
def index():
    """The user's notices, newest first; unread ones are marked (or shown alone with ?unread=1)."""
    unread_only = request.args.get("unread") == "1"
    page = _page()
    rows, total = notices.list_notices(db.session, current_user, page=page, per_page=PER_PAGE,
                                       unread_only=unread_only)
    return render_template(
        "notices/list.html", rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PER_PAGE)),
        per_page=PER_PAGE, unread_only=unread_only, kind_labels=KIND_LABELS,
        links={n.id: safe_local_link(n.link) for n in rows},
        form=MarkReadForm(formdata=None), all_form=MarkAllForm(formdata=None),
    )


@bp.route("/<int:notice_id>/read", methods=["POST"])
@login_required
def mark_read(notice_id: int):
    """Mark one of the user's notices read, then open what it points at (or go back to the list)."""
    form = MarkReadForm()
    if not form.validate_on_submit():
        flash("页面已过期,请刷新后重试。", "danger")
        return redirect(url_for("notices.index"))
    # Someone else's notice raises not_found: the error page (404) undoes and logs it.
    notice = notices.mark_read(db.session, current_user, notice_id, clock.now())
    link = safe_local_link(notice.link)
    db.session.commit()
    if link and not form.stay.data:
        return redirect(link)
    return redirect(url_for("notices.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read():
    """Mark all the user's notices read."""
    form = MarkAllForm()
    if not form.validate_on_submit():
        flash("页面已过期,请刷新后重试。", "danger")
        return redirect(url_for("notices.index"))
    count = notices.mark_all_read(db.session, current_user, clock.now())
    db.session.commit()
    flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "success" if count else "info")
    return redirect(url_for("notices.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """How often the user gets the digest mail (escalation notices always come)."""
    status = 200
    if request.method == "POST":
        form = PreferencesForm()

        def save() -> str:
            choice = prefs.set_digest_pref(db.session, current_user, form.digest.data, now=clock.now())
            if form.action_mail.data:
                prefs.set_action_mail_pref(db.session, current_user, form.action_mail.data, now=clock.now())
            return choice

        outcome = attempt(save, form=form, done=lambda choice: f"已保存:摘要邮件{DIGEST_LABELS[choice]}。"
                          if choice != prefs.NONE else "已保存:不再接收摘要邮件(督办、逾期等通知仍会发送)。")
        if outcome.done:
            return redirect(url_for("notices.preferences"))
        status = outcome.status
    else:
        form = PreferencesForm(formdata=None, data={
            "digest": prefs.get_digest_pref(db.session, current_user),
            "action_mail": prefs.get_action_mail_pref(db.session, current_user)})
    return render_template("notices/preferences.html", form=form, choices=DIGEST_LABELS,
                           action_mail_choices=ACTION_MAIL_LABELS), status
