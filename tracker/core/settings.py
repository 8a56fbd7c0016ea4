"""Settings of the jobs, stored in `job_settings` and edited by admins on the settings page.

`get_settings` never fails: a missing or unreadable stored value falls back to its
default (and is logged). `save_settings` validates everything it is given and
refuses a malformed value with Refusal("invalid", message, field).
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional

from sqlalchemy.orm import Session

from tracker.core.models import JobSetting
from tracker.core.permissions import Actor


def put_setting(session: Session, key: str, value: Any, actor: Optional[Actor], now: datetime) -> None:
    """Store one setting row as JSON, stamped with who (None: the system) and when; flushes nothing."""
    encoded = json.dumps(value, ensure_ascii=False)
    row = session.get(JobSetting, key)
    if row is None:
        session.add(JobSetting(key=key, value=encoded, updated_at=now, updated_by_id=actor.id if actor else None))
    else:
        row.value = encoded
        row.updated_at = now
        row.updated_by_id = actor.id if actor else None
