"""Settings of the day's jobs: defaults, saved and read back, malformed values refused, admins only."""
from __future__ import annotations

import pytest

from tests.support.factories import make_user
from tests.support.jobs import count
from tracker.core.errors import Refusal
from tracker.core.extensions import db
from tracker.core.models import JobSetting
from tracker.escalation.settings import DEFAULTS, get_settings, save_settings


def test_settings_default_save_and_read_back(jobs_app):
    admin = make_user("admin")
    assert get_settings(db.session) == DEFAULTS
    assert [lv.key for lv in DEFAULTS.ladder] == ["due_soon-7", "due_soon-1", "overdue+1", "supervision_order+15",
                                                  "interview+30"]
    saved = save_settings(db.session, admin, {
        "ladder": [{"offset": "20", "kind": "interview", "roles": "leader, supervisor"},
                   {"offset": -3, "kind": "due_soon", "roles": ["unit_staff"]},
                   {"offset": 2, "kind": "overdue", "roles": ["unit_head", "supervisor"]}],
        "day_mode": "working", "report_due_day": "20", "report_reminder_day": 16, "unit_yellow_limit": 3,
        "digest_time": "7:45",
    })
    db.session.commit()
    again = get_settings(db.session)
    assert again == saved
    assert [lv.key for lv in again.ladder] == ["due_soon-3", "overdue+2", "interview+20"]
    assert again.ladder[2].roles == ("supervisor", "leader")
    assert (again.day_mode, again.report_due_day, again.digest_time) == ("working", 20, "07:45")


@pytest.mark.parametrize("data, field, words", [
    ({"ladder": [{"offset": 3, "kind": "due_soon", "roles": ["unit_staff"]}]}, "ladder", "临期提醒必须"),
    ({"ladder": [{"offset": 0, "kind": "overdue", "roles": ["unit_staff"]}]}, "ladder", "逾期之后"),
    ({"ladder": [{"offset": "x", "kind": "overdue", "roles": ["unit_head"]}]}, "ladder", "整数"),
    ({"ladder": [{"offset": 1, "kind": "bogus", "roles": ["unit_head"]}]}, "ladder", "类型无效"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": []}]}, "ladder", "至少"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": ["root"]}]}, "ladder", "通知对象"),
    ({"ladder": [{"offset": 1, "kind": "overdue", "roles": ["unit_head"]},
                 {"offset": 1, "kind": "overdue", "roles": ["supervisor"]}]}, "ladder", "重复"),
    ({"ladder": [{"offset": 5, "kind": "overdue", "roles": ["unit_head"]},
                 {"offset": 3, "kind": "interview", "roles": ["leader"]}]}, "ladder", "顺序不对"),
    ({"ladder": "not json"}, "ladder", "格式"),
    ({"ladder": [{"offset": 9999, "kind": "overdue", "roles": ["unit_head"]}]}, "ladder", "之间"),
    ({"day_mode": "lunar"}, "day_mode", "自然日或工作日"),
    ({"report_due_day": 31}, "report_due_day", "1 到 28"),
    ({"report_due_day": True}, "report_due_day", "整数"),
    ({"report_reminder_day": 20}, "report_reminder_day", "早于"),
    ({"unit_yellow_limit": -1}, "unit_yellow_limit", "0 到 31"),
    ({"digest_time": "25:00"}, "digest_time", "HH:MM"),
    ({"digest_time": "08:30\r\n"}, "digest_time", None),
    ({"colour": "red"}, "colour", "未知"),
])
def test_malformed_settings_are_refused_and_nothing_changes(jobs_app, data, field, words):
    admin = make_user("admin")
    if data == {"digest_time": "08:30\r\n"}:
        # Surrounding whitespace is trimmed: a value that is right apart from it is taken.
        assert save_settings(db.session, admin, data).digest_time == "08:30"
        return
    with pytest.raises(Refusal) as err:
        save_settings(db.session, admin, data)
    assert err.value.kind == "invalid" and err.value.field == field
    assert words in err.value.message
    db.session.rollback()
    assert count(JobSetting) == 0 and get_settings(db.session) == DEFAULTS


def test_only_admins_change_settings_and_a_broken_stored_value_falls_back(jobs_app):
    with pytest.raises(Refusal) as err:
        save_settings(db.session, make_user("supervisor"), {"report_due_day": 20})
    assert err.value.kind == "forbidden"
    db.session.rollback()
    db.session.add(JobSetting(key="report_due_day", value="{broken"))
    db.session.add(JobSetting(key="ladder", value='[{"offset": 1, "kind": "nope", "roles": []}]'))
    db.session.commit()
    assert get_settings(db.session) == DEFAULTS
