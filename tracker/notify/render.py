"""Mail bodies: one layout (heading, paragraphs, groups of issue rows) in HTML and plain text.

Rendered with Jinja2 autoescaping, so a title such as "<b>" or "a & b" shows as text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from jinja2 import DictLoader, Environment, StrictUndefined

FOOTER = "本邮件由督察反馈问题整改系统自动发送,请勿直接回复。如需调整摘要邮件频率,请登录系统在“通知设置”中修改。"


@dataclass
class MailItem:
    """One issue row in a mail."""

    code: str
    title: str
    link: str
    light_label: str = ""
    deadline: str = ""
    days_overdue: int = 0
    progress: Optional[int] = None
    unit: str = ""
    note: str = ""


@dataclass
class MailGroup:
    """A titled list of issue rows, with how many more were left out."""

    title: str = ""
    summary: str = ""
    items: list[MailItem] = field(default_factory=list)
    more: int = 0
    more_link: str = ""


@dataclass
class MailContent:
    """What a mail says; rendered into both parts."""

    subject: str
    heading: str
    intro: list[str] = field(default_factory=list)
    groups: list[MailGroup] = field(default_factory=list)
    action_link: str = ""
    action_label: str = ""
    footer: str = FOOTER


HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ c.subject }}</title></head>
<body style="font-family:-apple-system,'Microsoft YaHei','PingFang SC',sans-serif;font-size:14px;color:#222;">
<h2 style="font-size:18px;">{{ c.heading }}</h2>
{% for p in c.intro %}<p>{{ p }}</p>
{% endfor %}
{% for g in c.groups %}
{% if g.title %}<h3 style="font-size:15px;margin-top:20px;">{{ g.title }}</h3>{% endif %}
{% if g.summary %}<p>{{ g.summary }}</p>{% endif %}
{% if g.items %}<table cellpadding="4" cellspacing="0" border="1" style="border-collapse:collapse;border-color:#ccc;">
<thead><tr style="background:#f2f2f2;"><th>编号</th><th>问题</th>{% if show_unit %}<th>牵头单位</th>{% endif %}<th>灯</th><th>整改时限</th><th>逾期天数</th><th>进度</th><th>说明</th></tr></thead>
<tbody>
{% for i in g.items %}<tr><td><a href="{{ i.link }}">{{ i.code }}</a></td><td>{{ i.title }}</td>{% if show_unit %}<td>{{ i.unit }}</td>{% endif %}<td>{{ i.light_label }}</td><td>{{ i.deadline }}</td><td>{{ i.days_overdue if i.days_overdue else "" }}</td><td>{{ "%d%%" % i.progress if i.progress is not none else "" }}</td><td>{{ i.note }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% if g.more %}<p>另有 {{ g.more }} 项未列出,{% if g.more_link %}<a href="{{ g.more_link }}">请登录系统查看</a>{% else %}请登录系统查看{% endif %}。</p>{% endif %}
{% endfor %}
{% if c.action_link %}<p><a href="{{ c.action_link }}">{{ c.action_label or c.action_link }}</a></p>{% endif %}
<p style="color:#888;font-size:12px;margin-top:24px;">{{ c.footer }}</p>
</body></html>
"""

TEXT = """{{ c.heading }}
{% for p in c.intro %}
{{ p }}
{% endfor %}
{% for g in c.groups %}
{% if g.title %}【{{ g.title }}】
{% endif %}{% if g.summary %}{{ g.summary }}
{% endif %}{% for i in g.items %}- {{ i.code }} {{ i.title }}{% if show_unit and i.unit %}|{{ i.unit }}{% endif %}{% if i.light_label %}|{{ i.light_label }}{% endif %}{% if i.deadline %}|时限 {{ i.deadline }}{% endif %}{% if i.days_overdue %}|逾期 {{ i.days_overdue }} 天{% endif %}{% if i.progress is not none %}|进度 {{ i.progress }}%{% endif %}{% if i.note %}|{{ i.note }}{% endif %}
  {{ i.link }}
{% endfor %}{% if g.more %}另有 {{ g.more }} 项未列出,请登录系统查看{% if g.more_link %}:{{ g.more_link }}{% endif %}
{% endif %}{% endfor %}
{% if c.action_link %}{{ c.action_label }}:{{ c.action_link }}
{% endif %}
--
{{ c.footer }}
"""

_html_env = Environment(loader=DictLoader({"mail.html": HTML}), autoescape=True, undefined=StrictUndefined)
_text_env = Environment(loader=DictLoader({"mail.txt": TEXT}), autoescape=False, undefined=StrictUndefined,
                        keep_trailing_newline=True)


def render(content: MailContent, show_unit: bool = False) -> tuple[str, str]:
    """Return (plain text, HTML) of the mail."""
    text = _text_env.get_template("mail.txt").render(c=content, show_unit=show_unit)
    html = _html_env.get_template("mail.html").render(c=content, show_unit=show_unit)
    return text, html
