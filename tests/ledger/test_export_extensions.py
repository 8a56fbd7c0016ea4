"""The ledger export carries the original deadline (原定整改时限), the one in force (现整改时限) and how many
extensions were approved (延期次数); the export read back as a ledger keeps the deadline in force."""
from __future__ import annotations

from datetime import date, datetime

from tests.support.factories import make_issue, make_round, make_unit, make_user
from tracker.core.extensions import db
from tracker.issues import extensions
from tracker.issues.queries import IssueFilters
from tracker.ledger import export as ledger
from tracker.ledger import imports as ledger_import


def test_the_ledger_carries_both_deadlines_and_the_extensions(session):
    unit = make_unit("ENV", "市生态环境分局")
    round_ = make_round("第一轮")
    round_.max_extensions = 3
    head, sup = make_user("unit_head", unit), make_user("supervisor")
    issue = make_issue(lead_unit=unit, round=round_, code="A-01", deadline=date(2020, 9, 30),
                       original_deadline=date(2020, 9, 30))
    make_issue(lead_unit=unit, round=round_, code="B-01", deadline=date(2020, 12, 31),
               original_deadline=date(2020, 12, 31))
    session.commit()
    for asked, at in (("2020-10-31", datetime(2020, 7, 1)), ("2020-11-30", datetime(2020, 7, 2))):
        request = extensions.request_extension(session, head, at, issue, asked, "理由")
        extensions.decide_extension(session, sup, at, request, "approve")
    request = extensions.request_extension(session, head, datetime(2020, 7, 3), issue, "2021-01-31", "再延")
    extensions.decide_extension(session, sup, datetime(2020, 7, 3), request, "reject", reason="不同意")
    session.commit()
    rows = list(ledger.ledger_rows(session, sup, date(2020, 7, 15), {}, IssueFilters(), sort="code"))
    columns = list(ledger.LEDGER_COLUMNS)
    wanted = [columns.index(name) for name in ("原定整改时限", "现整改时限", "延期次数")]
    got = {row[1]: tuple(row[i] for i in wanted) for row in rows}
    assert got == {"A-01": (date(2020, 9, 30), date(2020, 11, 30), 2),
                   "B-01": (date(2020, 12, 31), date(2020, 12, 31), 0)}


def test_an_exported_ledger_reads_back_with_the_deadline_in_force(session, tmp_path):
    assert ledger_import.HEADER_ALIASES["deadline"][0] == "整改时限"  # errors still name the usual column
    mapping = ledger_import._map_header(tuple(ledger.LEDGER_COLUMNS))
    assert mapping["deadline"] == list(ledger.LEDGER_COLUMNS).index("现整改时限")
    db.session.rollback()
