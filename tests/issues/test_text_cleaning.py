"""Text entered on the pages and through the API is stored without invisible control characters
(ASVS 5.1.3): one vertical tab in a progress report used to break every .xlsx export."""
from __future__ import annotations

from sqlalchemy import select

from tests.support.api import api_for
from tracker.core.extensions import db
from tracker.issues.models import Issue, ProgressReport


def _reports(issue_id: int) -> list[str]:
    return list(db.session.scalars(select(ProgressReport.text).where(ProgressReport.issue_id == issue_id)
                                   .order_by(ProgressReport.id)))


def test_a_progress_report_from_the_page_is_stored_cleaned(client, login_as, world):
    login_as(world["staff"])
    issue = world["issue"]
    response = client.post(f"/issues/{issue.id}/progress", data={
        "period": "2020-07", "percent": "60", "text": "已完成\u000b排查\r\n下一步\x00整改\u202e"})
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    assert _reports(issue.id) == ["已完成排查\n下一步整改"]
    assert client.get("/issues/export.xlsx").status_code == 200


def test_a_progress_report_through_the_api_is_stored_cleaned(client, world):
    api = api_for(client, world["staff"])
    issue = world["issue"]
    response = api.post(f"/issues/{issue.id}/progress",
                        json={"period": "2020-07", "percent": 60, "text": "已完成\u000b排查\ud800\ufffe"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _reports(issue.id) == ["已完成排查"]
    assert api.get("/issues/export.xlsx").status_code == 200


def test_an_issue_registered_through_the_api_is_stored_cleaned(client, world):
    api = api_for(client, world["supervisor"])
    response = api.post("/issues", json={
        "round_id": world["round"].id, "code": "Z-002\u000b", "title": "河道\x1f整治", "description": "描述\x0c内容",
        "lead_unit": "LEAD", "cooperating_units": ["COOP\x00"], "deadline": "2020-12-31",
        "category": "feedback", "rectify_type": "deadline"})
    assert response.status_code == 201, response.get_data(as_text=True)
    issue = db.session.get(Issue, response.get_json()["id"])
    assert (issue.code, issue.title, issue.description) == ("Z-002", "河道整治", "描述内容")


def test_an_issue_registered_on_the_page_is_stored_cleaned(client, login_as, world):
    login_as(world["supervisor"])
    response = client.post("/issues/new", data={
        "round_id": str(world["round"].id), "code": "Z-003", "title": "扬尘\u000b管控\n", "description": "一\r\n二\x08",
        "category": "feedback", "rectify_type": "deadline", "deadline": "2020-12-31", "lead_unit": "LEAD"})
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    issue = db.session.scalar(select(Issue).where(Issue.code == "Z-003"))
    assert issue is not None and (issue.title, issue.description) == ("扬尘管控", "一\n二")
