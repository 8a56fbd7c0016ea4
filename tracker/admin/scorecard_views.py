"""Admin page of the unit scorecard's deductions (单位考评扣分规则).

Admins only (others get the 403 page). The form checks shape only; the service
(`tracker.reports.scorecard.save_rules`) checks every value and refuses a malformed one
with a Chinese message, which is shown by its field while nothing is saved.
"""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker.admin.forms import ScorecardRulesForm
from tracker.admin.views import bp
from tracker.core import clock, permissions
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.reports import scorecard


def _admin_only() -> None:
    permissions.require(current_user, Permission.ADMINISTER, doing="修改单位考评扣分规则")


@bp.route("/scorecard", methods=["GET", "POST"])
@login_required
def scorecard_rules():
    """The scorecard's deductions (单位考评扣分规则), and saving them."""
    _admin_only()
    status = 200
    form = ScorecardRulesForm()
    if form.is_submitted():
        outcome = attempt(lambda: scorecard.save_rules(db.session, current_user, form.service_data(), now=clock.now()),
                          form=form, done="已保存单位考评扣分规则。")
        if outcome.done:
            return redirect(url_for("admin.scorecard_rules"))
        status = outcome.status
    else:
        rules = scorecard.get_rules(db.session)
        form = ScorecardRulesForm(formdata=None, data={
            name: scorecard.format_number(getattr(rules, name)) for name in scorecard.FIELDS})
    return render_template("admin/scorecard.html", form=form, defaults=scorecard.DEFAULTS.as_data()), status
