"""The plan parser against the two real plans (tests/ledger/fixtures/plans) and damaged copies of them."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tracker.ledger.plans import parse_deadline, parse_plan, parse_units

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
HUOLINGGUOLE = (FIXTURES / "huolingguole-2020-action-plan.txt").read_text(encoding="utf-8")
ZHONGBEI = (FIXTURES / "zhongbei-2017-rectification-plan.txt").read_text(encoding="utf-8")

# number, lead units, cooperating units ("、"-joined), deadline, deadline phrase: written out by
# hand-checking each item of the plan (its "(责任单位:…)" bracket and deadline phrases).
HUOLINGGUOLE_TASKS = [
    ('二.(一).1.(1)', '市生态环境分局', '市住建局', None, None),
    ('二.(一).1.(1)-2', '市住建局', '市城管局', None, None),
    ('二.(一).1.(1)-3', '市生态环境分局', '市市场监督管理局、市商务局、市能源局', '2020-12-31', '到2020年底'),
    ('二.(一).1.(1)-4', '市市场监督管理局', '市生态环境分局、市城管局', '2020-12-31', '2020年底前'),
    ('二.(一).1.(1)-5', '市生态环境分局', '市气象局', None, None),
    ('二.(一).1.(2)', '市生态环境分局', '', None, None),
    ('二.(一).1.(2)-2', '市生态环境分局', '', '2020-12-31', '到2020年底'),
    ('二.(一).1.(2)-3', '市生态环境分局', '', None, None),
    ('二.(一).1.(2)-4', '市生态环境分局', '', None, None),
    ('二.(一).1.(2)-5', '市生态环境分局', '', '2020-12-31', '2020年底'),
    ('二.(一).1.(3)', '市工信局', '', None, None),
    ('二.(一).1.(3)-2', '市公安局', '市交通局、市生态环境分局', None, None),
    ('二.(一).1.(4)', '市自然资源局', '市能源局', '2020-12-31', '到2020年底前'),
    ('二.(一).1.(5)', '市生态环境分局', '市工信局', '2020-12-31', '年底前'),
    ('二.(一).1.(6)', '市公安局', '', '2020-09-30', '9月底前'),
    ('二.(一).1.(7)', '市市场监督管理局', '市工信局、市生态环境分局、市商务局、市交通局、市公安局', '2020-12-31',
     '年底前'),
    ('二.(一).2.(8)', '市水务局', '', None, None),
    ('二.(一).2.(8)-2', '市生态环境分局', '', '2020-12-31', '到2020年底'),
    ('二.(一).2.(8)-3', '市生态环境分局', '市水务局', None, None),
    ('二.(一).2.(8)-4', '市生态环境分局', '', None, None),
    ('二.(一).2.(8)-5', '市生态环境分局', '市自然资源局', None, None),
    ('二.(一).2.(9)', '市生态环境分局', '', '2020-12-31', '到2020年底'),
    ('二.(一).2.(9)-2', '市住建局', '市水务局、市卫健委、市生态环境分局', None, None),
    ('二.(一).2.(10)', '市住建局', '市城管局', '2020-12-31', '到2020年底'),
    ('二.(一).2.(10)-2', '市住建局', '市工信局', None, None),
    ('二.(一).2.(10)-3', '市住建局', '市水务局', '2020-12-31', '到2020年底'),
    ('二.(一).2.(10)-4', '市住建局', '市生态环境分局', '2020-12-31', '到2020年底'),
    ('二.(一).2.(10)-5', '市住建局', '', '2020-12-31', '到2020年底前'),
    ('二.(一).2.(11)', '市水务局', '', None, None),
    ('二.(一).2.(11)-2', '市生态环境分局', '', '2020-06-30', '2020年6月底前'),
    ('二.(一).2.(12)', '市水务局', '市生态环境分局', '2020-12-31', '年底前'),
    ('二.(一).2.(13)', '市生态环境局', '市卫健委', None, None),
    ('二.(一).2.(14)', '市生态环境局', '', None, None),
    ('二.(一).3.(15)', '市农牧局', '', '2020-12-31', '到2020年底'),
    ('二.(一).3.(15)-2', '市农牧局', '', '2020-12-31', '到2020年底'),
    ('二.(一).3.(15)-3', '市农牧局', '市生态环境分局', '2020-12-31', '到2020年底'),
    ('二.(一).3.(15)-4', '市农牧局', '达苏木、沙街', '2020-12-31', '到2020年底'),
    ('二.(一).3.(15)-5', '市农牧局', '达苏木、沙街', None, None),
    ('二.(一).3.(16)', '市住建局', '市农牧局、市生态环境分局', '2020-12-31', '到2020年底'),
    ('二.(一).3.(17)', '市工信局', '市生态环境分局', '2020-12-31', '到2020年底'),
    ('二.(一).3.(18)', '市卫健委', '市生态环境分局', None, None),
    ('二.(一).3.(19)', '市住建局', '市农牧局、达苏木、沙街', None, None),
    ('二.(一).3.(19)-2', '市生态环境分局', '', None, None),
    ('二.(一).3.(20)', '市住建局', '市城管局、市生态环境分局、苏木、各街道', None, None),
    ('二.(一).3.(21)', '市自然资源局', '市生态环境分局', None, None),
    ('二.(一).4.(22)', '市自然资源局', '市生态环境分局', '2020-06-30', '2020年6月底前'),
    ('二.(一).4.(24)-1', '市生态环境分局', '市住建局、市卫健委、市工信局、市自然资源局', '2020-12-31', '到2020年底前'),
    ('二.(二).1', '市生态环境分局', '', None, None),
    ('二.(二).2', '市水务局', '', '2020-12-31', '到2020年底'),
    ('二.(二).3', '市生态环境分局', '', None, None),
    ('二.(二).4', '市生态环境分局', '', None, None),
    ('二.(二).5', '市发改委', '市生态环境分局', '2020-12-31', '到2020年底'),
    ('二.(三).1', '市生态环境分局', '', None, None),
    ('二.(三).1-2', '市水务局', '市住建局', None, None),
    ('二.(三).2', '市生态环境分局', '', None, None),
    ('二.(三).2-2', '市生态环境分局', '', None, None),
    ('二.(三).2-3', '市生态环境分局', '', None, None),
    ('二.(三).3', '市生态环境分局', '', None, None),
    ('二.(三).3-2', '市生态环境分局', '', None, None),
    ('二.(三).3-3', '市生态环境分局', '', None, None),
    ('二.(三).4', '市生态环境分局', '', None, None),
    ('二.(三).4-2', '市工信局', '市生态环境分局', None, None),
    ('二.(三).4-3', '市生态环境分局', '', None, None),
    ('二.(三).4-4', '市农牧局', '市自然资源局、市生态环境分局', '2020-12-31', '2020年底前'),
    ('二.(三).5', '市工信局', '市发改委、市能源局、市自然资源局、市应急局', None, None),
    ('二.(三).6', '市生态环境分局', '市农牧局', None, None),
]

# The Zhongbei plan: every item ends with a bare "(A、B)" bracket.
ZHONGBEI_TASKS = [
    ('三.(一).1', '党办', '宣传办', None, None),
    ('三.(一).2', '党办', '', None, None),
    ('三.(一).3', '招商办', '环保办、各村', None, None),
    ('三.(一).4', '环保办', '', None, None),
    ('三.(一).5', '镇纪检', '', None, None),
    ('三.(二).1', '工业办', '企业服务中心', None, None),
    ('三.(二).2', '工业办', '招商办', None, None),
    ('三.(二).3', '北园管委会', '环保办、相关村、工农联盟农场', None, None),
    ('三.(二).4', '园区管委会', '相关村', None, None),
    ('三.(三).1', '建管站', '工业办、环保办、相关村', '2017-10-31', '2017年10月底前'),
    ('三.(三).2', '工业办', '建管站、农业办、三产办、环保办、各村、工农联盟农场', None, None),
    ('三.(四).1', '建管站', '市容环卫中心、环保办、各村、工农联盟农场', None, None),
    ('三.(四).2', '建管站', '市容环卫中心、综合执法大队', '2020-12-31', '2020年'),
    ('三.(四).3', '三产办', '建管站、市容环卫中心、各村、工农联盟农场', None, None),
    ('三.(四).4', '环保办', '园区管委会、各村、工农联盟农场', None, None),
    ('三.(五).1', '环保办公室', '园区管委会、相关村', None, None),
    ('三.(五).2', '农业办', '配套办', '2017-12-31', '2017年'),
    ('三.(五).3', '农业办', '相关村', None, None),
    ('三.(五).4', '农业办', '', None, None),
    ('三.(五).5', '配套办', '农业办', None, None),
    ('三.(六).1', '环保办', '农业办', None, None),
    ('三.(六).2', '建管站', '', None, None),
    ('三.(六).3', '农业办', '环保办、相关村', '2017-12-31', '2017年底前'),
    ('三.(六).4', '环保办', '农业办', None, None),
    ('三.(七)-1', '环保办', '农业办', None, None),
    ('三.(八).1', '市容环卫中心', '相关村', '2020-12-31', '2020年'),
    ('三.(八).2', '环保办', '安委办、园区管委会、相关村', None, None),
    ('三.(八).3', '环保办', '综合执法大队、中北派出所', None, None),
    ('三.(八).4', '各相关科室', '各村', None, None),
    ('三.(九).1', '农业办', '各村', None, None),
    ('三.(九).2', '市容环卫中心', '综合执法大队、各村、各社区', None, None),
    ('三.(九).3', '环保办', '中北派出所', None, None),
]


def _rows(plan):
    return [
        (t.number, "、".join(t.lead_units), "、".join(t.cooperating_units),
         t.deadline.isoformat() if t.deadline else None, t.deadline_text)
        for t in plan.tasks
    ]


def test_huolingguole_year_and_title():
    plan = parse_plan(HUOLINGGUOLE)
    assert plan.year == 2020
    assert plan.title == "霍林郭勒市打赢污染防治攻坚战2020年行动计划"


def test_huolingguole_has_the_66_bracketed_items_with_units_and_deadlines():
    plan = parse_plan(HUOLINGGUOLE)
    assert HUOLINGGUOLE.count("(责任单位:") == 66
    assert len(plan.tasks) == 66
    assert _rows(plan) == HUOLINGGUOLE_TASKS
    assert not any(t.damaged for t in plan.tasks)
    # Units per task, in plan order: 1 lead + cooperating ones, as many as the bracket names.
    brackets = re.findall(r"\(责任单位:([^)]*)\)", HUOLINGGUOLE)
    assert [len(t.units) for t in plan.tasks] == [len(b.split("、")) for b in brackets]
    assert all(len(t.lead_units) == 1 for t in plan.tasks)


def test_huolingguole_task_texts():
    plan = parse_plan(HUOLINGGUOLE)
    first = plan.tasks[0]
    assert first.text.startswith("大力提升城市环境空气质量。持续巩固原煤散烧治理成果。")
    assert first.text.endswith("加快城区配套供热管网建设。")
    assert plan.tasks[1].text.startswith("加强对主城区内的建筑工地扬尘")
    assert all(t.text and not t.text.endswith(")") for t in plan.tasks)
    assert sum("责任单位" in t.text for t in plan.tasks) == 1  # (8): "交办相关责任单位进行处理"
    # The task under (24) is the paragraph after the heading, which itself names no units.
    assert plan.tasks[46].number == "二.(一).4.(24)-1"
    assert plan.tasks[46].text.startswith("各部门单位应以高度的政治责任感")


def test_huolingguole_abbreviated_units_take_the_city_prefix():
    by_number = {t.number: t for t in parse_plan(HUOLINGGUOLE).tasks}
    # "(责任单位:市生态环境分局、住建局)": the second is 市住建局.
    assert by_number["二.(一).1.(1)"].cooperating_units == ["市住建局"]
    # "市场监督管理局" is not already prefixed: it becomes 市市场监督管理局, as the plan writes elsewhere.
    assert by_number["二.(一).1.(1)-3"].cooperating_units == ["市市场监督管理局", "市商务局", "市能源局"]
    # Townships and streets keep their own names.
    assert by_number["二.(一).3.(20)"].cooperating_units == ["市城管局", "市生态环境分局", "苏木", "各街道"]
    assert by_number["二.(一).3.(15)-4"].cooperating_units == ["达苏木", "沙街"]


def test_huolingguole_numbered_items_without_units_are_reported_not_dropped():
    plan = parse_plan(HUOLINGGUOLE)
    assert [t.number for t in plan.unassigned] == [
        "一.(一)", "一.(二)", "二.(一).4.(23)", "三.(一)", "三.(二)", "三.(三)", "三.(四)", "三.(五)", "三.(六)",
    ]
    item_23 = plan.unassigned[2]
    assert item_23.text.startswith("扎实开展“回头看”")
    assert item_23.lead_units == [] and item_23.deadline == date(2020, 6, 30)


def test_zhongbei_tasks_with_bare_bracket_units():
    plan = parse_plan(ZHONGBEI)
    assert plan.year == 2017  # from the document's date line "2017年8月23日"
    assert plan.title == "中北镇贯彻落实中央第一环境保护督察组督察反馈意见整改方案"
    assert _rows(plan) == ZHONGBEI_TASKS
    assert not any(t.damaged for t in plan.tasks)
    assert plan.tasks[0].text.startswith("践行绿色发展理念。")
    assert [t.number for t in plan.unassigned] == [
        "二.(一)", "二.(二)", "二.(三)", "四.(一)", "四.(二)", "四.(三)", "四.(四)", "四.(五)",
    ]


def test_given_year_overrides_the_title():
    plan = parse_plan(HUOLINGGUOLE, year=2021)
    assert plan.year == 2021
    task = next(t for t in plan.tasks if t.number == "二.(一).1.(6)")
    assert (task.deadline, task.deadline_text) == (date(2021, 9, 30), "9月底前")


# ---------------------------------------------------------------- damaged text

def _units_and_numbers(plan):
    return [(t.number, t.lead_units, t.cooperating_units, t.deadline) for t in plan.tasks]


@pytest.mark.parametrize("damage", [
    pytest.param(lambda s: re.sub(r"\((责任单位:[^)]*)\)", r"\1", s), id="brackets-removed"),
    pytest.param(lambda s: re.sub(r"\((责任单位:[^)]*)\)", r"(\1", s), id="closing-bracket-lost"),
    pytest.param(lambda s: re.sub(r"\((责任单位:[^)]*)\)", r"\1)", s), id="opening-bracket-lost"),
    pytest.param(lambda s: s.replace("责任单位:", "责任单位"), id="colon-lost"),
    pytest.param(lambda s: s.replace("(责任单位:", "(责任单:"), id="character-lost"),
    pytest.param(lambda s: s.replace("(责任单位:", "(任单位:"), id="first-character-lost"),
    pytest.param(lambda s: s.replace("(", "（").replace(")", "）").replace(":", "："), id="full-width"),
])
def test_damaged_huolingguole_still_gives_all_tasks_and_units(damage):
    intact = parse_plan(HUOLINGGUOLE)
    damaged = parse_plan(damage(HUOLINGGUOLE))
    assert _units_and_numbers(damaged) == _units_and_numbers(intact)
    # The repaired bracket is not left in the text (only the full-width copy differs, in its brackets).
    back = str.maketrans("（）：", "():")
    assert [t.text.translate(back) for t in damaged.tasks] == [t.text for t in intact.tasks]


def test_damaged_items_are_marked():
    plan = parse_plan(re.sub(r"\((责任单位:[^)]*)\)", r"\1", HUOLINGGUOLE))
    assert all(t.damaged and t.notes for t in plan.tasks)
    plan = parse_plan(HUOLINGGUOLE.replace("(", "（").replace(")", "）").replace(":", "："))
    assert not any(t.damaged for t in plan.tasks)  # full-width brackets are no damage


@pytest.mark.parametrize("damage", [
    pytest.param(lambda s: re.sub(r"\(([^()]*)\)\n", r"\1\n", s), id="brackets-removed"),
    pytest.param(lambda s: re.sub(r"\(([^()]*)\)\n", r"(\1\n", s), id="closing-bracket-lost"),
    pytest.param(lambda s: re.sub(r"\(([^()]*)\)\n", r"\1)\n", s), id="opening-bracket-lost"),
])
def test_damaged_zhongbei_still_gives_all_tasks_and_units(damage):
    intact = parse_plan(ZHONGBEI)
    damaged = parse_plan(damage(ZHONGBEI))
    assert _units_and_numbers(damaged) == _units_and_numbers(intact)
    assert all(t.damaged for t in damaged.tasks)
    assert damaged.tasks[0].text.endswith("决策部署的贯彻落实。")


def test_dropped_characters_in_the_text_keep_the_task():
    text = ("2020年行动计划\n一、大气\n"
            "(1)大力提升城市环境空气质量。推进集中供热,加快管网建设(责任单位:市生态环境分局、住建局\n"
            "加强扬尘执法检查,6月底前完成 责任单位:市住建局、城管局\n")
    plan = parse_plan(text)
    assert [(t.number, t.lead_units, t.cooperating_units, t.deadline, t.damaged) for t in plan.tasks] == [
        ("一.(1)", ["市生态环境分局"], ["市住建局"], None, True),
        ("一.(1)-2", ["市住建局"], ["市城管局"], date(2020, 6, 30), True),
    ]
    assert plan.tasks[0].text == "大力提升城市环境空气质量。推进集中供热,加快管网建设"


def test_items_run_together_on_one_line_are_split():
    text = "一、任务\n加强巡河。(责任单位:市水务局)整治排污口,年底前完成。(责任单位:市生态环境分局)\n"
    plan = parse_plan(text, year=2020)
    assert [(t.number, t.text, t.lead_units, t.deadline) for t in plan.tasks] == [
        ("一-1", "加强巡河。", ["市水务局"], None),
        ("一-2", "整治排污口,年底前完成。", ["市生态环境分局"], date(2020, 12, 31)),
    ]


def test_a_closing_parenthesis_that_names_no_units_is_no_task():
    plan = parse_plan("一、目标\n(1)水质达到标准(GB3838-2002)\n(2)整治“散乱污”企业。\n")
    assert plan.tasks == []


# ---------------------------------------------------------------- bracket forms

@pytest.mark.parametrize("content, lead, coop", [
    ("市生态环境分局、住建局", ["市生态环境分局"], ["市住建局"]),
    ("市生态环境分局牵头,市水利局参与", ["市生态环境分局"], ["市水利局"]),
    ("市水利局牵头，市住建局、农业农村局配合", ["市水利局"], ["市住建局", "市农业农村局"]),
    ("市住建局配合,市水利局牵头", ["市水利局"], ["市住建局"]),
    ("发改局、市工信局……按职责分工负责", ["发改局"], ["市工信局"]),
    ("市发改委、工信局、能源局等按职责分工负责", ["市发改委"], ["市工信局", "市能源局"]),
    ("党办、宣传办", ["党办"], ["宣传办"]),
    ("市容环卫中心、环保办、各村", ["市容环卫中心"], ["环保办", "各村"]),
    ("市住建局、农牧局、达苏木、沙街", ["市住建局"], ["市农牧局", "达苏木", "沙街"]),
    ("区生态环境局、水务局、各街道", ["区生态环境局"], ["区水务局", "各街道"]),
])
def test_bracket_forms(content, lead, coop):
    assert parse_units(content) == (lead, coop)


@pytest.mark.parametrize("bracket, lead, coop", [
    ("(市生态环境分局牵头,市水利局参与)", ["市生态环境分局"], ["市水利局"]),
    ("(发改局、市工信局……按职责分工负责)", ["发改局"], ["市工信局"]),
    ("（责任单位：市公安局）", ["市公安局"], []),
    ("(牵头单位:市水务局;配合单位:市住建局)", ["市水务局"], []),
])
def test_bracket_forms_end_an_item(bracket, lead, coop):
    plan = parse_plan("1.整治河道,2020年底前完成。" + bracket)
    assert len(plan.tasks) == 1
    task = plan.tasks[0]
    assert task.number == "1"
    assert task.text == "整治河道,2020年底前完成。"
    assert task.deadline == date(2020, 12, 31)
    if coop:
        assert (task.lead_units, task.cooperating_units) == (lead, coop)
    else:
        assert task.lead_units == lead


# ---------------------------------------------------------------- deadlines

@pytest.mark.parametrize("text, expected, phrase", [
    ("2020年6月底前完成", date(2020, 6, 30), "2020年6月底前"),
    ("6月底前完成", date(2020, 6, 30), "6月底前"),
    ("年底前完成治理", date(2020, 12, 31), "年底前"),
    ("到2020年底,达到90%", date(2020, 12, 31), "到2020年底"),
    ("2017年12月底前基本完成", date(2017, 12, 31), "2017年12月底前"),
    ("到2025年,全面达标", date(2025, 12, 31), "到2025年"),
    ("9月底前制定方案", date(2020, 9, 30), "9月底前"),
    ("2月底前上报", date(2020, 2, 29), "2月底前"),
    ("2020年6月30日前完成", date(2020, 6, 30), "2020年6月30日前"),
    ("2017年,污水处理率达到92.5%", date(2017, 12, 31), "2017年"),
    # Several phrases: a stage, then the end; the task's deadline is the latest.
    ("2017年底前全覆盖。2020年全部使用智能渣土车", date(2020, 12, 31), "2020年"),
    ("年底前完成;6月底前完成排查", date(2020, 12, 31), "年底前"),
    # Not deadlines: a start date, a comparison year, a monthly routine.
    ("从2020年7月1日起,全面实施国六排放标准", None, None),
    ("较2015年下降率达到17.6%", None, None),
    ("于每月18日前报至办公室", None, None),
])
def test_deadline_phrases(text, expected, phrase):
    assert parse_deadline(text, 2020) == (expected, phrase)


def test_deadline_without_the_plan_year_keeps_the_phrase():
    assert parse_deadline("6月底前完成", None) == (None, "6月底前")
    assert parse_deadline("2020年6月底前完成;9月底前验收", None) == (date(2020, 6, 30), "2020年6月底前")
    plan = parse_plan("1.整治河道,9月底前完成。(环保办)")
    assert plan.year is None
    assert (plan.tasks[0].deadline, plan.tasks[0].deadline_text) == (None, "9月底前")
