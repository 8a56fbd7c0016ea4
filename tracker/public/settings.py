"""The switch of the public page, kept as one row of the `job_settings` table.

The jobs' settings (tracker.jobs.settings) ignore keys they do not know, so this
key lives beside them without touching their validation.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Optional

from sqlalchemy.orm import Session

from tracker import workflow
from tracker.models import User
from tracker.jobs.settings import put_setting
from tracker.notify_models import JobSetting
from tracker.workflow import Refusal

log = logging.getLogger(__name__)

KEY = "public_page_enabled"
# The page is on until an admin turns it off.
DEFAULT = True


def is_enabled(session: Session) -> bool:
    """Whether the public page is on; a missing or unreadable value means the default."""
    row = session.get(JobSetting, KEY)
    if row is None:
        return DEFAULT
    try:
        value = json.loads(row.value)
    except ValueError:
        value = None
    if not isinstance(value, bool):
        log.warning("setting %s is unreadable (%r); using the default", KEY, row.value)
        return DEFAULT
    return value


def set_enabled(session: Session, actor: Optional[User], now: datetime, enabled: bool) -> bool:
    """Turn the public page on or off; admins only (None: the system). Flushes, never commits."""
    if actor is not None and not workflow.may_administer(actor.role):
        raise Refusal("forbidden", "只有系统管理员可以开启或关闭整改公示页面。")
    enabled = bool(enabled)
    put_setting(session, KEY, enabled, actor, now)
    session.flush()
    return enabled
