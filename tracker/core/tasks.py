"""Background tasks (后台任务): work too long for a web request, run beside it and followed by its owner.

A task row (`BackgroundJob`) holds what to do (kind and JSON params), who asked (user_id), how
far it has come (done/total, heartbeat_at) and what came out (a result file under UPLOAD_DIR,
or a JSON summary). Domains register the kinds they run (`register`): a label, the function
that does the work, the size above which the work leaves the request (`runs_in_background`,
the one place that decides inline versus background), and what the status shows of its result.

`submit` hands a committed, queued task to one worker thread per process, started on first use
(after gunicorn forks, never before), so a long task never holds a web worker past its timeout.
With config BACKGROUND_JOBS_INLINE the task runs in the calling request instead (tests use this
to stay deterministic). Everything a task says about itself while running (claimed, progress,
heartbeat, failure) goes through a separate short connection, so readers see it while the work
is still going. A queued or running task whose heartbeat is older than STALE_AFTER died with
its process and is shown as failed. The rest of the tracker only calls `register`, `create`,
`submit`, `runs_in_background` and the readers here: a real queue can replace the thread later.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Optional

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tracker.core import clock
from tracker.core.enums import TaskState
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.labels import TASK_STATE_LABELS
from tracker.core.models import BackgroundJob

if TYPE_CHECKING:
    from tracker.accounts.models import User

log = logging.getLogger("tracker.background")

QUEUED, RUNNING, DONE, FAILED = TaskState.QUEUED, TaskState.RUNNING, TaskState.DONE, TaskState.FAILED
STATE_LABELS = TASK_STATE_LABELS
ACTIVE = (QUEUED, RUNNING)

STALE_AFTER = timedelta(minutes=10)
INTERRUPTED = "任务中断,请重新发起。"
NOT_FOUND = "任务不存在或您无权查看。"
FAILED_MESSAGE = "任务出错,未完成;请稍后重新发起,如果反复出现,请联系系统管理员。"
STALE_MESSAGE = "任务期间数据被他人同时修改,未写入任何数据,请重新发起。"
RECENT_LIMIT = 20
# Result files live here, under UPLOAD_DIR; a download is served only from inside it.
RESULTS_FOLDER = "exports"


class Progress:
    """The work's progress callback: remembers the count, writes it with a heartbeat now and then.

    `to_database` off keeps the count in this process only (SQLite, while the task holds the
    one write lock)."""

    def __init__(self, engine: Engine, job_id: int, every_seconds: float):
        self.engine = engine
        self.job_id = job_id
        self.every = every_seconds
        self.to_database = True
        self._last = time.monotonic()
        self._total: Optional[int] = None

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        with _live_lock:
            _live[self.job_id] = done
        if not self.to_database:
            return
        moment = time.monotonic()
        values: dict[str, Any] = {}
        if total is not None and total != self._total:
            # A total learnt while running (a preview's row estimate) goes out at once.
            self._total = values["total"] = total
        elif moment - self._last < self.every:
            return  # the final count goes out with the task's result anyway
        self._last = moment
        write(self.engine, self.job_id, done=done, heartbeat_at=clock.now(), **values)


# The work of a kind: (app, session, task, its owner, progress) -> None; it records its own result.
Work = Callable[[Flask, Session, BackgroundJob, "User", Progress], None]


@dataclass(frozen=True)
class TaskKind:
    """A kind of background task, registered by the domain that runs it."""

    name: str
    label: str
    work: Work
    # The config key of the largest size (rows or bytes) done inside the request.
    inline_limit: Optional[str] = None
    # What the status JSON shows of a finished task's stored summary.
    brief: Callable[[Optional[dict[str, Any]]], Optional[dict[str, Any]]] = lambda data: data
    # Said when the work lost a race with another writer (nothing was written).
    stale_message: str = STALE_MESSAGE
    # The progress line's verb, whether the total may be unknown while it runs, and a note shown
    # while a running task has done nothing yet.
    progress_word: str = "已处理"
    total_may_be_unknown: bool = False
    starting_note: str = ""


KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    """Make a kind of task known (at import of the domain that runs it)."""
    KINDS[kind.name] = kind
    return kind


def runs_in_background(kind: str, size: int, config: Mapping[str, Any]) -> bool:
    """Whether work of `kind` on `size` rows (or bytes) leaves the request for a background task."""
    limit = KINDS[kind].inline_limit
    return limit is not None and size > int(config[limit])


# --- recording -------------------------------------------------------------------

def _params_text(params: dict[str, Any]) -> str:
    # One spelling for the same parameters, so that a task is found by comparing the column.
    return json.dumps(params, ensure_ascii=False)


def create(session: Session, actor: User, now: datetime, kind: str, params: dict[str, Any],
           total: int) -> BackgroundJob:
    """Record a queued task of `kind` for `actor`; flushes. `submit` it after the commit."""
    job = BackgroundJob(kind=kind, user_id=actor.id, params=_params_text(params),
                        state=QUEUED, done=0, total=max(0, int(total)), created_at=now)
    session.add(job)
    session.flush()
    return job


def latest_with(session: Session, actor: User, kind: str, params: dict[str, Any]) -> Optional[BackgroundJob]:
    """The actor's newest task of `kind` with exactly these parameters, if any."""
    return session.scalars(
        select(BackgroundJob)
        .where(BackgroundJob.user_id == actor.id, BackgroundJob.kind == kind,
               BackgroundJob.params == _params_text(params))
        .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()).limit(1)).first()


def job_for(session: Session, actor: User, job_id: int) -> BackgroundJob:
    """The task `actor` started; anyone else's (or none) is refused as not found, never as forbidden."""
    job = session.get(BackgroundJob, job_id)
    if job is None or job.user_id != actor.id:
        # Not 403: whether someone else's task exists is none of the caller's business.
        raise Refusal("not_found", NOT_FOUND)
    return job


