"""The background runner: one worker thread per process runs the jobs, each in its own app context.

`submit` hands a queued job to a `ThreadPoolExecutor(max_workers=1)` started on first use
(after gunicorn forks, never before), so a long export, import preview or import never holds
a web worker past its timeout. With config BACKGROUND_JOBS_INLINE the job runs in the calling request
instead (tests use this to stay deterministic); either way `submit` returns a Future.

A job's own session does the work. Everything it says about itself while running (claimed,
progress, heartbeat, failure) goes through a separate short connection, so readers see it
while the work is still going; an import's issues and its "done" are committed together in
the job's session, so an import is written entirely or not at all. On SQLite, where a second
writer would wait for the import's open write transaction, the progress of that last phase
is kept in this process's memory instead (read by this process's pages) until the commit.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Optional

from flask import Flask
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError

from tracker import clock
from tracker.extensions import db
from tracker.models import BackgroundJob, User
from tracker.services import background_jobs as jobs
from tracker.services import ledger, ledger_import
from tracker.workflow import Refusal

log = logging.getLogger("tracker.background")

FAILED_MESSAGE = "任务出错,未完成;请稍后重新发起,如果反复出现,请联系系统管理员。"
STALE_IMPORT = "导入期间有问题被他人同时修改,未写入任何数据,请重新发起导入。"
WRITERS = {"xlsx": ledger.write_xlsx, "csv": ledger.write_csv}
DEFAULT_KEEP_DAYS = 7  # export files older than this are removed (config EXPORT_KEEP_DAYS)

_executor: Optional[ThreadPoolExecutor] = None
_executor_pid: Optional[int] = None
_executor_lock = threading.Lock()
# Job id -> rows done, for the jobs this process is running right now.
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


def submit(app: Flask, job_id: int) -> Future:
    """Run a committed, queued job: in the worker thread, or right here with BACKGROUND_JOBS_INLINE."""
    if app.config.get("BACKGROUND_JOBS_INLINE"):
        future: Future = Future()
        run_job(app, job_id)
        future.set_result(None)
        return future
    return _pool().submit(run_job, app, job_id)


def live_done(job_id: int) -> Optional[int]:
    """Rows done of a job this process is running now, or None when it runs elsewhere or not at all."""
    with _live_lock:
        return _live.get(job_id)


def _write(engine: Engine, job_id: int, only_state: Optional[str] = None, **values) -> int:
    """Update the job row in a short transaction of its own; return how many rows changed."""
    stmt = update(BackgroundJob.__table__).where(BackgroundJob.__table__.c.id == job_id)
    if only_state:
        stmt = stmt.where(BackgroundJob.__table__.c.state == only_state)
    with engine.begin() as conn:
        return conn.execute(stmt.values(**values)).rowcount


class _Progress:
    """The writers' progress callback: remembers the count, writes it with a heartbeat now and then."""

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
        values = {}
        if total is not None and total != self._total:
            # A total learnt while running (a preview's row estimate) goes out at once.
            self._total = values["total"] = total
        elif moment - self._last < self.every:
            return  # the final count goes out with the job's result anyway
        self._last = moment
        _write(self.engine, self.job_id, done=done, heartbeat_at=clock.now(), **values)


def run_job(app: Flask, job_id: int) -> None:
    """Claim a queued job and do it in a fresh app context and session; record done or failed."""
    with app.app_context():
        engine = db.engine
        now = clock.now()
        if not _write(engine, job_id, only_state=jobs.QUEUED, state=jobs.RUNNING, started_at=now,
                      heartbeat_at=now):
            return  # gone, or already taken by another runner
        session = db.session
        job = session.get(BackgroundJob, job_id)
        kind = job.kind
        progress = _Progress(engine, job_id, float(app.config.get("BACKGROUND_PROGRESS_SECONDS", 1.0)))
        with _live_lock:
            _live[job_id] = 0
        try:
            user = session.get(User, job.user_id)
            if user is None or not user.is_active:
                raise Refusal("forbidden", "发起任务的账号已停用,任务未执行。")
            if kind == jobs.EXPORT:
                _export(app, engine, job, user, progress)
            elif kind == jobs.IMPORT:
                _import(app, session, job, user, progress)
            elif kind == jobs.PREVIEW:
                _preview(app, session, job, user, progress)
            else:
                raise Refusal("invalid", "未知的任务类型。")
        except Refusal as refusal:
            session.rollback()
            log.warning("job %s (%s) refused: %s (%s)", job_id, kind, refusal.message, refusal.kind)
            _write(engine, job_id, state=jobs.FAILED, error=refusal.message, finished_at=clock.now())
        except StaleDataError:
            session.rollback()
            log.warning("job %s (%s) lost to a concurrent writer", job_id, kind)
            _write(engine, job_id, state=jobs.FAILED, error=STALE_IMPORT, finished_at=clock.now())
        except Exception:
            session.rollback()
            log.exception("job %s (%s) failed", job_id, kind)
            _write(engine, job_id, state=jobs.FAILED, error=FAILED_MESSAGE, finished_at=clock.now())
        finally:
            with _live_lock:
                _live.pop(job_id, None)


