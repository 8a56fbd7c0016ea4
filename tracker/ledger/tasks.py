"""The ledger's background tasks: a large export, a large ledger's preview, and a large import.

Each kind is registered with `tracker.core.tasks` (which decides inline versus background and
runs the work); this module records a task for its page or API call and does the work: the
export writes a file under UPLOAD_DIR/exports; the preview reads and checks a kept ledger and
keeps what the preview page shows; the import applies a kept ledger in ONE transaction together
with the task's "done", so it is written entirely or not at all.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core import clock, tasks
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import

EXPORT = "ledger_export"
IMPORT = "ledger_import"
PREVIEW = "ledger_preview"
EXPORT_FORMATS = ("xlsx", "csv")
EXPORTS_FOLDER = tasks.RESULTS_FOLDER
_DATE_FILTERS = ("deadline_from", "deadline_to")
STALE_IMPORT = "导入期间有问题被他人同时修改,未写入任何数据,请重新发起导入。"
WRITERS = {"xlsx": ledger.write_xlsx, "csv": ledger.write_csv}
DEFAULT_KEEP_DAYS = 7  # export files older than this are removed (config EXPORT_KEEP_DAYS)


def filters_to_json(filters: IssueFilters) -> dict[str, Any]:
    """The list filters as JSON-ready values (dates as YYYY-MM-DD)."""
    data = asdict(filters)
    for name in _DATE_FILTERS:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def filters_from_json(data: dict[str, Any]) -> IssueFilters:
    """The list filters back from `filters_to_json` (a task recorded before the yes/no figures became
    `flags` says supervised=true instead: it means the same)."""
    values = dict(data)
    for name in _DATE_FILTERS:
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    flags = list(values.pop("flags", None) or ())
    for legacy in ("supervised", "returned"):
        if values.pop(legacy, None):
            flags.append(legacy)
    return IssueFilters(**values, flags=tuple(flags))


def create_export_job(session: Session, actor: User, now: datetime, fmt: str, filters: IssueFilters, sort: str,
                      today: date, total: int) -> BackgroundJob:
    """Record a queued ledger export of the list's filters and sort, as the list looked on `today`.

    The job runs with the same user's scope when it runs: it keeps only the filters, never ids.
    """
    if fmt not in EXPORT_FORMATS:
        raise Refusal("invalid", "导出格式应为 xlsx 或 csv。")
    params = {"format": fmt, "filters": filters_to_json(filters), "sort": sort, "today": today.isoformat()}
    return tasks.create(session, actor, now, EXPORT, params, total)


def create_import_job(session: Session, actor: User, now: datetime, upload_dir: str, sha256: str,
                      round_id: Optional[int], total: int) -> BackgroundJob:
    """Record a queued import of a kept ledger file (by its sha256) with the preview's round.

    Refuses who may not import and a file that is not kept; the job reads and checks it all again.
    """
    ledger_import.kept_size(upload_dir, sha256, actor)  # refuses who may not import, and a file not kept
    return tasks.create(session, actor, now, IMPORT, {"sha256": sha256, "round_id": round_id}, total)


def preview_job(session: Session, actor: User, now: datetime, upload_dir: str, sha256: str,
                round_id: Optional[int]) -> tuple[BackgroundJob, bool]:
    """The actor's preview job for a kept ledger and round: (job, whether it is new and must be started).

    A finished one whose stored result is still current (`ledger_import.data_mark` unchanged)
    gives the preview page; a queued or running one is followed; otherwise (none, failed,
    interrupted or out of date) a new queued job is recorded. Only the actor's own jobs count.
    """
    ledger_import.kept_size(upload_dir, sha256, actor)  # refuses who may not import, and a file not kept
    latest = tasks.latest_with(session, actor, PREVIEW, {"sha256": sha256, "round_id": round_id})
    if latest is not None:
        state, _error = tasks.shown_state(latest, now)
        if state in tasks.ACTIVE:
            return latest, False
        stored = tasks.summary(latest) if state == tasks.DONE else None
        if stored and stored.get("mark") == ledger_import.data_mark(session):
            return latest, False
    return tasks.create(session, actor, now, PREVIEW, {"sha256": sha256, "round_id": round_id}, 0), True


def stored_preview(job: BackgroundJob) -> ledger_import.PreviewPage:
    """The preview page kept by a finished preview job."""
    return ledger_import.PreviewPage.from_json(tasks.summary(job)["preview"])


def brief_preview(data: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """The summary as the status JSON gives it: a preview's counts only, never its stored rows and errors."""
    if data is None:
        return data
    page = data["preview"]
    return {"rows": page["rows"], **page["counts"], "errors": page["error_count"], "warnings": page["warning_count"]}


