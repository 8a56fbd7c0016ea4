"""Admin mail log (邮件日志): the outbox by status, one mail's text, and retrying failed mail.

Admins only. GET pages change nothing; the retry buttons are POST forms that call
one outbox service, commit and redirect. Without TRACKER_SMTP_URL the page says
that mail stays in the outbox, where it can be read.
"""
from __future__ import annotations

import math

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.admin.forms import RetryForm
from tracker.admin.views import bp
from tracker.core import clock, permissions
from tracker.core.bounds import page_number
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import undo_refused
from tracker.notify import outbox
from tracker.notify import services as mail_service

PER_PAGE = 50


def _admin_only() -> None:
    permissions.require(current_user, Permission.ADMINISTER, doing="查看邮件日志和重发邮件")


@bp.route("/mail")
@login_required
def mail_log():
    """The outbox, newest first, filtered by status and paged, with the counts per status."""
    _admin_only()
    notes = []
    status = (request.args.get("status") or "").strip() or None
    if status and status not in outbox.STATUS_LABELS:
        notes.append(f"邮件状态「{status[:20]}」无效,已显示全部邮件。")
        status = None
    page = page_number(request.args.get("page")) or 1
    rows, total = outbox.list_mail(db.session, current_user, status=status, page=page, per_page=PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    return render_template(
        "admin/mail.html", rows=rows, total=total, page=page, pages=pages, per_page=PER_PAGE, status=status,
        notes=notes, counts=outbox.status_counts(db.session, current_user),
        server=mail_service.mail_server_status(current_app.config),
        last_error=mail_service.latest_mail_error(db.session, current_user),
        status_labels=outbox.STATUS_LABELS, kind_labels=outbox.KIND_LABELS, form=RetryForm(formdata=None),
    )


@bp.route("/mail/<int:outbox_id>")
@login_required
def mail_detail(outbox_id: int):
    """One mail: its headers, status, attempts, last error and plain text."""
    _admin_only()
    row = mail_service.get_mail(db.session, current_user, outbox_id)
    return render_template(
        "admin/mail_detail.html", mail=row, server=mail_service.mail_server_status(current_app.config),
        status_labels=outbox.STATUS_LABELS, kind_labels=outbox.KIND_LABELS, form=RetryForm(formdata=None),
    )


def _queued_note() -> str:
    if mail_service.mail_server_status(current_app.config).configured:
        return "将在下一次发送时投递(调度进程每分钟发送一次)。"
    return "但未配置邮件服务器(TRACKER_SMTP_URL),邮件仍保留在发件箱中。"


@bp.route("/mail/<int:outbox_id>/retry", methods=["POST"])
@login_required
def retry_mail(outbox_id: int):
    """Put one failed (or waiting) mail back in the queue now."""
    _admin_only()
    form = RetryForm()
    if not form.validate_on_submit():
        flash("页面已过期,请刷新后重试。", "danger")
        return redirect(url_for("admin.mail_detail", outbox_id=outbox_id))
    mc = outbox.mail_config(current_app.config)
    try:
        row = outbox.retry_mail(db.session, current_user, outbox_id, clock.now(), mc)
    except Refusal as refusal:
        if refusal.kind == "not_found":
            raise  # the error page (404) undoes and logs it
        undo_refused(refusal)
        flash(refusal.message, "danger")
        return redirect(url_for("admin.mail_detail", outbox_id=outbox_id))
    db.session.commit()
    flash(f"已将发给 {row.to_addr} 的邮件重新排队," + _queued_note(), "success")
    return redirect(url_for("admin.mail_detail", outbox_id=outbox_id))


@bp.route("/mail/retry-failed", methods=["POST"])
@login_required
def retry_failed_mail():
    """Put every failed mail back in the queue now."""
    _admin_only()
    form = RetryForm()
    if not form.validate_on_submit():
        flash("页面已过期,请刷新后重试。", "danger")
        return redirect(url_for("admin.mail_log"))
    try:
        count = outbox.retry_failed(db.session, current_user, clock.now(), outbox.mail_config(current_app.config))
    except Refusal as refusal:
        undo_refused(refusal)
        flash(refusal.message, "danger")
        return redirect(url_for("admin.mail_log"))
    db.session.commit()
    if count:
        flash(f"已将 {count} 封发送失败的邮件重新排队," + _queued_note(), "success")
    else:
        flash("没有发送失败的邮件。", "info")
    return redirect(url_for("admin.mail_log", status=outbox.PENDING if count else None))
