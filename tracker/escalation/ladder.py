"""The escalation ladder (督办阶梯): due-soon reminders, overdue notices, supervision orders, interviews.

A level is reached when its day (the deadline moved by the level's offset, in
calendar or working days) has come. Each day an open issue gets the most severe
level it has reached, if that level has not fired for it yet; milder levels it
passed while the jobs were not running are not sent late. The level fires once per
issue and deadline: its row in `escalations` (UNIQUE issue, key, due_on) is inserted
with "on conflict do nothing", and only an inserted row leads to the timeline event,
the mails and the notices, all in the same transaction. Moving an issue's deadline
re-arms the ladder: the old rows stay as history, the new deadline's rungs fire again.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Optional

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from tracker.core import enums
from tracker.core.calendar import CALENDAR, days_between, deadline_threshold
from tracker.core.labels import ROLE_LABELS
from tracker.core.sql import insert_ignore
from tracker.escalation.context import RunContext
from tracker.escalation.settings import Level
from tracker.issues.models import Escalation, Issue
from tracker.issues.scoping import office_users_by_issue
from tracker.issues.services import record_event
from tracker.notify.render import MailContent, MailGroup

log = logging.getLogger(__name__)


def windows(today: date, ladder: tuple[Level, ...], mode: str) -> list[tuple[Level, date, Optional[date]]]:
    """For each level: (level, upper, lower) such that the level is the one to fire for an issue
    whose deadline is in (lower, upper]; lower is None for the highest offset."""
    offsets = sorted({lv.offset for lv in ladder})
    threshold = {o: deadline_threshold(today, o, mode) for o in offsets}
    out = []
    for level in ladder:
        higher = [o for o in offsets if o > level.offset]
        lower = threshold[higher[0]] if higher else None
        out.append((level, threshold[level.offset], lower))
    return out


def _candidates(ctx: RunContext, level: Level, upper: date, lower: Optional[date], after_id: int):
    conds = [
        Issue.state.in_(enums.OPEN_STATES),
        Issue.merged_into_id.is_(None),  # a merged issue follows the issue it is merged into
        Issue.deadline <= upper,
        Issue.id > after_id,
        # Not fired for the deadline the issue has now (a row without a deadline is from before they
        # were kept: it stands for the current one). A moved deadline re-arms the rung.
        ~exists().where(and_(Escalation.issue_id == Issue.id, Escalation.key == level.key,
                             or_(Escalation.due_on == Issue.deadline, Escalation.due_on.is_(None)))),
    ]
    if lower is not None:
        conds.append(Issue.deadline > lower)
    return select(Issue.id, Issue.deadline).where(*conds).order_by(Issue.id).limit(ctx.batch_size)


def run_ladder(ctx: RunContext) -> int:
    """Fire every level due today, in batches of issues (keyset on id), committing each batch."""
    fired_total = 0
    for level, upper, lower in windows(ctx.today, ctx.settings.ladder, ctx.settings.day_mode):
        after_id = 0
        while True:
            batch = [(issue_id, deadline) for issue_id, deadline in
                     ctx.session.execute(_candidates(ctx, level, upper, lower, after_id))]
            if not batch:
                break
            fired_total += fire(ctx, level, batch)
            ctx.commit()
            after_id = batch[-1][0]
    return fired_total


def fire(ctx: RunContext, level: Level, batch: list[tuple[int, date]]) -> int:
    """Insert the level's escalation rows for these (issue, deadline) pairs; for those that are new, write
    the event, mails and notices (keyed on the deadline too: a re-armed rung mails again)."""
    session = ctx.session
    rows = [{"issue_id": i, "key": level.key, "kind": level.kind, "period": None, "due_on": deadline,
             "fired_on": ctx.today, "created_at": ctx.now} for i, deadline in batch]
    fired = set(session.scalars(insert_ignore(session, Escalation).values(rows).returning(Escalation.issue_id)))
    if not fired:
        return 0
    fig = ctx.fig
    issues = session.execute(
        select(Issue, fig.days_overdue, fig.light).where(Issue.id.in_(fired))
        .options(joinedload(Issue.lead_unit)).order_by(Issue.id)
    ).all()
    # The office users of the level's roles whose jurisdiction holds each issue (one query).
    holders = office_users_by_issue(session, fired, level.global_roles) if level.global_roles else {}
    roles_text = "、".join(ROLE_LABELS[r] for r in level.roles)
    for issue, days_overdue, light in issues:
        sentence = describe(ctx, level, issue)
        record_event(session, issue, None, ctx.event_at, level.kind, issue.state, issue.state,
                     f"{sentence}。通知对象:{roles_text}")
        people = ctx.directory.for_unit(issue.lead_unit_id, level.unit_roles) if level.unit_roles else []
        people += [who for uid in sorted(holders.get(issue.id, ())) if (who := ctx.directory.user(uid)) is not None]
        content = MailContent(
            subject=f"【{level.kind_label}】{issue.code} {issue.title}",
            heading=f"{level.kind_label}:{issue.code}",
            intro=[f"问题「{issue.title}」(牵头单位:{issue.lead_unit.name}){sentence}。", ACTION_TEXT[level.kind]],
            groups=[MailGroup(items=[ctx.item(issue, days_overdue, light, unit_name=issue.lead_unit.name)])],
            action_link=ctx.issue_link(issue.id), action_label="查看问题详情",
        )
        ctx.deliver(people, kind=level.kind, ref=f"issue:{issue.id}:{level.key}:{issue.deadline:%Y-%m-%d}",
                    content=content,
                    link=f"/issues/{issue.id}", issue_id=issue.id, unit_id=issue.lead_unit_id,
                    notice_body=sentence, show_unit=True)
        ctx.stats[f"escalations.{level.kind}"] += 1
    return len(fired)


ACTION_TEXT = {
    "due_soon": "请抓紧推进整改,按时完成并及时报送进展和佐证材料。",
    "overdue": "该问题已超过整改时限,请责任单位立即说明原因、加快整改,并报督察整改办。",
    "supervision_order": "该问题已列为挂牌督办事项,请责任单位主要负责人亲自督办,限期整改到位。",
    "interview": "该问题严重滞后,将按规定对责任单位相关负责人进行约谈或通报。",
}


def describe(ctx: RunContext, level: Level, issue: Issue) -> str:
    """The level's sentence for this issue, counting days in the configured mode."""
    mode = ctx.settings.day_mode
    unit = "天" if mode == CALENDAR else "个工作日"
    if issue.deadline == ctx.today:
        return f"今天(整改时限 {issue.deadline:%Y-%m-%d})到期"
    if issue.deadline > ctx.today:
        left = days_between(ctx.today, issue.deadline, mode)
        if left <= 0:  # only rest days left before a deadline on a rest day
            left, unit = days_between(ctx.today, issue.deadline), "天"
        return f"距整改时限 {issue.deadline:%Y-%m-%d} 还有 {left} {unit}"
    over = days_between(issue.deadline, ctx.today, mode)
    if over <= 0:
        over, unit = days_between(issue.deadline, ctx.today), "天"
    return f"已超过整改时限 {issue.deadline:%Y-%m-%d} {over} {unit}"
