"""Background jobs (后台任务): long ledger exports, import previews and imports, recorded so their owner can follow them.

A job row holds what to do (kind and JSON params), who asked (user_id), how far it has come
(done/total, heartbeat_at) and what came out (a result file under UPLOAD_DIR/exports, or a
JSON summary). The runner (tracker/background/runner.py) does the work; this module creates
jobs, finds them for their owner only, and says how they look when read: a queued or running
job whose heartbeat is older than STALE_AFTER died with its process and is shown as failed.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import BackgroundJob, User
from tracker.workflow import Refusal
from tracker.services import ledger_import
from tracker.services.queries import IssueFilters

EXPORT = "ledger_export"
IMPORT = "ledger_import"
PREVIEW = "ledger_preview"
KIND_LABELS = {EXPORT: "台账导出", IMPORT: "台账导入", PREVIEW: "台账导入预览"}
EXPORT_FORMATS = ("xlsx", "csv")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATE_LABELS = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败"}
ACTIVE = (QUEUED, RUNNING)

STALE_AFTER = timedelta(minutes=10)
INTERRUPTED = "任务中断,请重新发起。"
NOT_FOUND = "任务不存在或您无权查看。"
RECENT_LIMIT = 20
EXPORTS_FOLDER = "exports"

_DATE_FILTERS = ("deadline_from", "deadline_to")


def filters_to_json(filters: IssueFilters) -> dict[str, Any]:
    """The list filters as JSON-ready values (dates as YYYY-MM-DD)."""
    data = asdict(filters)
    for name in _DATE_FILTERS:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def filters_from_json(data: dict[str, Any]) -> IssueFilters:
    """The list filters back from `filters_to_json`."""
    values = dict(data)
    for name in _DATE_FILTERS:
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return IssueFilters(**values)


def create_export_job(session: Session, actor: User, now: datetime, fmt: str, filters: IssueFilters, sort: str,
                      today: date, total: int) -> BackgroundJob:
    """Record a queued ledger export of the list's filters and sort, as the list looked on `today`.

    The job runs with the same user's scope when it runs: it keeps only the filters, never ids.
    """
    if fmt not in EXPORT_FORMATS:
        raise Refusal("invalid", "导出格式应为 xlsx 或 csv。")
    params = {"format": fmt, "filters": filters_to_json(filters), "sort": sort, "today": today.isoformat()}
    return _create(session, actor, now, EXPORT, params, total)


def create_import_job(session: Session, actor: User, now: datetime, upload_dir: str, sha256: str,
                      round_id: Optional[int], total: int) -> BackgroundJob:
    """Record a queued import of a kept ledger file (by its sha256) with the preview's round.

    Refuses who may not import and a file that is not kept; the job reads and checks it all again.
    """
    ledger_import.kept_size(upload_dir, sha256, actor)  # refuses who may not import, and a file not kept
    return _create(session, actor, now, IMPORT, {"sha256": sha256, "round_id": round_id}, total)


def preview_job(session: Session, actor: User, now: datetime, upload_dir: str, sha256: str,
                round_id: Optional[int]) -> tuple[BackgroundJob, bool]:
    """The actor's preview job for a kept ledger and round: (job, whether it is new and must be started).

    A finished one whose stored result is still current (`ledger_import.data_mark` unchanged)
    gives the preview page; a queued or running one is followed; otherwise (none, failed,
    interrupted or out of date) a new queued job is recorded. Only the actor's own jobs count.
    """
    ledger_import.kept_size(upload_dir, sha256, actor)  # refuses who may not import, and a file not kept
    key = _params_text({"sha256": sha256, "round_id": round_id})
    latest = session.scalars(
        select(BackgroundJob)
        .where(BackgroundJob.user_id == actor.id, BackgroundJob.kind == PREVIEW, BackgroundJob.params == key)
        .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()).limit(1)).first()
    if latest is not None:
        state, _error = shown_state(latest, now)
        if state in ACTIVE:
            return latest, False
        stored = summary(latest) if state == DONE else None
        if stored and stored.get("mark") == ledger_import.data_mark(session):
            return latest, False
    return _create(session, actor, now, PREVIEW, {"sha256": sha256, "round_id": round_id}, 0), True


def stored_preview(job: BackgroundJob) -> ledger_import.PreviewPage:
    """The preview page kept by a finished preview job."""
    return ledger_import.PreviewPage.from_json(summary(job)["preview"])


def _params_text(params: dict) -> str:
    # One spelling for the same parameters, so that a job is found by comparing the column.
    return json.dumps(params, ensure_ascii=False)


def _create(session: Session, actor: User, now: datetime, kind: str, params: dict, total: int) -> BackgroundJob:
    job = BackgroundJob(kind=kind, user_id=actor.id, params=_params_text(params),
                        state=QUEUED, done=0, total=max(0, int(total)), created_at=now)
    session.add(job)
    session.flush()
    return job


def job_for(session: Session, actor: User, job_id: int) -> BackgroundJob:
    """The job `actor` started; anyone else's (or none) is refused as not found, never as forbidden."""
    job = session.get(BackgroundJob, job_id)
    if job is None or job.user_id != actor.id:
        # Not 403: whether someone else's job exists is none of the caller's business.
        raise Refusal("not_found", NOT_FOUND)
    return job


