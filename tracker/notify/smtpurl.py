"""TRACKER_SMTP_URL: smtp://user:pass@host:587?starttls=true, or smtps://user:pass@host:465."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class MailConfigError(ValueError):
    """The SMTP URL cannot be used; the message is Chinese and never contains the password."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: parsed from the SMTP URL."""

    host: str
    port: int
    ssl: bool = False
    starttls: bool = False
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    timeout: float = 30.0

    def describe(self) -> str:
        """The server as it may be shown and logged: no password."""
        scheme = "smtps" if self.ssl else "smtp"
        user = f"{self.username}@" if self.username else ""
        tls = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"


def _flag(name: str, values: list[str]) -> bool:
    raw = values[-1].strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise MailConfigError(f"邮件服务器地址的参数 {name} 只能是 true 或 false。")


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse an SMTP URL; raise MailConfigError saying what is wrong (without the password)."""
    url = (url or "").strip()
    if not url:
        raise MailConfigError("未配置邮件服务器地址(TRACKER_SMTP_URL)。")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise MailConfigError(
            "邮件服务器地址格式不正确(端口无效),应形如 smtp://用户:密码@主机:587?starttls=true。") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise MailConfigError("邮件服务器地址应以 smtp:// 或 smtps:// 开头。")
    host = parts.hostname
    if not host:
        raise MailConfigError("邮件服务器地址缺少主机名。")
    if any(ch in url for ch in "\r\n\t "):
        raise MailConfigError("邮件服务器地址不能包含空白字符。")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise MailConfigError(f"邮件服务器地址含有未知参数:{', '.join(sorted(unknown))}(可用 starttls、timeout)。")
    starttls = _flag("starttls", query["starttls"]) if "starttls" in query else False
    if starttls and scheme == "smtps":
        raise MailConfigError("smtps:// 已是加密连接,不能再设置 starttls=true。")
    timeout = 30.0
    if "timeout" in query:
        try:
            timeout = float(query["timeout"][-1])
        except ValueError:
            raise MailConfigError("邮件服务器地址的参数 timeout 必须是秒数。") from None
        if not 0 < timeout <= 600:
            raise MailConfigError("邮件服务器地址的参数 timeout 必须在 0 到 600 秒之间。")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise MailConfigError("邮件服务器地址给了密码却没有用户名。")
    return SmtpSettings(host=host, port=port or DEFAULT_PORTS[scheme], ssl=scheme == "smtps",
                        starttls=starttls, username=username, password=password, timeout=timeout)
