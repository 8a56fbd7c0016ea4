"""Digests (督办摘要): one mail a day to each unit, and one to each supervisor, when there is something to say.

A unit's digest lists, within the unit's view (issues it leads or cooperates on),
the overdue, lagging and due-soon issues and those missing the last due monthly
report. The supervisors' digest lists them all (for supervisors serving an area node: those in its
jurisdiction, one digest per area), grouped by lead unit, units ranked by overdue issues and rows by
days overdue. Users choose daily, weekly (Monday) or
no digest; a unit's own address gets it daily. The dedupe key carries the day.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import and_, case, func, or_, select

from tracker.core.enums import UNIT_ROLES, NoticeKind
from tracker.escalation.context import RunContext
from tracker.escalation.queries import counts_by_unit, due_date, late_period, ranked_per_unit, rows_by_unit
from tracker.issues import figures
from tracker.issues.models import Issue
from tracker.notify.notices import pending_lines
from tracker.notify.prefs import wants_digest
from tracker.notify.render import MailContent, MailGroup, MailItem

DIGEST = "digest"
SECTION_LIMIT = 30
PER_UNIT = 10
# The supervisors' digest lists issues for this many units at the top of the ranking; the rest
# get their counts and a link, so that the mail stays readable with hundreds of units.
UNITS_LISTED = 30
UNITS_PER_COMMIT = 50


def _flag(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


class _Conditions:
    """The digest's sections as mutually exclusive conditions, each issue in one section."""

    def __init__(self, ctx: RunContext):
        fig = ctx.fig
        self.period = late_period(ctx.today, ctx.settings)
        self.overdue = fig.overdue
        self.lagging = and_(fig.lagging, ~fig.overdue)
        self.due_soon = and_(fig.due_soon, ~fig.overdue, ~fig.lagging)
        # Marked late for the last due period and still not reported (the monthly step ran just before).
        self.missing = figures.still_missing(self.period)
        self.anything = or_(fig.overdue, fig.lagging, fig.due_soon)


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{label} {counts[key]} 项" for key, label in
             (("overdue", "逾期"), ("lagging", "进度滞后(未逾期)"), ("due_soon", "临期"), ("missing", "未按时报送"))
             if counts.get(key)]
    return "、".join(parts)


def run_digests(ctx: RunContext) -> None:
    """Queue today's unit digests, the supervisors' digest, and the action notices users take by digest."""
    unit_digests(ctx)
    supervisor_digest(ctx)
    action_digests(ctx)


def action_digests(ctx: RunContext) -> int:
    """One mail for each user who takes the notices of workflow actions in the digest and has some
    waiting, on their digest days; the lines are marked sent in the mail's transaction. Return how
    many mails were built.

    The mail's ref names the day and the last line it carries, so a second run the same day mails
    only lines that came in between, and no line is ever mailed twice.
    """
    session = ctx.session
    waiting = pending_lines(session)
    users = [(ctx.directory.user(uid), lines) for uid, lines in sorted(waiting.items())]
    todo = [(who, lines) for who, lines in users
            if who is not None and who.email and wants_digest(who.digest, ctx.today)]
    day = f"{ctx.today:%Y-%m-%d}"
    built = 0
    for start in range(0, len(todo), UNITS_PER_COMMIT):
        chunk = todo[start:start + UNITS_PER_COMMIT]
        ids = {line.issue_id for _who, lines in chunk for line in lines if line.issue_id is not None}
        codes: dict[Optional[int], str] = (
            dict(session.execute(select(Issue.id, Issue.code).where(Issue.id.in_(ids))).all()) if ids else {})
        for who, lines in chunk:
            items = [MailItem(code=codes.get(line.issue_id, "查看"), title=line.text,
                              link=ctx.mail.base_url + (line.link or "/notices/")) for line in lines]
            content = MailContent(
                subject=f"【办理通知汇总】{day}:{len(lines)} 条",
                heading=f"办理通知汇总({day})",
                intro=[f"以下是您选择以摘要方式接收的 {len(lines)} 条办理通知,请登录系统处理。"],
                groups=[MailGroup(items=items)],
                action_link=ctx.mail.base_url + "/notices/", action_label="查看全部通知",
            )
            ctx.deliver([who], kind=NoticeKind.ACTION_DIGEST, ref=f"day:{day}:user:{who.user_id}:to:{lines[-1].id}",
                        content=content, link="/notices/", with_notices=False)
            for line in lines:
                line.sent_at = ctx.now
            built += 1
        ctx.commit()
    return built


