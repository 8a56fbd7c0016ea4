"""`run_day`: everything due on a day — ladder, monthly cycle, yellow-light rule, digests — then dispatch.

The day is given, never read from a clock. Work is streamed in batches (keyset
pagination on ids, Core inserts, the session emptied after every commit), so memory
stays flat as issues grow. A second run for the same day finds every escalation row,
mail and notice already there and adds nothing. Each step is idempotent, so one that
hits a deadlock or a locked database is simply run again.
"""
from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from tracker.core.clock import local_date, utcnow
from tracker.core.lease import DAILY, leader_lease
from tracker.escalation.context import RunContext
from tracker.escalation.digests import run_digests
from tracker.escalation.ladder import run_ladder
from tracker.escalation.lights import mark_lights, run_unit_rule
from tracker.escalation.monthly import run_monthly
from tracker.escalation.settings import JobSettings, get_settings
from tracker.issues.queries import day_figures
from tracker.notify.dispatcher import DispatchResult, dispatch
from tracker.notify.outbox import mail_config
from tracker.notify.recipients import Directory

log = logging.getLogger(__name__)

RETRIES = 3
RETRY_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available


@dataclass
class RunReport:
    """What a run did."""

    today: date
    ran: bool = True  # False: another process held the lease
    stats: dict[str, int] = field(default_factory=dict)
    new_mails: int = 0
    dispatch: Optional[DispatchResult] = None
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """A short human-readable summary (for the command line)."""
        if not self.ran:
            return [f"{self.today}: 另一个进程正在执行当天的任务,本次跳过。"]
        out = [f"{self.today}: 新邮件 {self.new_mails} 封,用时 {self.seconds:.1f} 秒"]
        out += [f"  {key}: {value}" for key, value in sorted(self.stats.items()) if value]
        if self.dispatch is not None:
            if not self.dispatch.configured:
                out.append("  未配置 TRACKER_SMTP_URL:邮件留在发件箱中,未发送。")
            else:
                out.append(f"  发送:成功 {self.dispatch.sent},待重试 {self.dispatch.retrying},"
                           f"失败 {self.dispatch.failed}")
                out += [f"  错误:{e}" for e in dict.fromkeys(self.dispatch.errors)]
        return out


def event_moment(today: date, now: datetime, settings: JobSettings, tz: ZoneInfo) -> datetime:
    """The time put on the day's events: now when running on that day, else the day's digest time."""
    if local_date(now, str(tz.key)) == today:
        return now
    hour, minute = settings.digest_hour_minute
    return datetime.combine(today, time(hour, minute), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and code in RETRY_SQLSTATES


def _step(ctx: RunContext, name: str, fn: Callable[[RunContext], Any]) -> None:
    for attempt in range(1, RETRIES + 1):
        started = _time.monotonic()
        try:
            fn(ctx)
            ctx.commit()
            log.info("jobs for %s: %s took %.1fs", ctx.today, name, _time.monotonic() - started)
            return
        except (OperationalError, DBAPIError) as exc:
            ctx.session.rollback()
            ctx.discard()
            if attempt == RETRIES or not _retryable(exc):
                raise
            log.warning("jobs step %s: %s; running it again (%d/%d)", name, type(exc.orig).__name__,
                        attempt, RETRIES)


def run_day(session: Session, today: date, config: Mapping[str, Any], now: Optional[datetime] = None,
            heartbeat: Optional[Callable[[], None]] = None, dispatch_mail: bool = True,
            batch_size: int = 500) -> RunReport:
    """Run everything due on `today`, committing per batch, then send the outbox.

    `now` (naive UTC, default the wall clock) stamps the outbox, notices and the
    dispatcher's retries; events carry `now` when it falls on `today`, otherwise the
    day's digest time.
    """
    started = _time.monotonic()
    now = now or utcnow()
    session.commit()
    settings = get_settings(session)
    tz = ZoneInfo(config.get("TIMEZONE", "Asia/Shanghai"))
    ctx = RunContext(
        session=session, today=today, now=now, event_at=event_moment(today, now, settings, tz), config=config,
        settings=settings, mail=mail_config(config), directory=Directory(session),
        fig=day_figures(today, config), batch_size=batch_size, heartbeat=heartbeat,
    )
    session.commit()
    log.info("jobs for %s: start", today)
    for name, fn in (("ladder", run_ladder), ("monthly", run_monthly), ("lights", mark_lights),
                     ("unit rule", run_unit_rule), ("digests", run_digests)):
        _step(ctx, name, fn)
    report = RunReport(today=today, stats=dict(ctx.stats))
    report.new_mails = sum(v for k, v in ctx.stats.items() if k.startswith("mails."))
    if dispatch_mail:
        report.dispatch = dispatch(session, now, config)
    report.seconds = _time.monotonic() - started
    log.info("jobs for %s: done in %.1fs, %d new mails", today, report.seconds, report.new_mails)
    return report


def run_jobs(session: Session, today: date, config: Mapping[str, Any], now: Optional[datetime] = None,
             use_lease: bool = True, dispatch_mail: bool = True) -> RunReport:
    """`run_day` under the leader lease: when another process holds it, do nothing and say so."""
    if not use_lease:
        return run_day(session, today, config, now=now, dispatch_mail=dispatch_mail)
    session.commit()
    with leader_lease(session.get_bind(), DAILY) as lease:
        if lease is None:
            return RunReport(today=today, ran=False)
        return run_day(session, today, config, now=now, heartbeat=lease.renew, dispatch_mail=dispatch_mail)
