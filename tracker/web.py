"""What every HTML view does with a refused action: undo it and put it on record."""
from __future__ import annotations

import logging

from flask import request
from flask_login import current_user

from .extensions import db
from .workflow import Refusal

log = logging.getLogger("tracker.refused")


def undo_refused(refusal: Refusal) -> None:
    """Roll back the attempt and log who was refused what, and why."""
    db.session.rollback()
    who = current_user.username if getattr(current_user, "is_authenticated", False) else "-"
    log.warning("refused %s %s for %s: %s (%s)", request.method, request.path, who, refusal.message,
                refusal.kind)
