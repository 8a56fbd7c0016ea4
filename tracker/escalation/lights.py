"""The count rule for units: N yellow lights of one unit in a month raise a supervision order to the unit.

Every day, each open issue showing a yellow light is marked for the month
(`light_marks`, once per issue and month, one INSERT ... SELECT). A lead unit with
at least `unit_yellow_limit` marked issues in the month gets one supervision order
for that month (`unit_escalations`, UNIQUE unit, period, kind), mailed to its head
and the supervisors whose jurisdiction holds the unit.
"""
from __future__ import annotations

from sqlalchemy import and_, exists, func, literal, select

from tracker.core import enums
from tracker.core.sql import insert_ignore
from tracker.escalation.context import RunContext
from tracker.escalation.models import LightMark, UnitEscalation
from tracker.issues.models import Issue
from tracker.notify.render import MailContent, MailGroup

UNIT_ORDER = "unit_supervision"
LIST_LIMIT = 30


def mark_lights(ctx: RunContext) -> None:
    """Mark today's yellow lights of open issues for the month (set-based, no rows loaded)."""
    session = ctx.session
    fig = ctx.fig
    source = select(Issue.id, literal(ctx.period), literal("yellow"), literal(ctx.today)).where(
        Issue.state.in_(enums.OPEN_STATES), Issue.merged_into_id.is_(None), fig.light == "yellow")
    session.execute(insert_ignore(session, LightMark).from_select(
        ["issue_id", "period", "light", "first_on"], source))
    ctx.commit()


def run_unit_rule(ctx: RunContext) -> int:
    """Raise the month's supervision order for each lead unit over the yellow-light limit; return how many."""
    limit = ctx.settings.unit_yellow_limit
    if limit <= 0:
        return 0
    session = ctx.session
    period = ctx.period
    marked = and_(LightMark.issue_id == Issue.id, LightMark.period == period, LightMark.light == "yellow")
    over = session.execute(
        select(Issue.lead_unit_id, func.count())
        .join(LightMark, marked)
        .where(~exists().where(and_(UnitEscalation.unit_id == Issue.lead_unit_id,
                                    UnitEscalation.period == period, UnitEscalation.kind == UNIT_ORDER)))
        .group_by(Issue.lead_unit_id)
        .having(func.count() >= limit)
        .order_by(Issue.lead_unit_id)
    ).all()
    raised = 0
    for unit_id, count in over:
        if unit_id not in ctx.directory.units:  # created after this run loaded the units: the next run
            continue
        new = session.scalars(insert_ignore(session, UnitEscalation).values(
            unit_id=unit_id, period=period, kind=UNIT_ORDER, count=count, fired_on=ctx.today,
            created_at=ctx.now).returning(UnitEscalation.id)).all()
        if new:
            _notify(ctx, unit_id, count)
            raised += 1
        ctx.commit()
    ctx.stats["escalations.unit_supervision"] += raised
    return raised


def _notify(ctx: RunContext, unit_id: int, count: int) -> None:
    session = ctx.session
    unit = ctx.directory.units[unit_id]
    period = ctx.period
    rows = session.execute(
        select(Issue, ctx.fig.days_overdue, ctx.fig.light)
        .join(LightMark, and_(LightMark.issue_id == Issue.id, LightMark.period == period,
                              LightMark.light == "yellow"))
        .where(Issue.lead_unit_id == unit_id)
        .order_by(Issue.deadline, Issue.id).limit(LIST_LIMIT)
    ).all()
    sentence = (f"{unit.name} {period} 月牵头的问题中已有 {count} 项亮黄灯"
                f"(达到 {ctx.settings.unit_yellow_limit} 项即对单位挂牌督办)")
    content = MailContent(
        subject=f"【单位挂牌督办】{unit.name} {period} 月黄灯 {count} 项",
        heading=f"单位挂牌督办:{unit.name}",
        intro=[sentence + "。", "请单位主要负责人组织研究,逐项加快整改进度,并向督察整改办报告整改措施。"],
        groups=[MailGroup(title="本月亮黄灯的问题", items=[ctx.item(i, d, li) for i, d, li in rows],
                          more=max(0, count - len(rows)), more_link=ctx.list_link(unit=unit.code, light="yellow"))],
    )
    people = ctx.directory.for_unit(unit_id, ("unit_head",)) + ctx.directory.serving(unit_id, ("supervisor",))
    ctx.deliver(people, kind=UNIT_ORDER, ref=f"period:{period}:unit:{unit_id}", content=content,
                link=f"/issues/?unit={unit.code}&light=yellow", unit_id=unit_id, notice_body=sentence + "。")
