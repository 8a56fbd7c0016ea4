"""Every workflow action reaches the person who must act next, at the moment it is taken.

Subscribers of the issues' domain events, run in the action's own transaction:

| what happened             | who is told                                   |
| ------------------------- | --------------------------------------------- |
| submitted (提交销号申请)  | whoever may sign the chain's first step (an office holding the lead unit) |
| a step signed (验收通过)  | whoever may sign the next step (or approve), likewise |
| returned (退回), reason   | the lead unit's head and staff                |
| approved (销号)           | the lead and cooperating units' heads, staff  |
| reopened (重新打开)       | the lead unit's head and staff                |
| deadline changed          | the lead unit's head and staff                |
| extension requested       | the supervisors who may decide it             |
| extension decided         | the lead unit's head and staff                |

A deadline moved by an approved extension is told once, as the decision (not again as a change).

Each active recipient gets one in-app notice at once and one mail through the outbox — or, by
their preference (`UserPref.action_mail`), a line in their next digest instead. The person who
acted is never told of their own action. Notices, mails and lines are keyed on the timeline entry
(`entry:<id>`), so one action reaches one person once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from flask import current_app
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import joinedload

from tracker.accounts.models import User
from tracker.core import events
from tracker.core.enums import UNIT_ROLES, Action, ActionMail, DeadlineSource, NoticeKind
from tracker.core.extensions import DbSession
from tracker.core.labels import ROLE_LABELS
from tracker.core.sql import insert_ignore
from tracker.issues import chain
from tracker.issues.events import DeadlineChanged, ExtensionDecided, ExtensionRequested, IssueTransitioned
from tracker.issues.extensions import deciders
from tracker.issues.models import Issue, IssueUnit
from tracker.notify.models import DigestLine, UserPref
from tracker.notify.outbox import Mail, NoticeDraft, mail_config, queue
from tracker.notify.render import MailContent, MailGroup, MailItem, render


@dataclass(frozen=True)
class Person:
    """A user to tell: who, where to mail, and how they want the mail."""

    user_id: int
    name: str
    email: Optional[str]
    action_mail: str


def _people(session: DbSession, *conditions: ColumnElement[bool]) -> list[Person]:
    """Active users matching `conditions`, with their mail preference (one query)."""
    rows = session.execute(
        select(User.id, User.username, User.display_name, User.email, UserPref.action_mail)
        .outerjoin(UserPref, UserPref.user_id == User.id)
        .where(User.active.is_(True), *conditions)
        .order_by(User.id))
    return [Person(uid, display or username, email, pref or ActionMail.IMMEDIATE)
            for uid, username, display, email, pref in rows]


def next_signers(session: DbSession, issue: Issue) -> list[Person]:
    """Whoever may sign the approval-chain step the issue now waits for: the step's role, an office that
    fits the step's level and holds the issue's lead unit, not a signer of an earlier step."""
    step = chain.step_at(issue.round, chain.position_of(issue))
    if step is None:
        return []
    candidates = session.scalars(select(User).where(User.active.is_(True), User.role == step.role)
                                 .options(joinedload(User.unit))).all()
    ids = [u.id for u in chain.may_sign(session, issue, candidates)]
    return _people(session, User.id.in_(ids)) if ids else []


def unit_people(session: DbSession, unit_ids: Iterable[int]) -> list[Person]:
    """The heads and staff of these units."""
    ids = sorted(set(unit_ids))
    if not ids:
        return []
    return _people(session, User.unit_id.in_(ids), User.role.in_(UNIT_ROLES))


def lead_unit(session: DbSession, issue: Issue) -> list[Person]:
    """The issue's lead unit's heads and staff."""
    return unit_people(session, [issue.lead_unit_id])


def lead_and_cooperating(session: DbSession, issue: Issue) -> list[Person]:
    """The heads and staff of the issue's lead unit and of every cooperating unit."""
    cooperating = session.scalars(select(IssueUnit.unit_id).where(IssueUnit.issue_id == issue.id))
    return unit_people(session, [issue.lead_unit_id, *cooperating])


