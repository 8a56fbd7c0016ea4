"""The ledger import preview of a large file runs as a background job (台账导入预览) and shows the same page."""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

# The fixtures `bg` and `world` are shared with the other background job tests (tests/ledger/conftest.py).
from tests.support.api import token_for
from tests.support.background_jobs import ROUND, SHORT_HEADER, direct_export, issue_counts, job_id_of, job_row
from tracker.core import tasks as jobs
from tracker.core import tasks as runner
from tracker.core.extensions import db
from tracker.core.models import BackgroundJob
from tracker.issues import services as issue_service
from tracker.issues.models import Issue
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import
from tracker.ledger import tasks as ledger_tasks

HEADER = (*SHORT_HEADER, "状态")
# Two errors in one row, a duplicate code, a new issue in another state, an update whose state differs.
WITH_ERRORS = [
    ["N-01", ROUND, "反馈问题", "新问题一", "市生态环境分局", "市住建局", "2020年底前", "限期整改", "整改中"],
    ["N-02", ROUND, "反馈问题", "新问题二", "市生太环境分局", "", "明年", "立行立改", "已销号"],
    ["A-02", ROUND, "反馈问题", "改过的描述", "市生态环境分局", "", "2020-09-30", "限期整改", "待验收"],
    ["N-01", ROUND, "反馈问题", "重复的编号", "市住建局", "", "2021-03-31", "限期整改", "整改中"],
]
SECTIONS = (r'<p id="import-summary">.*?</p>', r'<table[^>]*id="import-errors">.*?</table>',
            r'<table[^>]*id="import-warnings">.*?</table>', r'<table[^>]*id="import-rows">.*?</table>',
            r'<form[^>]*id="import-confirm">')


def ledger_bytes(rows: list[list], header=HEADER) -> bytes:
    """A ledger workbook (normal mode, so its sheet knows its dimensions)."""
    wb = openpyxl.Workbook()
    wb.active.append(list(header))
    for row in rows:
        wb.active.append(row)
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


