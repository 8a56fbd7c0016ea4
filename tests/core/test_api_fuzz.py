"""Schemathesis over the whole of /api/v1: every operation the live document describes, called with
schema-valid and schema-violating requests, as a supervisor (督察整改办) and as a unit clerk.

The document is read from the app itself (`GET /api/v1/openapi.json` through its WSGI interface), so
an operation added to any domain is fuzzed with no change here. The database is seeded with a few
units, rounds and issues (some the clerk's unit leads, some it does not) so that ids in paths and
bodies sometimes hit real rows.

Checks, and why each is on:
- not_a_server_error: no request, however odd, may answer 5xx (ASVS 13.2.2).
- status_code_conformance: every status answered is documented on its operation.
- content_type_conformance, response_schema_conformance: answers are what the document says.
- negative_data_rejection: a request the document forbids answers 4xx, never 2xx.
- positive_data_acceptance: a request the document allows is not refused as malformed (400); a
  documented 401/403/404/409 is an answer about the caller or the data, not the request, and so are
  a 422 (the services check values and references beyond any schema: "请选择存在的督察轮次") and a
  400 naming data that does not exist ("督察轮次 202 不存在", a month not yet begun).

Reproducible and bounded: `derandomize=True` (the same cases on every run), no deadline (CI machines
are slow and shared), no shrinking, and `MAX_EXAMPLES` cases per operation and generation mode.
Background jobs run inline (no worker threads outliving an example).

Authentication is schemathesis's auth provider (`Caller`), so the negative cases that leave out or
spoil the Authorization header keep it that way. A token the fuzzer revoked (DELETE /auth/token, or
any operation that revokes tokens) is noticed before the next case and replaced, whatever did it.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
import schemathesis
import schemathesis.openapi
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.factories import make_issue, make_report, make_round, make_unit, make_user
from tracker.accounts import services as accounts
from tracker.core.extensions import db

MAX_EXAMPLES = 25
# A refusal about the data rather than the request's form: a reference to a unit or round that does
# not exist, a month that has not begun. No schema can say which codes exist or what month it is.
ABOUT_THE_DATA = re.compile("不存在|尚未开始")


def positive_data_acceptance_beyond_the_data(ctx, response, case):
    """positive_data_acceptance, except for refusals no schema can foresee: a 422 (the services'
    validation of values and references, documented as such on every operation that answers it),
    and a 400 naming data that does not exist (yet)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if response.status_code == 422:
            return None
        if response.status_code == 400 and ABOUT_THE_DATA.search(response.json().get("error", "")):
            return None
        raise


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, positive_data_acceptance_beyond_the_data]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
    database=None,
)

# Cases sent per role, printed after each role's run (also with -q).
CASES: Counter[str] = Counter()


@pytest.fixture
def seeded(app, session, clock):
    """A few units, rounds and issues; a supervisor and a clerk of the unit leading two of the issues."""
    app.config["BACKGROUND_JOBS_INLINE"] = True
    lead, coop, other = make_unit("LEAD", "牵头局"), make_unit("COOP", "配合局"), make_unit("OTHER", "无关局")
    first, second = make_round("第一轮中央环保督察"), make_round("省级督察", level="provincial")
    mine = make_issue(lead_unit=lead, round=first, cooperating=(coop,), code="Z-001", deadline=date(2020, 6, 30),
                      progress_percent=40)
    make_issue(lead_unit=lead, round=second, code="Z-002", state="basically_done", progress_percent=90)
    make_issue(lead_unit=other, round=first, code="Z-003")
    make_issue(lead_unit=coop, round=second, code="Z-004", state="submitted", progress_percent=100)
    make_report(mine)
    users = {"supervisor": make_user("supervisor", username="super"),
             "clerk": make_user("unit_staff", lead, username="clerk")}
    session.commit()
    return users


class Caller:
    """A role's bearer token, replaced when a call revoked it; schemathesis's auth provider, so that
    the cases that leave out or spoil the Authorization header on purpose stay as they are."""

    def __init__(self, user, clock):
        self.user, self.clock = user, clock
        self.token = self._mint()

    def _mint(self) -> str:
        # Through the service, not POST /auth/token: the fuzzer's own failed sign-ins must not
        # lock the caller out.
        token, _row = accounts.issue_token(db.session, self.user, self.clock())
        db.session.commit()
        return token

    def get(self, case, context) -> str:
        """The token, a new one if the last call revoked it."""
        db.session.rollback()  # see what the last request committed
        if accounts.user_for_token(db.session, self.token) is None:
            self.token = self._mint()
        return self.token

    def set(self, case, data: str, context) -> None:
        """Send the token as a bearer token."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _gist(text: str) -> str:
    """The failure's kind and status, to list each distinct failure once."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kinds = [line[2:] for line in lines if line.startswith("- ")]
    statuses = [line for line in lines if line.startswith("[") and "]" in line[:6]]
    return f"{'; '.join(kinds) or lines[0][:120]} {statuses[0] if statuses else ''}"


def _runner(operation, mode, role: str, failures: dict[str, str]):
    """A Hypothesis test sending `operation`'s cases of one generation mode; each distinct failure
    is kept in `failures` and the run goes on."""

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        CASES[role] += 1
        try:
            case.call_and_validate(checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # list every failure, not only the first
            text = str(exc).strip()
            failures.setdefault(f"{operation.label} [{mode.value}] {_gist(text)}", text[:1500])

    return run


def fuzz(app, user, clock, role: str) -> tuple[list[str], int]:
    """Run every operation of the live document, in both generation modes, as `user`: the distinct
    failures, and how many operations there were."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    caller = Caller(user, clock)

    class Bearer:  # schemathesis makes the provider itself, without arguments
        get, set = caller.get, caller.set

    schema.auth(refresh_interval=None)(Bearer)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _runner(operation, mode, role, failures)()
    return [f"{key}\n{text}" for key, text in sorted(failures.items())], operations


def check_role(app, user, clock, role: str, capsys) -> None:
    """Fuzz as `user`, print how many cases were sent, and fail with every distinct failure."""
    failures, operations = fuzz(app, user, clock, role)
    with capsys.disabled():
        print(f"\nschemathesis as {role}: {CASES[role]} cases over {operations} operations, "
              f"{len(failures)} distinct failures")
    assert CASES[role] >= operations * 2  # every operation ran, in both modes
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)


def test_api_as_supervisor_keeps_to_its_document(app, seeded, clock, capsys):
    check_role(app, seeded["supervisor"], clock, "supervisor", capsys)


def test_api_as_clerk_keeps_to_its_document(app, seeded, clock, capsys):
    check_role(app, seeded["clerk"], clock, "clerk", capsys)
