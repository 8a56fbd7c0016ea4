"""What HTML views share: the glue of a form view, undoing and recording a refused action, sending a
generated workbook, checking a link.

Views are thin: validate the form, call one service, commit, respond — `attempt` does the middle
for every form view. A `Refusal` rolls the attempt back and is logged here (`undo_refused`),
wherever it is caught, and is shown beside the form field it names (else at the top of the page).
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Generic, Optional, TypeVar, Union
from urllib.parse import quote

from flask import Response, flash, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm

from tracker.core.errors import Refusal
from tracker.core.extensions import db

log = logging.getLogger("tracker.refused")


def undo_refused(refusal: Refusal) -> None:
    """Roll back the attempt and log who was refused what, and why."""
    db.session.rollback()
    who = current_user.username if getattr(current_user, "is_authenticated", False) else "-"
    log.warning("refused %s %s for %s: %s (%s)", request.method, request.path, who, refusal.message,
                refusal.kind)


T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What an attempt came to: done, with the service's result; or not, with the status to answer
    (422 for a form that did not validate, the refusal's own status otherwise)."""

    done: bool
    result: Optional[T] = None
    status: int = 200
    refusal: Optional[Refusal] = None


def show_refusal(form: Optional[FlaskForm], refusal: Refusal, fields: Mapping[str, str] = {}) -> None:
    """Put a refusal beside the form field it names (`fields` maps a service's field name to the form's),
    or flash it at the top of the page. A form with a `place_refusal(refusal) -> bool` method places
    what it knows better itself (a table of rows, say)."""
    place = getattr(form, "place_refusal", None)
    if place is not None and place(refusal):
        return
    name = fields.get(refusal.field or "", refusal.field)
    field = form._fields.get(name) if form is not None and name else None
    if field is not None:
        field.errors = [*list(field.errors or []), refusal.message]
    else:
        flash(refusal.message, "danger")


def attempt(call: Callable[[], T], *, form: Optional[FlaskForm] = None,
            done: Union[str, Callable[[T], str], None] = None, fields: Mapping[str, str] = {}) -> Outcome[T]:
    """The glue of every form view: validate `form` (when given), run `call` (one service call), commit,
    and flash `done` (a message, or a function of the result). A refusal is undone, logged and shown
    (`show_refusal`); nothing is committed. The view then redirects when done, or renders again with
    `outcome.status`."""
    if form is not None and not form.validate_on_submit():
        return Outcome(False, status=422)
    try:
        result = call()
    except Refusal as refusal:
        undo_refused(refusal)
        show_refusal(form, refusal, fields)
        return Outcome(False, status=refusal.status, refusal=refusal)
    db.session.commit()
    if done is not None:
        message = done(result) if callable(done) else done
        if message:
            flash(message, "success")
    return Outcome(True, result)


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