def upload(client, data: bytes) -> str:
    """Upload a ledger through the page; return its sha256."""
    response = client.post("/issues/import", data={"round_id": "", "file": (io.BytesIO(data), "台账.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].split("/issues/import/")[1].split("?")[0]


def sections(html: str) -> list[str]:
    """The parts of the preview page that must not depend on where the preview came from."""
    return [" ".join(re.findall(pattern, html, re.S)) for pattern in SECTIONS]


def job_count() -> int:
    """Background jobs recorded."""
    return db.session.scalar(select(func.count(BackgroundJob.id)))


@pytest.fixture
def big(bg):
    """Every kept file counts as large: its preview is a (here inline-run) background job."""
    bg.config["PREVIEW_INLINE_MAX_BYTES"] = 1
    return bg


def preview_by_job(client, sha256: str) -> tuple[int, str]:
    """Open the preview of a large file: the new job's page, then the preview it links to."""
    job_id = job_id_of(client.get(f"/issues/import/{sha256}"))
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in page and 'id="job-preview"' in page and "查看预览" in page
    assert f'href="/issues/import/{sha256}"' in page
    response = client.get(f"/issues/import/{sha256}")
    assert response.status_code == 200
    return job_id, response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["with_errors", "round_trip"])
def test_a_large_file_is_previewed_by_a_job_showing_what_the_inline_preview_shows(kind, big, client, login_as,
                                                                                 world):
    login_as(world["supervisor"])
    data = ledger_bytes(WITH_ERRORS) if kind == "with_errors" else direct_export(client, big, "/issues/export.xlsx")
    sha256 = upload(client, data)
    big.config["PREVIEW_INLINE_MAX_BYTES"] = len(data)
    inline = client.get(f"/issues/import/{sha256}").get_data(as_text=True)
    assert job_count() == 0 and 'id="import-preview-job"' not in inline

    big.config["PREVIEW_INLINE_MAX_BYTES"] = len(data) - 1
    job_id, stored = preview_by_job(client, sha256)
    assert sections(stored) == sections(inline)
    assert 'id="import-preview-job"' in stored and f"任务 {job_id}" in stored
    job = job_row(job_id)
    rows = 4 if kind == "with_errors" else 5
    assert (job.kind, job.state, job.done, job.total, job.user_id) == ("ledger_preview", "done", rows, rows,
                                                                      world["supervisor"].id)
    assert jobs.params(job) == {"sha256": sha256, "round_id": None}
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["message"] == f"已检查 {rows} / {rows} 行" and status["kind_label"] == "台账导入预览"
    if kind == "with_errors":
        assert "共 4 行:新登记 3 个,更新 1 个,无变化 0 个。" in stored
        assert "台账有 3 处错误" in stored and "未找到单位「市生太环境分局」" in stored
        assert "无法识别整改时限「明年」" in stored and "问题编号「N-01」与第 2 行重复。" in stored
        assert "状态不通过导入修改" in stored and 'id="import-confirm"' not in stored
        # The status JSON carries the counts only, never the stored rows and errors.
        assert status["summary"] == {"rows": 4, "create": 3, "update": 1, "unchanged": 0, "errors": 3,
                                     "warnings": 2}
    else:
        assert "共 5 行:新登记 0 个,更新 0 个,无变化 5 个。" in stored and 'id="import-errors"' not in stored
        assert 'id="import-confirm"' in stored and 'name="rows" type="hidden" value="5"' in stored


def test_confirming_a_stored_preview_still_reads_and_checks_the_file(big, client, login_as, world):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    preview_by_job(client, sha256)
    before = issue_counts()
    # Posted as if the preview had been clean and small (applied here, not by a job).
    response = client.post(f"/issues/import/{sha256}", data={"round_id": "", "rows": "1"})
    assert response.status_code == 302 and "/jobs/" not in response.headers["Location"]
    assert "台账有 3 处错误" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert issue_counts() == before


def test_a_finished_preview_is_reused_until_the_issues_change(big, client, clock, login_as, world):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    first, _page = preview_by_job(client, sha256)
    for _ in range(2):
        response = client.get(f"/issues/import/{sha256}")
        assert response.status_code == 200 and f"任务 {first}" in response.get_data(as_text=True)
    assert job_count() == 1

    # Another round is another preview.
    other_round = client.get(f"/issues/import/{sha256}?round_id={world['round'].id}")
    assert job_id_of(other_round) != first and job_count() == 2

    # A changed issue (its timeline records it) makes the stored preview out of date.
    a2 = db.session.scalar(select(Issue).where(Issue.code == "A-02"))
    issue_service.update_issue(db.session, world["supervisor"], clock(), a2, {"description": "改过的描述"},
                               date(2020, 7, 15))
    db.session.commit()
    second, page = preview_by_job(client, sha256)
    assert second != first and "共 4 行:新登记 3 个,更新 0 个,无变化 1 个。" in page


def test_a_failed_preview_job_is_started_again(big, client, login_as, world, monkeypatch):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))

    def broken(*args, **kwargs):
        raise OSError("disk error")

    monkeypatch.setattr(ledger_import, "read_ledger", broken)
    failed = job_id_of(client.get(f"/issues/import/{sha256}"))
    assert (job_row(failed).state, job_row(failed).error) == ("failed", runner.FAILED_MESSAGE)
    page = client.get(f"/jobs/{failed}").get_data(as_text=True)
    assert 'id="job-error"' in page and "任务出错" in page and 'id="job-preview"' not in page
    monkeypatch.undo()
    second, page = preview_by_job(client, sha256)
    assert second != failed and "台账有 3 处错误" in page


def test_a_refused_preview_job_says_why(big, client, login_as, world):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes([["N-01", "新问题"]], header=("问题编号", "问题描述")))
    job_id = job_id_of(client.get(f"/issues/import/{sha256}"))
    job = job_row(job_id)
    assert job.state == "failed" and "台账缺少必需的列" in job.error
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "台账缺少必需的列" in page and "未写入任何数据" in page and 'href="/issues/import"' in page


def test_a_running_preview_job_is_followed_not_started_twice(big, client, clock, login_as, world, session):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    job, new = ledger_tasks.preview_job(session, world["supervisor"], clock(), big.config["UPLOAD_DIR"], sha256, None)
    assert new
    job.state, job.started_at, job.heartbeat_at, job.total, job.done = "running", clock(), clock(), 4, 1
    session.commit()
    assert job_id_of(client.get(f"/issues/import/{sha256}")) == job.id and job_count() == 1
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "进行中" in page and "已检查 1 / 4 行" in page and 'id="job-preview"' not in page


