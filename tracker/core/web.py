"""What HTML views share: undo and record a refused action, send a generated workbook, check a link.

Views are thin: validate the form, call one service, commit, respond. A `Refusal` rolls the
attempt back and is logged here (`undo_refused`), wherever it is caught.
"""
from __future__ import annotations

import logging
import tempfile
from typing import IO, Callable, Optional
from urllib.parse import quote

from flask import Response, request, send_file
from flask_login import current_user

from tracker.core.errors import Refusal
from tracker.core.extensions import db

log = logging.getLogger("tracker.refused")


def undo_refused(refusal: Refusal) -> None:
    """Roll back the attempt and log who was refused what, and why."""
    db.session.rollback()
    who = current_user.username if getattr(current_user, "is_authenticated", False) else "-"
    log.warning("refused %s %s for %s: %s (%s)", request.method, request.path, who, refusal.message,
                refusal.kind)


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Workbooks up to this size stay in memory; larger ones go to a temporary file on disk.
SPOOL_BYTES = 8 * 1024 * 1024


def attachment_headers(response: Response, name: str, ascii_name: str) -> Response:
    """Mark a response as a private download named `name` (RFC 5987), with `ascii_name` for old clients."""
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def send_workbook(write: Callable[[IO[bytes]], object], name: str, ascii_name: str) -> Response:
    """Write a workbook (openpyxl needs a file) to a spooled temporary file and send it in blocks."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        write(spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    # send_file streams the file and closes it when the response is done.
    response = send_file(spool, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name, max_age=0)
    return attachment_headers(response, name, ascii_name)


def safe_local_link(link: Optional[str]) -> Optional[str]:
    """A notice's link if it is a path on this site, else None (never an open redirect)."""
    if not link:
        return None
    link = link.strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    if any(ch in link for ch in "\r\n\t") or any(ord(ch) < 32 for ch in link):
        return None
    return link
