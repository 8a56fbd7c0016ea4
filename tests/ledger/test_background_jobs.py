"""Background jobs (后台任务): large exports and imports run as jobs with progress, for their owner only."""
from __future__ import annotations

import io
import logging
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.support.api import PREFIX, token_for
from tests.support.background_jobs import ROUND, SHORT_HEADER, direct_export, issue_counts, job_id_of, job_row
from tracker.core import tasks as jobs
from tracker.core import tasks as runner
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.issues.models import Issue
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import
from tracker.ledger import tasks as ledger_tasks

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_xlsx(data: bytes) -> list[list]:
    """Every row of the workbook's only sheet, header first."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [[cell.value for cell in row] for row in wb.active.iter_rows()]


def workbook(rows: list[list]) -> io.BytesIO:
    """A small ledger workbook with the short header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(SHORT_HEADER))
    for row in rows:
        ws.append(row)
    stream = io.BytesIO()
    wb.save(stream)
    stream.seek(0)
    return stream


# --- export ----------------------------------------------------------------------

def test_small_export_still_streams_and_records_no_job(bg, client, login_as, world):
    bg.config["EXPORT_INLINE_MAX_ROWS"] = 5
    login_as(world["supervisor"])
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert len(read_xlsx(response.data)) == 6
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 0


def test_large_export_becomes_a_job_with_the_same_rows_as_the_direct_export(bg, client, login_as, world):
    login_as(world["supervisor"])
    path = f"/issues/export.xlsx?round={world['round'].id}&sort=code"
    direct = direct_export(client, bg, path)

    job_id = job_id_of(client.get(path))
    job = job_row(job_id)
    assert (job.kind, job.state, job.done, job.total, job.user_id) == ("ledger_export", "done", 5, 5,
                                                                      world["supervisor"].id)
    assert jobs.params(job)["filters"]["round_id"] == world["round"].id and jobs.params(job)["sort"] == "code"
    # The file's name carries a random token besides the id: nobody can guess another's.
    assert re.fullmatch(rf"exports/{job_id}-[A-Za-z0-9_-]{{30,}}\.xlsx", job.result_path)
    assert not list((Path(bg.config["UPLOAD_DIR"]) / "exports").glob("*.part"))

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in page and "已处理 5 / 5 行" in page and 'id="job-download"' in page
    assert "jobs.js" not in page and "http-equiv=\"refresh\"" not in page  # nothing left to follow

    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.mimetype == XLSX
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert read_xlsx(download.data) == read_xlsx(direct)
    assert [row[1] for row in read_xlsx(download.data)[1:]] == ["A-01", "A-02", "A-03", "C-01", "C-02"]


def test_large_csv_export_job_gives_the_same_bytes(bg, client, login_as, world):
    login_as(world["supervisor"])
    direct = direct_export(client, bg, "/issues/export.csv?sort=-deadline")
    job_id = job_id_of(client.get("/issues/export.csv?sort=-deadline"))
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.data == direct
    assert job_row(job_id).download_name == "整改台账-2020-07-15.csv"


def test_the_job_exports_in_its_owners_scope(bg, client, login_as, world):
    login_as(world["lead_staff"])
    direct = direct_export(client, bg, "/issues/export.xlsx?sort=code")
    job_id = job_id_of(client.get("/issues/export.xlsx?sort=code"))
    rows = read_xlsx(client.get(f"/jobs/{job_id}/download").data)
    assert rows == read_xlsx(direct)
    assert [row[1] for row in rows[1:]] == ["A-01", "A-02", "A-03"]  # never COOP's own issues


def test_progress_is_written_every_batch(bg, client, login_as, world, monkeypatch):
    monkeypatch.setattr(ledger, "PROGRESS_EVERY", 2)
    written = []
    real_write = runner.write

    def recording(engine, job_id, only_state=None, **values):
        written.append(dict(values))
        return real_write(engine, job_id, only_state, **values)

    monkeypatch.setattr(runner, "write", recording)
    login_as(world["supervisor"])
    job_id = job_id_of(client.get("/issues/export.xlsx"))
    assert written[0]["state"] == "running"
    progress = [w for w in written if "state" not in w]
    assert [w["done"] for w in progress] == [2, 4, 5]
    assert all(w["heartbeat_at"] == datetime(2020, 7, 15, 2, 0) for w in progress)
    assert written[-1]["state"] == "done" and written[-1]["done"] == written[-1]["total"] == 5

    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert {k: status[k] for k in ("state", "done", "total", "percent", "error", "summary")} == {
        "state": "done", "done": 5, "total": 5, "percent": 100, "error": None, "summary": None}
    assert status["download_url"] == f"/jobs/{job_id}/download"
    assert status["message"] == "已处理 5 / 5 行"