def unit_digests(ctx: RunContext) -> int:
    """One digest per unit with something to say and someone who wants it today; return how many
    were built (units whose digest is already queued for everyone are skipped).

    Counted for all units in one grouped query; listed for up to UNITS_PER_COMMIT units
    per query and transaction.
    """
    session = ctx.session
    cond = _Conditions(ctx)
    fig = ctx.fig
    day = f"{ctx.today:%Y-%m-%d}"
    counts = counts_by_unit(session, {"overdue": cond.overdue, "lagging": cond.lagging,
                                      "due_soon": cond.due_soon, "missing": cond.missing})
    done = ctx.delivered(DIGEST, f"day:{day}:unit:")
    todo = []
    for unit_id in sorted(counts):
        if unit_id not in ctx.directory.units:  # created after this run loaded the units: the next run
            continue
        people = [r for r in ctx.directory.for_unit(unit_id, UNIT_ROLES)
                  if r.user_id is None or wants_digest(r.digest, ctx.today)]
        wanted = ctx.wanted(people)
        if wanted and not wanted <= done.get(f"day:{day}:unit:{unit_id}", set()):
            todo.append((unit_id, people))
    sections = (
        ("overdue", "逾期问题(按逾期天数排列)", cond.overdue, [fig.days_overdue.desc(), Issue.deadline, Issue.id],
         dict(overdue=1, state="open", sort="-days_overdue")),
        ("lagging", "进度滞后(未逾期)的问题", cond.lagging, [Issue.deadline, Issue.id], dict(lagging=1, overdue=0)),
        ("due_soon", "临期问题", cond.due_soon, [Issue.deadline, Issue.id], dict(due_soon=1, overdue=0)),
        ("missing", f"未按时报送 {cond.period} 月度进展的问题(截止 {due_date(cond.period, ctx.settings):%Y-%m-%d})",
         cond.missing, [Issue.deadline, Issue.id], dict(late_period=cond.period)),
    )
    for start in range(0, len(todo), UNITS_PER_COMMIT):
        chunk = todo[start:start + UNITS_PER_COMMIT]
        ids = [unit_id for unit_id, _ in chunk]
        listed = {key: rows_by_unit(session, ids, section, order, SECTION_LIMIT, [fig.days_overdue, fig.light])
                  for key, _, section, order, _ in sections}
        for unit_id, people in chunk:
            unit = ctx.directory.units[unit_id]
            c = counts[unit_id]
            groups = []
            for key, title, _, _, link_args in sections:
                if not c[key]:
                    continue
                rows = listed[key].get(unit_id, [])
                groups.append(MailGroup(title=f"{title}:{c[key]} 项",
                                        items=[ctx.item(i, d, li) for i, d, li in rows],
                                        more=max(0, c[key] - len(rows)),
                                        more_link=ctx.list_link(unit=unit.code, **link_args)))
            summary = _summary(c)
            content = MailContent(
                subject=f"【督办摘要】{unit.name} {day}:{summary}",
                heading=f"{unit.name} 整改督办摘要({day})",
                intro=[f"截至 {day},本单位牵头或配合的问题中:{summary}。请抓紧推进。"],
                groups=groups,
                action_link=ctx.list_link(unit=unit.code, state="open"), action_label="登录系统查看本单位全部问题",
            )
            ctx.deliver(people, kind=DIGEST, ref=f"day:{day}:unit:{unit_id}", content=content,
                        link=f"/issues/?unit={unit.code}&state=open", unit_id=unit_id, notice_body=summary,
                        show_unit=True, digest=True)
        ctx.commit()
    return len(todo)


def supervisor_digest(ctx: RunContext) -> int:
    """The supervisors' digests: one per jurisdiction (the supervisors serving one area node get its
    issues; those without one, all units' issues), grouped by lead unit and ranked; return how many
    mails they have (already sent ones included)."""
    queued = 0
    for area, everyone in sorted(ctx.directory.by_area(("supervisor",)).items(), key=lambda kv: kv[0] or 0):
        queued += _area_digest(ctx, area, [r for r in everyone if wants_digest(r.digest, ctx.today)])
    return queued