def test_another_user_gets_a_job_of_their_own_and_never_sees_the_first(big, client, login_as, world):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    first, _page = preview_by_job(client, sha256)
    client.post("/logout")

    login_as(world["other_supervisor"])
    for path in (f"/jobs/{first}", f"/jobs/{first}/status"):
        response = client.get(path)
        assert response.status_code == 404 and "市生太环境分局" not in response.get_data(as_text=True)
    second = job_id_of(client.get(f"/issues/import/{sha256}"))
    assert second != first and job_row(second).user_id == world["other_supervisor"].id
    client.post("/logout")

    login_as(world["lead_staff"])
    assert client.get(f"/issues/import/{sha256}").status_code == 403
    assert job_count() == 2


def test_a_missing_file_gives_no_job(big, client, login_as, world):
    login_as(world["supervisor"])
    assert client.get("/issues/import/" + "0" * 64).status_code == 404
    assert job_count() == 0


def test_a_small_file_is_still_previewed_inline(bg, client, login_as, world):
    assert bg.config["PREVIEW_INLINE_MAX_BYTES"] == 512 * 1024
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    page = client.get(f"/issues/import/{sha256}").get_data(as_text=True)
    assert "台账有 3 处错误" in page and 'id="import-preview-job"' not in page
    assert job_count() == 0


def test_a_preview_job_keeps_the_first_errors_and_says_how_many_there_are(big, client, login_as, world):
    big.config["PREVIEW_MESSAGES_MAX"] = 2
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    job_id, page = preview_by_job(client, sha256)
    assert "台账有 3 处错误" in page and "共 3 处错误,仅显示前 2 条。" in page
    assert len(re.findall(r"<tr><td>\d+</td>", page.split('id="import-errors"')[1].split("</table>")[0])) == 2
    assert "共 2 条提示" not in page and 'id="import-warnings-capped"' not in page
    stored = jobs.summary(job_row(job_id))["preview"]
    assert (len(stored["errors"]), stored["error_count"], len(stored["warnings"])) == (2, 3, 2)


def test_preview_progress_is_written_with_the_rows_to_read(big, client, login_as, world, monkeypatch):
    monkeypatch.setattr(ledger_import, "PROGRESS_EVERY", 1)
    written = []
    real_write = runner.write

    def recording(engine, job_id, only_state=None, **values):
        written.append(dict(values))
        return real_write(engine, job_id, only_state, **values)

    monkeypatch.setattr(runner, "write", recording)
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes([*WITH_ERRORS, [None] * len(HEADER), *WITH_ERRORS[:1]]))
    job_id_of(client.get(f"/issues/import/{sha256}"))
    progress = [w for w in written if "state" not in w]
    # The sheet's dimension says 6 rows after the header (one of them blank); 5 are ledger rows.
    assert [(w["done"], w.get("total")) for w in progress] == [(0, 6), (1, None), (2, None), (3, None),
                                                               (4, None), (5, None), (6, None), (6, None)]
    assert written[-1]["state"] == "done" and written[-1]["done"] == written[-1]["total"] == 5


def test_read_ledger_reports_progress_without_changing_its_result(app, session, world):
    data = ledger_bytes(WITH_ERRORS)
    calls = []
    with_progress = ledger_import.read_ledger(io.BytesIO(data), session, progress=lambda *a: calls.append(a))
    plain = ledger_import.read_ledger(io.BytesIO(data), session)
    assert with_progress == plain
    assert calls == [(0, 4), (4, 4)]  # PROGRESS_EVERY is far away: the start and the end only


def test_the_row_estimate_of_a_file_without_dimensions_counts_its_rows(app, session, world):
    # The tracker's own export is written in write-only mode: no dimension in the sheet.
    rows = [["", f"A-0{n}", ROUND, "反馈问题", "t", "d", "", "", "市住建局", "", "", "", "2020-12-31"]
            for n in range(7)]
    stream = io.BytesIO()
    ledger.write_xlsx(rows, stream)
    stream.seek(0)
    assert openpyxl.load_workbook(io.BytesIO(stream.getvalue()), read_only=True).active.max_row is None
    calls = []
    ledger_import.read_ledger(stream, session, progress=lambda *a: calls.append(a))
    assert calls[0] == (0, 7) and calls[-1] == (7, 7)


