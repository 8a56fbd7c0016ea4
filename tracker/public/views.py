"""The public disclosure page (no login) and the admin's switch for it."""
from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.core import clock, permissions
from tracker.core.bounds import page_number, whole_number
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.public import services as public
from tracker.public.forms import SwitchForm

bp = Blueprint("public", __name__, url_prefix="/public")
admin_bp = Blueprint("public_admin", __name__, url_prefix="/admin/public")

CLOSED_MESSAGE = "整改公示页面暂未开放。"


@bp.route("/")
def index():
    """The closed issues marked public, by round, 20 a page; 404 while an admin has it off."""
    if not public.is_enabled(db.session):
        return render_template("public/index.html", closed_message=CLOSED_MESSAGE), 404
    page = page_number(request.args.get("page")) or 1
    round_id = whole_number(request.args.get("round"))
    rounds = public.public_rounds(db.session)
    rows, total = public.public_issues(db.session, round_id=round_id, page=page, per_page=public.PER_PAGE)
    pages = max(1, math.ceil(total / public.PER_PAGE))
    return render_template("public/index.html", rows=rows, total=total, page=page, pages=pages,
                           per_page=public.PER_PAGE, rounds=rounds, round_id=round_id)


def _admin_only() -> None:
    permissions.require(current_user, Permission.ADMINISTER, doing="开启或关闭整改公示页面")


@admin_bp.route("/", methods=["GET", "POST"])
@login_required
def switch():
    """Show whether the public page is on, and turn it on or off (admins only)."""
    _admin_only()
    form = SwitchForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for message in errors:
                    flash(message, "danger")
            return redirect(url_for("public_admin.switch"))
        attempt(lambda: public.set_enabled(db.session, current_user, clock.now(), form.enabled.data == "1"),
                done=lambda enabled: "整改公示页面已开启。" if enabled else "整改公示页面已关闭,访问将显示“暂未开放”。")
        return redirect(url_for("public_admin.switch"))
    return render_template("public/admin.html", enabled=public.is_enabled(db.session))
