"""Every refused access is put on record, in pages and in the API alike."""
import logging

from tests.support.factories import make_issue, make_unit, make_user


def test_refused_page_action_and_out_of_scope_issue_are_logged(app, client, session, login_as, caplog):
    unit = make_unit()
    staff = make_user("unit_staff", unit)
    issue = make_issue(lead_unit=unit)
    hidden = make_issue()
    session.commit()
    login_as(staff)
    with caplog.at_level(logging.WARNING):
        client.post(f"/issues/{issue.id}/transition", data={"action": "verify", "version": issue.version})
        assert client.get(f"/issues/{hidden.id}").status_code == 404
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert any(f"/issues/{issue.id}/transition for {staff.username}" in m and "forbidden" in m for m in refused)
    assert any(f"/issues/{hidden.id} for {staff.username}" in m and "not_found" in m for m in refused)