@dataclass(frozen=True)
class Rule:
    """Who is told of an action, and how it is put to them."""

    kind: NoticeKind
    recipients: Callable[[DbSession, Issue], list[Person]]
    tag: str  # the subject's bracket, e.g. 【退回】
    sentence: Callable[[str, Issue, Optional[str]], str]  # (who acted, issue, comment) -> what happened
    ask: str  # what the recipient should do next


RULES: dict[str, Rule] = {
    Action.SUBMIT: Rule(
        NoticeKind.SUBMITTED, next_signers, "待验收",
        lambda who, i, c: f"{who}提交了问题 {i.code}「{i.title}」的销号申请",
        "请核查整改情况和佐证材料,验收通过或退回。"),
    Action.VERIFY: Rule(
        NoticeKind.VERIFIED, next_signers, "待销号",
        lambda who, i, c: f"{who}签署了问题 {i.code}「{i.title}」的「{(c or '验收').split(':')[0]}」",
        "请审核后签署本环节(最后一步为批准销号),或退回并写明理由。"),
    Action.RETURN: Rule(
        NoticeKind.RETURNED, lead_unit, "退回",
        lambda who, i, c: f"{who}退回了问题 {i.code}「{i.title}」的销号申请,理由:{c or '(未写明)'}",
        "请按退回意见继续整改,补充材料后重新提交销号申请。"),
    Action.APPROVE: Rule(
        NoticeKind.APPROVED, lead_and_cooperating, "已销号",
        lambda who, i, c: f"问题 {i.code}「{i.title}」已由{who}批准销号",
        "请继续巩固整改成效,防止问题反弹。"),
    Action.REOPEN: Rule(
        NoticeKind.REOPENED, lead_unit, "重新打开",
        lambda who, i, c: f"{who}重新打开了已销号的问题 {i.code}「{i.title}」,理由:{c or '(未写明)'}",
        "请重新组织整改,按月报送进展。"),
}


def _who(session: DbSession, actor_id: Optional[int]) -> str:
    """The acting person as others read it: 张三(督察整改办)."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is None:
        return "系统"
    return f"{actor.name}({ROLE_LABELS.get(actor.role, actor.role)})"


def tell(session: DbSession, people: list[Person], *, kind: NoticeKind, ref: str, issue: Issue,
         tag: str, sentence: str, ask: str, at: datetime, actor_id: Optional[int]) -> None:
    """Give each person (but the actor) a notice, and a mail or a digest line as they prefer; flushes."""
    config = mail_config(current_app.config)
    people = [p for p in {p.user_id: p for p in people}.values() if p.user_id != actor_id]
    if not people:
        return
    link = f"/issues/{issue.id}"
    subject = f"【{tag}】{issue.code} {issue.title}"
    body = f"{sentence}。{ask}"
    content = MailContent(
        subject=subject, heading=f"{tag}:{issue.code}",
        intro=[f"{sentence}。", ask],
        groups=[MailGroup(items=[MailItem(code=issue.code, title=issue.title, link=config.base_url + link,
                                          deadline=issue.deadline.isoformat(), progress=issue.progress_percent)])],
        action_link=config.base_url + link, action_label="查看问题详情")
    text, html = render(content)
    mails = [Mail(kind=kind, ref=ref, to_addr=p.email, subject=subject, text=text, html=html, to_name=p.name,
                  user_id=p.user_id, issue_id=issue.id)
             for p in people if p.email and p.action_mail != ActionMail.DIGEST]
    notices = [NoticeDraft(user_id=p.user_id, kind=kind, ref=ref, title=subject, body=body, link=link,
                           issue_id=issue.id) for p in people]
    queue(session, mails, notices, at, config)
    lines = [{"user_id": p.user_id, "kind": kind, "ref": ref, "issue_id": issue.id, "text": body, "link": link,
              "created_at": at} for p in people if p.email and p.action_mail == ActionMail.DIGEST]
    if lines:
        session.execute(insert_ignore(session, DigestLine), lines)
    session.flush()


@events.subscribe(IssueTransitioned)
def tell_whoever_acts_next(session: DbSession, event: IssueTransitioned) -> None:
    """A submission, verification, return, approval or reopening reaches the next actor."""
    rule = RULES.get(event.action)
    issue = session.get(Issue, event.issue_id)
    if rule is None or issue is None:
        return
    sentence = rule.sentence(_who(session, event.actor_id), issue, event.comment)
    # In the chain, the subject names the step the issue now waits for (【待市级验收】).
    tag = chain.waiting_label(issue) or rule.tag
    tell(session, rule.recipients(session, issue), kind=rule.kind, ref=f"entry:{event.entry_id}", issue=issue,
         tag=tag, sentence=sentence, ask=rule.ask, at=event.at,
         actor_id=event.actor_id)


@events.subscribe(DeadlineChanged)
def tell_the_unit_of_a_new_deadline(session: DbSession, event: DeadlineChanged) -> None:
    """A moved deadline reaches the lead unit, with the old and new dates and why."""
    issue = session.get(Issue, event.issue_id)
    if issue is None or event.old is None or event.new is None or event.source == DeadlineSource.EXTENSION:
        return
    sentence = (f"{_who(session, event.actor_id)}将问题 {issue.code}「{issue.title}」的整改时限由 "
                f"{event.old:%Y-%m-%d} 调整为 {event.new:%Y-%m-%d}" + (f",理由:{event.reason}" if event.reason else ""))
    tell(session, lead_unit(session, issue), kind=NoticeKind.DEADLINE_CHANGED, ref=f"entry:{event.entry_id}",
         issue=issue, tag="整改时限调整", sentence=sentence,
         ask="请按新的整改时限安排整改并按月报送进展。", at=event.at, actor_id=event.actor_id)


def extension_deciders(session: DbSession, issue: Issue) -> list[Person]:
    """The supervisors who may decide the issue's extension requests (`permissions.DECIDE_EXTENSION`)."""
    return _people(session, deciders(session, issue))