def test_a_preview_job_for_a_user_who_can_no_longer_import_fails(big, client, clock, login_as, world, session):
    login_as(world["supervisor"])
    sha256 = upload(client, ledger_bytes(WITH_ERRORS))
    job, _new = ledger_tasks.preview_job(session, world["supervisor"], clock(), big.config["UPLOAD_DIR"], sha256, None)
    world["supervisor"].role = "leader"
    session.commit()
    runner.run_job(big, job.id)
    job = job_row(job.id)
    assert job.state == "failed" and job.summary is None and "只有督察整改办" in job.error
    assert job.finished_at == datetime(2020, 7, 15, 2, 0)


# --- API: a large ledger is previewed and imported by jobs too ------------------------------------

def _api_post(client, token: str, data: bytes, confirm: str = "false"):
    return client.post("/api/v1/imports/ledger", headers={"Authorization": f"Bearer {token}"},
                       data={"file": (io.BytesIO(data), "台账.xlsx"), "confirm": confirm},
                       content_type="multipart/form-data")


def test_api_previews_a_large_ledger_by_a_job_then_answers_from_it(big, client, world):
    token = token_for(client, world["supervisor"])
    data = ledger_bytes(WITH_ERRORS)
    big.config["PREVIEW_INLINE_MAX_BYTES"] = len(data)
    inline = _api_post(client, token, data)
    assert inline.status_code == 200 and job_count() == 0
    big.config["PREVIEW_INLINE_MAX_BYTES"] = len(data) - 1
    before = issue_counts()

    accepted = _api_post(client, token, data)

    assert accepted.status_code == 202
    job_id = accepted.get_json()["id"]
    assert accepted.headers["Location"] == f"/api/v1/jobs/{job_id}"
    polled = client.get(accepted.headers["Location"], headers={"Authorization": f"Bearer {token}"}).get_json()
    assert polled["state"] == "done" and polled["summary"]["errors"] == 3
    # The same file again: the finished preview answers at once, as the inline one did.
    stored = _api_post(client, token, data)
    assert stored.status_code == 200 and job_count() == 1
    body, expected = stored.get_json(), inline.get_json()
    assert body.pop("error_count") == 3 and body.pop("warning_count") == len(expected["warnings"])
    assert body == expected
    assert issue_counts() == before


def test_api_imports_a_large_ledger_by_a_job(big, client, world):
    token = token_for(client, world["supervisor"])
    data = ledger_bytes([["N-09", ROUND, "反馈问题", "新问题", "市生态环境分局", "", "2020年底前", "限期整改",
                          "整改中"]])
    big.config["PREVIEW_INLINE_MAX_BYTES"] = len(data) - 1

    accepted = _api_post(client, token, data, confirm="true")

    assert accepted.status_code == 202
    job = job_row(accepted.get_json()["id"])
    assert (job.kind, job.state) == ("ledger_import", "done")
    assert db.session.scalar(select(func.count(Issue.id)).where(Issue.code == "N-09")) == 1


def test_api_refuses_a_large_file_that_is_no_workbook_before_keeping_it(big, client, world):
    token = token_for(client, world["supervisor"])
    response = _api_post(client, token, b"not a workbook at all" * 10, confirm="true")
    assert response.status_code == 422 and "Excel 工作簿" in response.get_json()["error"]
    assert job_count() == 0


def test_api_confirm_of_many_rows_in_a_small_file_runs_as_a_job(bg, client, world):
    token = token_for(client, world["supervisor"])
    rows = [[f"N-1{i}", ROUND, "反馈问题", f"新问题{i}", "市生态环境分局", "", "2020年底前", "限期整改", "整改中"]
            for i in range(3)]  # more than the fixture's IMPORT_INLINE_MAX_ROWS (2)

    accepted = _api_post(client, token, ledger_bytes(rows), confirm="true")

    assert accepted.status_code == 202
    job = job_row(accepted.get_json()["id"])
    assert (job.kind, job.state) == ("ledger_import", "done")
    assert db.session.scalar(select(func.count(Issue.id)).where(Issue.code.like("N-1%"))) == 3
