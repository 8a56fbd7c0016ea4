"""Helpers for API tests: a client with a bearer token, sign-in for a token, the refusal shape,
and an issue's state as another connection sees it (what a refusal must leave alone)."""
from __future__ import annotations

import io
from typing import Any, Optional

from sqlalchemy import func, select

from tests.support.factories import PASSWORD, PDF_BYTES, totp_code
from tracker.accounts.models import User
from tracker.core.extensions import db
from tracker.issues.models import Attachment, Event, Issue, ProgressReport

ISSUE_KEYS = {"id", "code", "title", "round_id", "category", "rectify_type", "deadline", "lead_unit",
              "cooperating_units", "state", "progress_percent", "overdue", "days_overdue", "lagging", "light",
              "merged_into", "version", "created_at", "updated_at"}
PREFIX = "/api/v1"


class Api:
    """The test client calling the API with one user's bearer token."""

    def __init__(self, client, token: Optional[str]):
        self.client = client
        self.token = token

    def _headers(self, extra: Optional[dict] = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, path: str, **kw):
        return self.client.get(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, **kw):
        return self.client.post(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, **kw):
        return self.client.patch(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def upload(self, issue_id: int, content: bytes = PDF_BYTES, name: str = "整改证明.pdf"):
        return self.post(f"/issues/{issue_id}/attachments", data={"file": (io.BytesIO(content), name)},
                         content_type="multipart/form-data")

    def act(self, issue_id: int, **body):
        return self.post(f"/issues/{issue_id}/transitions", json=body)


def token_for(client, user: User | str, password: str = PASSWORD) -> str:
    """Sign in through POST /auth/token and return the token."""
    name = user if isinstance(user, str) else user.username
    body = {"username": name, "password": password}
    found = db.session.scalar(select(User).where(User.username == name))
    if found is not None and found.totp_secret:
        # The code at the injected clock's time; the step last used is forgotten first (see
        # tests.support.web.answer_second_step).
        found.totp_last_step = None
        db.session.commit()
        body["totp"] = totp_code(found.totp_secret)
    response = client.post(f"{PREFIX}/auth/token", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["token"]


def api_for(client, user: User) -> Api:
    """An API caller signed in as `user` (commits pending test data first)."""
    db.session.commit()
    return Api(client, token_for(client, user))


def snapshot(issue_id: int) -> dict[str, Any]:
    """The issue's state as another connection sees it: what a refusal must leave alone."""
    with db.engine.connect() as conn:
        state, version, progress, summary, verified_by, merged_into = conn.execute(
            select(Issue.state, Issue.version, Issue.progress_percent, Issue.summary, Issue.verified_by_id,
                   Issue.merged_into_id).where(Issue.id == issue_id)
        ).one()

        def count(model) -> int:
            return conn.scalar(select(func.count()).select_from(model).where(model.issue_id == issue_id))

        return {
            "state": state, "version": version, "progress": progress, "summary": summary,
            "verified_by": verified_by, "merged_into": merged_into,
            "events": count(Event), "reports": count(ProgressReport), "attachments": count(Attachment),
        }


def rows(model) -> int:
    """How many rows a table holds, read on another connection."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def assert_refused(response, status: int, fragment: str = "") -> str:
    """The response is a refusal of the given status in the API's error shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"], body
    assert fragment in body["error"], body["error"]
    return body["error"]
