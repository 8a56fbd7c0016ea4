"""`tracker scheduler`: a dedicated process that runs the day's jobs at the set time and sends mail every minute.

APScheduler 3.x. Web workers never start it. The daily job runs under the leader
lease, so two schedulers (a deploy overlap, two hosts) run it once; the minute job
dispatches the outbox (claims keep two dispatchers apart) and follows a change of
the digest time on the settings page.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from tracker.core import clock
from tracker.core.extensions import db
from tracker.escalation.runner import run_jobs
from tracker.escalation.settings import get_settings
from tracker.notify.dispatcher import dispatch

log = logging.getLogger(__name__)

DAILY_ID = "daily"
DISPATCH_ID = "dispatch"


def daily_job(app: Flask) -> None:
    """Run today's jobs (today in the app's zone), under the lease."""
    with app.app_context():
        try:
            report = run_jobs(db.session, clock.today(), app.config, now=clock.now())
            for line in report.lines():
                log.info("%s", line)
        except Exception:
            db.session.rollback()
            log.exception("daily jobs failed")
        finally:
            db.session.remove()


def _digest_trigger(hour: int, minute: int, tz: ZoneInfo) -> CronTrigger:
    return CronTrigger(hour=hour, minute=minute, timezone=tz)


def minute_job(app: Flask, scheduler: Optional[BaseScheduler] = None) -> None:
    """Send due mail; move the daily job when the digest time was changed."""
    with app.app_context():
        try:
            dispatch(db.session, clock.now(), app.config)
            if scheduler is not None:
                _follow_digest_time(app, scheduler)
        except Exception:
            db.session.rollback()
            log.exception("mail dispatch failed")
        finally:
            db.session.remove()


def _follow_digest_time(app: Flask, scheduler: BaseScheduler) -> None:
    hour, minute = get_settings(db.session).digest_hour_minute
    job = scheduler.get_job(DAILY_ID)
    wanted = (str(hour), str(minute))
    if job is None:
        return
    fields = {f.name: str(f) for f in job.trigger.fields}
    if (fields.get("hour"), fields.get("minute")) != wanted:
        tz = ZoneInfo(app.config.get("TIMEZONE", "Asia/Shanghai"))
        scheduler.reschedule_job(DAILY_ID, trigger=_digest_trigger(hour, minute, tz))
        log.info("daily jobs moved to %02d:%02d", hour, minute)


def build_scheduler(app: Flask, scheduler: Optional[BaseScheduler] = None, catch_up: bool = True) -> BaseScheduler:
    """The scheduler with its two jobs (not started). With catch_up, a start after today's time
    also runs today's jobs at once (they are idempotent, so this is safe after a restart)."""
    tz = ZoneInfo(app.config.get("TIMEZONE", "Asia/Shanghai"))
    with app.app_context():
        hour, minute = get_settings(db.session).digest_hour_minute
        db.session.remove()
    scheduler = scheduler or BlockingScheduler(timezone=tz)
    defaults: dict[str, Any] = {"max_instances": 1, "coalesce": True}
    first_daily: Optional[datetime] = None
    if catch_up:
        local_now = datetime.now(tz)
        if (local_now.hour, local_now.minute) >= (hour, minute):
            first_daily = local_now
    scheduler.add_job(daily_job, _digest_trigger(hour, minute, tz), args=[app], id=DAILY_ID,
                      name="daily jobs", misfire_grace_time=6 * 3600, replace_existing=True, **defaults)
    if first_daily is not None:
        scheduler.add_job(daily_job, "date", run_date=first_daily, args=[app], id="catch-up",
                          name="catch-up of today's jobs", misfire_grace_time=3600, replace_existing=True)
    scheduler.add_job(minute_job, IntervalTrigger(minutes=1, timezone=tz), args=[app, scheduler], id=DISPATCH_ID,
                      name="mail dispatch", misfire_grace_time=60, replace_existing=True, **defaults)
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Build the scheduler and block until interrupted."""
    scheduler = build_scheduler(app)
    log.info("scheduler started: %s", ", ".join(f"{job.name} ({job.trigger})" for job in scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
