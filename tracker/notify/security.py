"""Account-security notices (ASVS 2.2.3, 2.5.5, 2.8.5): a user is told when their password is changed
(by themself), reset (by an admin, or on the command line), every API token of theirs is revoked by
someone else, or a code of their second factor is given again after it was used.

Each such change publishes `tracker.accounts.events.CredentialsChanged` in its own transaction;
the subscriber below writes, in that transaction, an in-app notice and — when the user has an
address — a mail through the outbox. These are not subject to the notification preferences: a
security notice cannot be turned off or moved into a digest, for a notice one could switch off
would not warn the person whose account was taken over. The mail says what changed, when, by whom
and from which address (when known), and what to do if it was not them; it never holds a password.
"""
from __future__ import annotations

from typing import Optional

from flask import current_app

from tracker.accounts.events import ADMIN, CLI, CredentialsChanged
from tracker.accounts.models import User
from tracker.core import events
from tracker.core.enums import NoticeKind
from tracker.core.extensions import DbSession
from tracker.core.templating import local_time
from tracker.notify.outbox import Mail, NoticeDraft, mail_config, queue
from tracker.notify.render import MailContent, render

TAG = "账号安全"
FOOTER = ("本邮件由督察反馈问题整改系统自动发送,请勿直接回复。账号安全通知总会发送,"
          "不能在“通知设置”中关闭。")
IF_NOT_YOU = "如果这不是您本人的操作或您对此不知情,请立即联系系统管理员,核实情况并重置密码。"


def _by(session: DbSession, event: CredentialsChanged) -> str:
    """Who made the change, as the user reads it."""
    if event.how == CLI:
        return "系统管理员在服务器上通过命令行"
    if event.how == ADMIN:
        actor = session.get(User, event.actor_id) if event.actor_id is not None else None
        return f"系统管理员{actor.name}" if actor is not None else "系统管理员"
    return "您本人"


def _where(event: CredentialsChanged) -> str:
    """From which address, when known."""
    if event.how == CLI:
        return ""
    return f"(来自地址 {event.ip})" if event.ip else ""


def _content(session: DbSession, user: User, event: CredentialsChanged) -> tuple[NoticeKind, str, list[str], str,
                                                                                   str]:
    """(kind, subject, paragraphs, link, link label) of the notice of this change."""
    when = local_time(event.at, "%Y-%m-%d %H:%M")
    who = f"{_by(session, event)}{_where(event)}"
    if event.what == "mfa_reused":
        return (NoticeKind.MFA_CODE_REUSED, f"【{TAG}】有人重复使用了您的动态验证码", [
            f"{when}(北京时间){_where(event)}有人用您的账号「{user.username}」登录时,输入了一个已经用过的"
            "动态验证码;系统已拒绝该次登录。",
            "这可能是您本人重复提交,也可能是他人看到或截获了您的密码和验证码。",
            "如果这不是您本人的操作,请立即修改密码,并联系系统管理员重置双因素认证。"],
            "/password", "修改密码")
    if event.what == "tokens":
        return (NoticeKind.TOKENS_REVOKED, f"【{TAG}】您的访问令牌已被撤销", [
            f"您的账号「{user.username}」的全部 {event.tokens} 个 API 访问令牌已于 {when}(北京时间)"
            f"由{who}撤销。",
            "使用这些令牌的程序将无法再访问系统,须重新登录获取新令牌。",
            IF_NOT_YOU], "/account/tokens", "查看我的访问令牌")
    if event.how == "self":
        done = f"您的账号「{user.username}」的登录密码已于 {when}(北京时间)由{who}修改。"
        next_step = "其他设备上的登录均已失效,全部 API 访问令牌已撤销。"
    else:
        done = f"您的账号「{user.username}」的登录密码已于 {when}(北京时间)由{who}重置。"
        next_step = "您此前的登录均已失效,全部 API 访问令牌已撤销。新密码请向系统管理员当面或电话索取"
        next_step += ",首次登录后须立即修改。" if user.must_change_password else "。"
    return NoticeKind.PASSWORD_CHANGED, f"【{TAG}】您的登录密码已{'修改' if event.how == 'self' else '重置'}", [
        done, next_step, IF_NOT_YOU], "/password", "修改密码"


@events.subscribe(CredentialsChanged)
def tell_the_user_of_a_credentials_change(session: DbSession, event: CredentialsChanged) -> None:
    """Write the notice and (with an address) the mail of a password change or token revocation; flushes."""
    user = session.get(User, event.user_id)
    if user is None:
        return
    config = mail_config(current_app.config)
    kind, subject, paragraphs, link, label = _content(session, user, event)
    content = MailContent(subject=subject, heading=subject, intro=paragraphs, action_link=config.base_url + link,
                          action_label=label, footer=FOOTER)
    text, html = render(content)
    ref = f"user:{user.id}:{event.ref}"
    mails: list[Mail] = []
    address: Optional[str] = user.email
    if address:
        mails.append(Mail(kind=kind, ref=ref, to_addr=address, subject=subject, text=text, html=html,
                          to_name=user.name, user_id=user.id))
    notice = NoticeDraft(user_id=user.id, kind=kind, ref=ref, title=subject, body="".join(paragraphs), link=link)
    queue(session, mails, [notice], event.at, config)
    session.flush()