def test_api_export_answers_202_with_the_job_and_its_download(bg, client, world):
    token = token_for(client, world["supervisor"])
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"{PREFIX}/issues/export.xlsx", headers=headers)
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"{PREFIX}/jobs/{body['id']}"
    status = client.get(response.headers["Location"], headers=headers).get_json()
    assert (status["state"], status["done"], status["total"], status["percent"]) == ("done", 5, 5, 100)
    assert status["download_url"] == f"{PREFIX}/jobs/{body['id']}/download"
    download = client.get(status["download_url"], headers=headers)
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment;")
    assert len(read_xlsx(download.data)) == 6
    assert client.get(response.headers["Location"]).status_code == 401  # the API takes no cookie


def test_another_user_can_neither_see_nor_download_a_job(bg, app, client, login_as, world, caplog):
    login_as(world["supervisor"])
    job_id = job_id_of(client.get("/issues/export.xlsx"))
    client.post("/logout")
    login_as(world["other_supervisor"])
    caplog.set_level(logging.WARNING)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/status", f"/jobs/{job_id}/download"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"A-01" not in response.data
    assert f"refused GET /jobs/{job_id}/download for super2" in caplog.text
    assert f'data-job-id="{job_id}"' not in client.get("/jobs/").get_data(as_text=True)

    token = token_for(client, world["other_supervisor"])
    for path in (f"{PREFIX}/jobs/{job_id}", f"{PREFIX}/jobs/{job_id}/download"):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert f"refused GET {PREFIX}/jobs/{job_id}" in caplog.text
    assert client.get("/jobs/999999").status_code == 404


def test_the_job_list_shows_the_users_recent_jobs(bg, client, login_as, world):
    login_as(world["supervisor"])
    first = job_id_of(client.get("/issues/export.xlsx"))
    second = job_id_of(client.get("/issues/export.csv"))
    page = client.get("/jobs/").get_data(as_text=True)
    assert page.index(f'data-job-id="{second}"') < page.index(f'data-job-id="{first}"')
    assert "台账导出" in page and f"/jobs/{first}/download" in page


