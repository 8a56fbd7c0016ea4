"""Admin page of the jobs' settings: the escalation ladder, day counting, report days, digest time.

Admins only (others get the 403 page). The form checks shape only; the service
(`tracker.escalation.settings.save_settings`) checks every value and refuses a malformed one
with a Chinese message, which is shown on the form while nothing is saved.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.admin.forms import SettingsForm
from tracker.admin.views import bp
from tracker.core import clock, labels, permissions
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.escalation import settings as job_settings

# Empty rows offered under the ladder for adding levels without JavaScript.
BLANK_ROWS = 2


def _admin_only() -> None:
    permissions.require(current_user, Permission.ADMINISTER, doing="修改提醒与督办设置")


def _form_for(current: job_settings.JobSettings) -> SettingsForm:
    data = current.as_data()
    data["ladder"] = [{"offset": str(level["offset"]), "kind": level["kind"], "roles": level["roles"]}
                      for level in data["ladder"]]
    for name in ("report_due_day", "report_reminder_day", "unit_yellow_limit"):
        data[name] = str(data[name])
    return SettingsForm(formdata=None, data=data)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The reminder and escalation settings (提醒与督办设置), and saving them."""
    _admin_only()
    status = 200
    if request.method == "POST":
        form = SettingsForm()
        outcome = attempt(lambda: job_settings.save_settings(db.session, current_user, form.service_data(),
                                                             now=clock.now()),
                          form=form, done="已保存提醒与督办设置,调度进程将在一分钟内按新设置执行。")
        if outcome.done:
            return redirect(url_for("admin.settings"))
        status = outcome.status
    else:
        form = _form_for(job_settings.get_settings(db.session))
        for _ in range(min(BLANK_ROWS, job_settings.MAX_LEVELS - len(form.ladder.entries))):
            form.ladder.append_entry()
    return render_template(
        "admin/settings.html", form=form, kinds=job_settings.KINDS,
        roles=job_settings.settings_form_data(job_settings.DEFAULTS)["roles"],
        day_modes=labels.DAY_MODE_LABELS, defaults=job_settings.DEFAULTS, max_levels=job_settings.MAX_LEVELS,
        offset_range=job_settings.OFFSET_RANGE,
    ), status