def recent_jobs(session: Session, actor: User, limit: int = RECENT_LIMIT) -> list[BackgroundJob]:
    """The user's latest tasks, newest first (one query, on the (user_id, created_at) index)."""
    stmt = (select(BackgroundJob).where(BackgroundJob.user_id == actor.id)
            .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def params(job: BackgroundJob) -> dict[str, Any]:
    """The task's parameters."""
    return dict(json.loads(job.params or "{}"))


def summary(job: BackgroundJob) -> Optional[dict[str, Any]]:
    """The task's result summary (e.g. created/updated), or None."""
    return dict(json.loads(job.summary)) if job.summary else None


def is_stale(job: BackgroundJob, now: datetime) -> bool:
    """Whether an unfinished task has shown no sign of life for STALE_AFTER (its process is gone)."""
    if job.state not in ACTIVE:
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return last is not None and now - last > STALE_AFTER


def shown_state(job: BackgroundJob, now: datetime, alive: bool = False) -> tuple[str, Optional[str]]:
    """(state, error) as the owner sees them: a stale unfinished task reads as failed, interrupted.

    `alive`: the reader knows the task is running right now (in its own process), stale or not.
    """
    if not alive and is_stale(job, now):
        return FAILED, INTERRUPTED
    return job.state, job.error


def percent(done: int, total: int) -> int:
    """Progress in whole percent (0-100)."""
    if total <= 0:
        return 0
    return max(0, min(100, done * 100 // total))


def kind_label(kind: str) -> str:
    """The kind's name in Chinese."""
    known = KINDS.get(kind)
    return known.label if known else kind


def job_json(job: BackgroundJob, now: datetime, download_url: Optional[str],
             done: Optional[int] = None, alive: bool = False) -> dict[str, Any]:
    """The task as the API and the polling page read it; `done` overrides the stored count when fresher."""
    state, error = shown_state(job, now, alive)
    count = job.done if done is None else max(done, job.done)
    total = job.total
    known = KINDS.get(job.kind)
    return {
        "id": job.id,
        "kind": job.kind,
        "kind_label": kind_label(job.kind),
        "state": state,
        "state_label": STATE_LABELS.get(state, state),  # type: ignore[call-overload]
        "done": count,
        "total": total,
        "percent": 100 if state == DONE else percent(count, total),
        "download_url": download_url if state == DONE and job.result_path else None,
        "summary": (known.brief(summary(job)) if known else summary(job)) if state == DONE else None,
        "error": error if state == FAILED else None,
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
    }


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat(timespec="seconds") + "Z" if value else None


# --- running ---------------------------------------------------------------------

_executor: Optional[ThreadPoolExecutor] = None
_executor_pid: Optional[int] = None
_executor_lock = threading.Lock()
# Task id -> rows done, for the tasks this process is running right now.
_live: dict[int, int] = {}
_live_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    with _executor_lock:
        # A forked child inherits the object but not its thread: start a pool of its own.
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-job")
            _executor_pid = os.getpid()
        return _executor


def submit(app: Flask, job_id: int) -> Future[None]:
    """Run a committed, queued task: in the worker thread, or right here with BACKGROUND_JOBS_INLINE."""
    if app.config.get("BACKGROUND_JOBS_INLINE"):
        future: Future[None] = Future()
        run_job(app, job_id)
        future.set_result(None)
        return future
    return _pool().submit(run_job, app, job_id)


def live_done(job_id: int) -> Optional[int]:
    """Rows done of a task this process is running now, or None when it runs elsewhere or not at all."""
    with _live_lock:
        return _live.get(job_id)


def write(engine: Engine, job_id: int, only_state: Optional[str] = None, **values: Any) -> int:
    """Update the task row in a short transaction of its own; return how many rows changed."""
    table = BackgroundJob.__table__
    stmt = update(table).where(table.c.id == job_id)
    if only_state:
        stmt = stmt.where(table.c.state == only_state)
    with engine.begin() as conn:
        return int(conn.execute(stmt.values(**values)).rowcount)


def run_job(app: Flask, job_id: int) -> None:
    """Claim a queued task and do it in a fresh app context and session; record done or failed."""
    with app.app_context():
        engine = db.engine
        now = clock.now()
        if not write(engine, job_id, only_state=QUEUED, state=RUNNING, started_at=now, heartbeat_at=now):
            return  # gone, or already taken by another runner
        session = db.session
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        kind = KINDS.get(job.kind)
        progress = Progress(engine, job_id, float(app.config.get("BACKGROUND_PROGRESS_SECONDS", 1.0)))
        with _live_lock:
            _live[job_id] = 0
        try:
            user = job.user
            if user is None or not user.is_active:
                raise Refusal("forbidden", "发起任务的账号已停用,任务未执行。")
            if kind is None:
                raise Refusal("invalid", "未知的任务类型。")
            kind.work(app, session, job, user, progress)
        except Refusal as refusal:
            session.rollback()
            log.warning("job %s (%s) refused: %s (%s)", job_id, job.kind, refusal.message, refusal.kind)
            write(engine, job_id, state=FAILED, error=refusal.message, finished_at=clock.now())
        except StaleDataError:
            session.rollback()
            log.warning("job %s (%s) lost to a concurrent writer", job_id, job.kind)
            write(engine, job_id, state=FAILED, error=kind.stale_message if kind else STALE_MESSAGE,
                  finished_at=clock.now())
        except Exception:
            session.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            write(engine, job_id, state=FAILED, error=FAILED_MESSAGE, finished_at=clock.now())
        finally:
            with _live_lock:
                _live.pop(job_id, None)