def _area_digest(ctx: RunContext, area: Optional[int], people: list) -> int:
    """The digest of one jurisdiction for the supervisors serving it."""
    ref = f"day:{ctx.today:%Y-%m-%d}:all" if area is None else f"day:{ctx.today:%Y-%m-%d}:area:{area}"
    wanted = ctx.wanted(people)
    if not wanted or wanted <= ctx.delivered(DIGEST, ref).get(ref, set()):
        return 0
    session = ctx.session
    cond = _Conditions(ctx)
    scope, area_name = ctx.area_scope(area)
    if scope is not None:
        cond.anything = and_(cond.anything, scope)
        cond.missing = and_(cond.missing, scope)
    fig = ctx.fig
    per_unit: dict[int, dict[str, int]] = {}
    for unit_id, overdue, lagging, due_soon, max_days in session.execute(
            select(Issue.lead_unit_id, _flag(cond.overdue), _flag(cond.lagging), _flag(cond.due_soon),
                   func.max(fig.days_overdue))
            .where(cond.anything).group_by(Issue.lead_unit_id)):
        per_unit[unit_id] = {"overdue": int(overdue), "lagging": int(lagging), "due_soon": int(due_soon),
                             "missing": 0, "max_days": int(max_days or 0)}
    for unit_id, missing in session.execute(
            select(Issue.lead_unit_id, func.count()).where(cond.missing).group_by(Issue.lead_unit_id)):
        per_unit.setdefault(unit_id, {"overdue": 0, "lagging": 0, "due_soon": 0, "missing": 0, "max_days": 0})
        per_unit[unit_id]["missing"] = int(missing)
    per_unit = {u: c for u, c in per_unit.items() if any(c[k] for k in ("overdue", "lagging", "due_soon", "missing"))}
    if not per_unit:
        return 0
    ranking = sorted(per_unit.items(), key=lambda kv: (-kv[1]["overdue"], -kv[1]["max_days"],
                                                       ctx.directory.unit_name(kv[0])))
    top = [unit_id for unit_id, _ in ranking[:UNITS_LISTED]]
    rows = session.execute(ranked_per_unit(and_(cond.anything, Issue.lead_unit_id.in_(top)),
                                           [fig.days_overdue.desc(), Issue.deadline, Issue.id],
                                           PER_UNIT, [fig.days_overdue, fig.light])).all()
    items: dict[int, list] = {}
    for issue, days, light in rows:
        items.setdefault(issue.lead_unit_id, []).append(ctx.item(issue, days, light))
    totals = {k: sum(c[k] for _, c in ranking) for k in ("overdue", "lagging", "due_soon", "missing")}
    groups = []
    for rank, (unit_id, c) in enumerate(ranking, start=1):
        unit = ctx.directory.units.get(unit_id)
        listed = items.get(unit_id, [])
        shown = c["overdue"] + c["lagging"] + c["due_soon"]
        groups.append(MailGroup(
            title=f"{rank}. {unit.name if unit else unit_id}",
            summary=_summary(c) + (f";最长逾期 {c['max_days']} 天" if c["max_days"] else ""),
            items=listed, more=max(0, shown - len(listed)),
            more_link=ctx.list_link(unit=unit.code if unit else None, state="open", sort="-days_overdue"),
        ))
    summary = _summary(totals)
    content = MailContent(
        subject=f"【督办摘要】{area_name} {ctx.today:%Y-%m-%d}:{summary}",
        heading=f"{'' if area is None else area_name}整改督办摘要({ctx.today:%Y-%m-%d})",
        intro=[f"截至 {ctx.today:%Y-%m-%d},{'全部问题' if area is None else area_name + '的问题'}中:{summary},"
               f"涉及 {len(groups)} 个牵头单位。",
               f"以下按牵头单位的逾期问题数排列,前 {UNITS_LISTED} 个单位列出逾期天数最多的 {PER_UNIT} 项问题。"],
        groups=groups,
        action_link=ctx.list_link(overdue=1, state="open", sort="-days_overdue"), action_label="查看全部逾期问题",
    )
    queued = ctx.deliver(people, kind=DIGEST, ref=ref, content=content,
                         link="/issues/?overdue=1&state=open&sort=-days_overdue", notice_body=summary, digest=True)
    ctx.commit()
    return queued