def _export(app: Flask, session: Session, job: BackgroundJob, user: User, progress: tasks.Progress) -> None:
    """Write the ledger of the job's filters, in its owner's scope as of now, to a file; then record it."""
    engine = db.engine
    params = tasks.params(job)
    fmt = params.get("format")
    if fmt not in WRITERS:
        raise Refusal("invalid", "导出格式应为 xlsx 或 csv。")
    today = date.fromisoformat(params["today"])
    rows = ledger.ledger_rows(db.session, user, today, app.config, filters_from_json(params["filters"]),
                              sort=params.get("sort") or "deadline")
    folder = Path(app.config["UPLOAD_DIR"]) / EXPORTS_FOLDER
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
    tasks.write(engine, job.id, state=tasks.DONE, done=count, total=count, result_path=f"{EXPORTS_FOLDER}/{name}",
           download_name=ledger.filename(today, fmt), finished_at=now, heartbeat_at=now)


def _import(app: Flask, session, job: BackgroundJob, user: User, progress: tasks.Progress) -> None:
    """Read the kept ledger again and apply it in ONE transaction, together with the job's "done"."""
    params = tasks.params(job)
    preview = ledger_import.read_kept(
        app.config["UPLOAD_DIR"], params.get("sha256") or "", session, user, round_id=params.get("round_id"),
        **ledger_import.limits(app.config))
    total = len(preview.rows)
    session.rollback()  # nothing written yet; release the read snapshot before writing the count
    tasks.write(db.engine, job.id, total=total, done=0, heartbeat_at=clock.now())
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time: from the first write on, the import holds it.
        progress.to_database = False
    created, updated = ledger_import.apply_ledger(session, user, clock.now(), clock.today(), preview,
                                                  progress=progress)
    now = clock.now()
    session.execute(
        update(BackgroundJob).where(BackgroundJob.id == job.id).values(
            state=tasks.DONE, done=total, total=total, finished_at=now, heartbeat_at=now,
            summary=json.dumps({"created": created, "updated": updated})),
        execution_options={"synchronize_session": False})
    session.commit()


def _preview(app: Flask, session, job: BackgroundJob, user: User, progress: tasks.Progress) -> None:
    """Read and check the kept ledger as the preview page would, and keep what that page shows."""
    params = tasks.params(job)
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
    tasks.write(db.engine, job.id, state=tasks.DONE, done=total, total=total, finished_at=now, heartbeat_at=now,
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


tasks.register(tasks.TaskKind(EXPORT, "台账导出", _export, inline_limit="EXPORT_INLINE_MAX_ROWS"))
tasks.register(tasks.TaskKind(IMPORT, "台账导入", _import, inline_limit="IMPORT_INLINE_MAX_ROWS",
                              stale_message=STALE_IMPORT,
                              # It first reads and checks the whole file again before it writes a row.
                              starting_note="(正在读取并检查台账)"))
tasks.register(tasks.TaskKind(PREVIEW, "台账导入预览", _preview, inline_limit="PREVIEW_INLINE_MAX_BYTES",
                              brief=brief_preview, progress_word="已检查", total_may_be_unknown=True))