def test_a_failed_export_shows_its_error_and_leaves_no_file(bg, client, login_as, world, monkeypatch):
    def broken(rows, stream, progress=None):
        stream.write(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setitem(ledger_tasks.WRITERS, "xlsx", broken)
    login_as(world["supervisor"])
    job_id = job_id_of(client.get("/issues/export.xlsx"))
    job = job_row(job_id)
    assert (job.state, job.error, job.result_path) == ("failed", runner.FAILED_MESSAGE, None)
    assert job.finished_at is not None
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-error"' in page and "任务出错" in page and 'id="job-download"' not in page
    assert client.get(f"/jobs/{job_id}/download").status_code == 404
    assert not list((Path(client.application.config["UPLOAD_DIR"]) / "exports").glob("*"))


def test_old_export_files_are_removed_when_an_export_finishes(bg, client, login_as, world):
    folder = Path(bg.config["UPLOAD_DIR"]) / "exports"
    folder.mkdir(parents=True)
    old, recent = folder / "1-oldtoken.xlsx", folder / "2-recenttoken.csv"
    old.write_bytes(b"old")
    recent.write_bytes(b"recent")
    eight_days_ago = old.stat().st_mtime - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    login_as(world["supervisor"])
    job_id = job_id_of(client.get("/issues/export.xlsx"))
    assert not old.exists() and recent.exists()
    assert (Path(bg.config["UPLOAD_DIR"]) / job_row(job_id).result_path).is_file()


def test_a_job_whose_heartbeat_is_stale_is_shown_as_failed(bg, client, clock, login_as, world, session):
    job = ledger_tasks.create_export_job(session, world["supervisor"], clock(), "xlsx", IssueFilters(), "code",
                                 date(2020, 7, 15), 5)
    job.state, job.started_at, job.heartbeat_at = "running", clock(), clock()
    session.commit()
    job_id = job.id
    login_as(world["supervisor"])

    clock.now += timedelta(minutes=9)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "进行中" in page and "已处理 0 / 5 行" in page
    # Followed by polling with JavaScript, else by reloading itself.
    assert 'src="/static/jobs.js"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert f'data-status-url="/jobs/{job_id}/status"' in page

    job = job_row(job_id)
    job.kind = "ledger_import"
    db.session.commit()
    assert client.get(f"/jobs/{job_id}/status").get_json()["message"] == "已处理 0 / 5 行(正在读取并检查台账)"

    clock.now += timedelta(minutes=2)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "任务中断,请重新发起" in page and 'id="job-error"' in page and "jobs.js" not in page
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert (status["state"], status["error"]) == ("failed", jobs.INTERRUPTED)
    assert client.get(f"/jobs/{job_id}/download").status_code == 404


def test_jobs_js_is_served_as_a_static_file(client):
    response = client.get("/static/jobs.js")
    assert response.status_code == 200 and b"statusUrl" in response.data
    response.close()


# --- import ----------------------------------------------------------------------

LEDGER = [
    ["N-01", ROUND, "反馈问题", "新问题一", "市生态环境分局", "市住建局", "2020年底前", "限期整改"],
    ["N-02", ROUND, "反馈问题", "新问题二", "市住建局", "", "2021-03-31", "立行立改"],
    ["A-02", ROUND, "反馈问题", "改过的描述", "市生态环境分局", "市水务局", "2020-09-30", "限期整改"],
]


def upload(client, rows) -> str:
    """Upload a ledger through the page; return its sha256."""
    response = client.post("/issues/import", data={"round_id": "", "file": (workbook(rows), "台账.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].split("/issues/import/")[1].split("?")[0]


@pytest.mark.parametrize("mode", ["inline", "job"])
def test_import_job_creates_and_updates_exactly_as_inline(mode, bg, client, login_as, world):
    if mode == "inline":
        bg.config["IMPORT_INLINE_MAX_ROWS"] = 100
    login_as(world["supervisor"])
    sha256 = upload(client, LEDGER)
    preview = client.get(f"/issues/import/{sha256}").get_data(as_text=True)
    assert 'name="rows" type="hidden" value="3"' in preview
    before = issue_counts()
    response = client.post(f"/issues/import/{sha256}", data={"round_id": "", "rows": "3"})
    assert response.status_code == 302
    if mode == "job":
        job_id = job_id_of(response)
        job = job_row(job_id)
        assert (job.kind, job.state, job.done, job.total) == ("ledger_import", "done", 3, 3)
        assert jobs.summary(job) == {"created": 2, "updated": 1}
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert "新登记 2 个问题,更新 1 个问题" in page and 'href="/issues/"' in page
    else:
        assert response.headers["Location"].endswith("/issues/")
        assert db.session.scalar(select(func.count(BackgroundJob.id))) == 0

    # The same outcome either way: two new issues with their units, one updated, an event each.
    after = issue_counts()
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (2, 2, 3)
    db.session.expire_all()
    a2 = db.session.scalar(select(Issue).where(Issue.code == "A-02"))
    assert a2.description == "改过的描述" and [u.unit_id for u in a2.cooperating] != []
    n2 = db.session.scalar(select(Issue).where(Issue.code == "N-02"))
    assert (n2.rectify_type, n2.deadline, n2.lead_unit_id) == ("immediate", date(2021, 3, 31), world["coop"].id)


def test_a_failing_import_job_writes_nothing(bg, client, login_as, world, monkeypatch):
    monkeypatch.setattr(ledger_import, "PROGRESS_EVERY", 1)
    real_create = ledger_import.issue_service.create_issue
    calls = []

    def create_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("connection lost")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(ledger_import.issue_service, "create_issue", create_then_fail)
    login_as(world["supervisor"])
    sha256 = upload(client, LEDGER)
    before = issue_counts()
    job_id = job_id_of(client.post(f"/issues/import/{sha256}", data={"round_id": "", "rows": "3"}))
    assert len(calls) == 2  # the first issue was written (flushed) before the failure
    job = job_row(job_id)
    assert (job.state, job.error, job.summary) == ("failed", runner.FAILED_MESSAGE, None)
    assert issue_counts() == before
    assert db.session.scalar(select(func.count(Issue.id)).where(Issue.code == "N-01")) == 0
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "任务出错" in page and "未写入任何数据" in page


def test_an_import_refused_while_running_says_why_and_writes_nothing(bg, client, login_as, world, session):
    login_as(world["supervisor"])
    sha256 = upload(client, LEDGER)
    # Closed between the preview and the job: the job's own check refuses the whole ledger.
    a2 = session.scalar(select(Issue).where(Issue.code == "A-02"))
    a2.state = "closed"
    session.commit()
    before = issue_counts()
    job_id = job_id_of(client.post(f"/issues/import/{sha256}", data={"round_id": "", "rows": "3"}))
    job = job_row(job_id)
    assert job.state == "failed" and "台账有 1 处错误" in job.error
    assert issue_counts() == before


def test_only_the_office_can_start_an_import_job(bg, client, login_as, world):
    login_as(world["supervisor"])
    sha256 = upload(client, LEDGER)
    client.post("/logout")
    login_as(world["lead_staff"])
    before = issue_counts()
    response = client.post(f"/issues/import/{sha256}", data={"round_id": "", "rows": "3"})
    # Refused up front, as every page refuses a role (403), not sent back to the preview.
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 0
    assert issue_counts() == before


# --- the real worker thread -------------------------------------------------------

def test_the_executor_runs_the_job_in_its_own_thread(bg, client, login_as, world, monkeypatch):
    bg.config["BACKGROUND_JOBS_INLINE"] = False
    futures = []
    real_submit = runner.submit

    def keep(app, job_id):
        future = real_submit(app, job_id)
        futures.append(future)
        return future

    monkeypatch.setattr(runner, "submit", keep)
    login_as(world["supervisor"])
    direct = direct_export(client, bg, "/issues/export.xlsx?sort=code")
    job_id = job_id_of(client.get("/issues/export.xlsx?sort=code"))
    assert len(futures) == 1
    assert futures[0].result(timeout=60) is None  # wait for the worker thread, never sleep
    assert runner.live_done(job_id) is None
    job = job_row(job_id)
    assert (job.state, job.done, job.total) == ("done", 5, 5)
    assert read_xlsx(client.get(f"/jobs/{job_id}/download").data) == read_xlsx(direct)
