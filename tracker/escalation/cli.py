"""Commands: `tracker jobs run [--today YYYY-MM-DD]`, `tracker jobs dispatch`, `tracker scheduler`."""
from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from tracker.core import clock
from tracker.core.extensions import db
from tracker.core.web import app_object


def _parse_day(_ctx, _param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD,例如 2020-07-15。") from None


def register_cli(app: Flask) -> None:
    """Attach the `jobs` group and the `scheduler` command to the app's CLI."""
    jobs = AppGroup("jobs", help="提醒、督办与摘要 / reminders, escalations and digests.")

    @jobs.command("run")
    @click.option("--today", callback=_parse_day, default=None, metavar="YYYY-MM-DD",
                  help="the day to run for (default: today in Asia/Shanghai)")
    @click.option("--no-dispatch", is_flag=True, help="queue the mail but do not send it")
    @click.option("--no-lease", is_flag=True, hidden=True, help="skip the leader lease (tests of the unique keys)")
    def run(today, no_dispatch, no_lease):
        """Run everything due on the day once, then send the outbox."""
        from tracker.escalation.runner import run_jobs

        day = today or clock.today()
        report = run_jobs(db.session, day, current_app.config, now=clock.now(), use_lease=not no_lease,
                          dispatch_mail=not no_dispatch)
        for line in report.lines():
            click.echo(line)

    @jobs.command("dispatch")
    def dispatch_cmd():
        """Send the mail waiting in the outbox now."""
        from tracker.notify.dispatcher import dispatch

        result = dispatch(db.session, clock.now(), current_app.config)
        if not result.configured:
            click.echo("未配置 TRACKER_SMTP_URL:邮件留在发件箱中,未发送。")
            return
        click.echo(f"发送:成功 {result.sent},待重试 {result.retrying},失败 {result.failed}")
        for error in dict.fromkeys(result.errors):
            click.echo(f"错误:{error}")

    app.cli.add_command(jobs)

    @app.cli.command("scheduler")
    def scheduler():
        """Run the scheduler (daily jobs at the set time, mail every minute) until stopped."""
        from tracker.escalation.scheduler import run_scheduler

        run_scheduler(app_object())
