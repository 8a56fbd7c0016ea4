"""Admin page of the jobs' settings: the escalation ladder, day counting, report days, digest time.

Admins only (others get the 403 page). The form checks shape only; the service
(`jobs.settings.save_settings`) checks every value and refuses a malformed one
with a Chinese message, which is shown on the form while nothing is saved.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectMultipleField, StringField
from wtforms.validators import Length

from tracker.admin.views import bp
from tracker.core import clock, labels, permissions
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.escalation import settings as job_settings

# Empty rows offered under the ladder for adding levels without JavaScript.
BLANK_ROWS = 2


class LevelForm(Form):
    """One row of the ladder table: offset in days, kind, recipient roles (values checked by the service)."""

    offset = StringField("天数", validators=[Length(max=10, message="天数过长。")])
    kind = StringField("类型", validators=[Length(max=40, message="类型无效。")])
    roles = SelectMultipleField("通知对象", choices=[], validate_choice=False)


class SettingsForm(FlaskForm):
    """The whole settings page; each field is passed to the service as typed."""

    ladder = FieldList(FormField(LevelForm))
    day_mode = StringField(job_settings.FIELD_LABELS["day_mode"])
    report_due_day = StringField(job_settings.FIELD_LABELS["report_due_day"], validators=[Length(max=10)])
    report_reminder_day = StringField(job_settings.FIELD_LABELS["report_reminder_day"], validators=[Length(max=10)])
    unit_yellow_limit = StringField(job_settings.FIELD_LABELS["unit_yellow_limit"], validators=[Length(max=10)])
    digest_time = StringField(job_settings.FIELD_LABELS["digest_time"], validators=[Length(max=10)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ladder_errors: list[str] = []

    def place_refusal(self, refusal: Refusal) -> bool:
        """A refused ladder is said above the ladder's table (its rows have no field of their own)."""
        if refusal.field == "ladder":
            self.ladder_errors.append(refusal.message)
            return True
        return False

    def ladder_rows(self) -> list[dict[str, Any]]:
        """The ladder as the service takes it; a row with neither days nor kind is left out (deleted)."""
        rows = []
        for entry in self.ladder.entries:
            offset = (entry.offset.data or "").strip()
            kind = (entry.kind.data or "").strip()
            if not offset and not kind:
                continue
            rows.append({"offset": offset, "kind": kind, "roles": list(entry.roles.data or [])})
        return rows

    def service_data(self) -> dict[str, Any]:
        """Every setting, as the service's `save_settings` takes it."""
        return {
            "ladder": self.ladder_rows(),
            "day_mode": self.day_mode.data,
            "report_due_day": self.report_due_day.data,
            "report_reminder_day": self.report_reminder_day.data,
            "unit_yellow_limit": self.unit_yellow_limit.data,
            "digest_time": self.digest_time.data,
        }


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