@events.subscribe(ExtensionRequested)
def tell_the_office_of_an_extension_request(session: DbSession, event: ExtensionRequested) -> None:
    """A request for a later deadline reaches the supervisors who may decide it, with the dates and why."""
    issue = session.get(Issue, event.issue_id)
    if issue is None or event.old is None or event.new is None:
        return
    sentence = (f"{_who(session, event.actor_id)}申请将问题 {issue.code}「{issue.title}」的整改时限由 "
                f"{event.old:%Y-%m-%d} 延至 {event.new:%Y-%m-%d},理由:{event.reason}")
    tell(session, extension_deciders(session, issue), kind=NoticeKind.EXTENSION_REQUESTED,
         ref=f"entry:{event.entry_id}", issue=issue, tag="延期申请", sentence=sentence,
         ask="请审核延期理由,批准、按其他日期批准或驳回。", at=event.at, actor_id=event.actor_id)


@events.subscribe(ExtensionDecided)
def tell_the_unit_of_an_extension_decision(session: DbSession, event: ExtensionDecided) -> None:
    """The decision on a request reaches the lead unit: the new deadline, or why it was rejected."""
    issue = session.get(Issue, event.issue_id)
    if issue is None:
        return
    who = _who(session, event.actor_id)
    if event.approved and event.old is not None and event.granted is not None:
        sentence = (f"{who}批准了问题 {issue.code}「{issue.title}」的延期申请,整改时限由 {event.old:%Y-%m-%d} "
                    f"调整为 {event.granted:%Y-%m-%d}" + (f",意见:{event.reason}" if event.reason else ""))
        tag, ask = "延期已批准", "请按新的整改时限完成整改,并按月报送进展。"
    else:
        asked = f"(申请延至 {event.asked:%Y-%m-%d})" if event.asked else ""
        sentence = f"{who}驳回了问题 {issue.code}「{issue.title}」的延期申请{asked},理由:{event.reason or '(未写明)'}"
        tag, ask = "延期申请被驳回", "请按现整改时限抓紧整改。"
    tell(session, lead_unit(session, issue), kind=NoticeKind.EXTENSION_DECIDED, ref=f"entry:{event.entry_id}",
         issue=issue, tag=tag, sentence=sentence, ask=ask, at=event.at, actor_id=event.actor_id)