def recent_jobs(session: Session, actor: User, limit: int = RECENT_LIMIT) -> list[BackgroundJob]:
    """The user's latest jobs, newest first (one query, on the (user_id, created_at) index)."""
    stmt = (select(BackgroundJob).where(BackgroundJob.user_id == actor.id)
            .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def params(job: BackgroundJob) -> dict[str, Any]:
    """The job's parameters."""
    return json.loads(job.params or "{}")


def summary(job: BackgroundJob) -> Optional[dict[str, Any]]:
    """The job's result summary (e.g. created/updated), or None."""
    return json.loads(job.summary) if job.summary else None


def brief_summary(job: BackgroundJob) -> Optional[dict[str, Any]]:
    """The summary as the status JSON gives it: a preview's counts only, never its stored rows and errors."""
    data = summary(job)
    if data is None or job.kind != PREVIEW:
        return data
    page = data["preview"]
    return {"rows": page["rows"], **page["counts"], "errors": page["error_count"], "warnings": page["warning_count"]}


def is_stale(job: BackgroundJob, now: datetime) -> bool:
    """Whether an unfinished job has shown no sign of life for STALE_AFTER (its process is gone)."""
    if job.state not in ACTIVE:
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return last is not None and now - last > STALE_AFTER


def shown_state(job: BackgroundJob, now: datetime, alive: bool = False) -> tuple[str, Optional[str]]:
    """(state, error) as the owner sees them: a stale unfinished job reads as failed, interrupted.

    `alive`: the reader knows the job is running right now (in its own process), stale or not.
    """
    if not alive and is_stale(job, now):
        return FAILED, INTERRUPTED
    return job.state, job.error


def percent(done: int, total: int) -> int:
    """Progress in whole percent (0-100)."""
    if total <= 0:
        return 0
    return max(0, min(100, done * 100 // total))


def job_json(job: BackgroundJob, now: datetime, download_url: Optional[str],
             done: Optional[int] = None, alive: bool = False) -> dict[str, Any]:
    """The job as the API and the polling page read it; `done` overrides the stored count when fresher."""
    state, error = shown_state(job, now, alive)
    count = job.done if done is None else max(done, job.done)
    total = job.total
    return {
        "id": job.id,
        "kind": job.kind,
        "kind_label": KIND_LABELS.get(job.kind, job.kind),
        "state": state,
        "state_label": STATE_LABELS.get(state, state),
        "done": count,
        "total": total,
        "percent": 100 if state == DONE else percent(count, total),
        "download_url": download_url if state == DONE and job.result_path else None,
        "summary": brief_summary(job) if state == DONE else None,
        "error": error if state == FAILED else None,
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
    }


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat(timespec="seconds") + "Z" if value else None