def _export(app: Flask, engine: Engine, job: BackgroundJob, user: User, progress: _Progress) -> None:
    """Write the ledger of the job's filters, in its owner's scope as of now, to a file; then record it."""
    from tracker.issues.export_views import ledger_filename

    params = jobs.params(job)
    fmt = params.get("format")
    if fmt not in WRITERS:
        raise Refusal("invalid", "导出格式应为 xlsx 或 csv。")
    today = date.fromisoformat(params["today"])
    rows = ledger.ledger_rows(db.session, user, today, app.config, jobs.filters_from_json(params["filters"]),
                              sort=params.get("sort") or "deadline")
    folder = Path(app.config["UPLOAD_DIR"]) / jobs.EXPORTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    # The id keeps names unique; the random token keeps them unguessable.
    name = f"{job.id}-{secrets.token_urlsafe(24)}.{fmt}"
    temp = folder / f"{name}.part"
    try:
        with temp.open("wb") as stream:
            count = WRITERS[fmt](rows, stream, progress=progress)
        os.replace(temp, folder / name)  # a download never sees half a file
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    db.session.rollback()  # end the read transaction before the job row is written
    prune_exports(folder, float(app.config.get("EXPORT_KEEP_DAYS", DEFAULT_KEEP_DAYS)))
    now = clock.now()
    _write(engine, job.id, state=jobs.DONE, done=count, total=count, result_path=f"{jobs.EXPORTS_FOLDER}/{name}",
           download_name=ledger_filename(today, fmt), finished_at=now, heartbeat_at=now)


def _import(app: Flask, session, job: BackgroundJob, user: User, progress: _Progress) -> None:
    """Read the kept ledger again and apply it in ONE transaction, together with the job's "done"."""
    params = jobs.params(job)
    preview = ledger_import.read_kept(
        app.config["UPLOAD_DIR"], params.get("sha256") or "", session, user, round_id=params.get("round_id"),
        **ledger_import.limits(app.config))
    total = len(preview.rows)
    session.rollback()  # nothing written yet; release the read snapshot before writing the count
    _write(db.engine, job.id, total=total, done=0, heartbeat_at=clock.now())
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time: from the first write on, the import holds it.
        progress.to_database = False
    created, updated = ledger_import.apply_ledger(session, user, clock.now(), clock.today(), preview,
                                                  progress=progress)
    now = clock.now()
    session.execute(
        update(BackgroundJob).where(BackgroundJob.id == job.id).values(
            state=jobs.DONE, done=total, total=total, finished_at=now, heartbeat_at=now,
            summary=json.dumps({"created": created, "updated": updated})),
        execution_options={"synchronize_session": False})
    session.commit()


def _preview(app: Flask, session, job: BackgroundJob, user: User, progress: _Progress) -> None:
    """Read and check the kept ledger as the preview page would, and keep what that page shows."""
    params = jobs.params(job)
    # Taken before the read: a change made while reading makes the stored preview out of date.
    mark = ledger_import.data_mark(session)
    preview = ledger_import.read_kept(
        app.config["UPLOAD_DIR"], params.get("sha256") or "", session, user, round_id=params.get("round_id"),
        **ledger_import.limits(app.config), progress=progress)
    session.rollback()  # it only read; end the read transaction before the job row is written
    page = ledger_import.PreviewPage.from_preview(
        preview, messages_max=int(app.config.get("PREVIEW_MESSAGES_MAX", ledger_import.STORED_MESSAGES_MAX)))
    total = len(preview.rows)
    now = clock.now()
    _write(db.engine, job.id, state=jobs.DONE, done=total, total=total, finished_at=now, heartbeat_at=now,
           summary=json.dumps({"mark": mark, "preview": page.to_json()}, ensure_ascii=False))


def prune_exports(folder: Path, keep_days: float) -> int:
    """Remove export files (and leftovers of dead jobs) older than `keep_days`; return how many.

    By the files' own (wall-clock) modification times: a file being written is always recent.
    Their jobs then offer no download ("导出文件已不存在").
    """
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass  # another process removed it first
    return removed
