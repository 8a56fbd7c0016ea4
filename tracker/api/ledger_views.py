"""API ledger import: POST /api/v1/imports/ledger reads an Excel ledger, previews or applies it."""
from __future__ import annotations

from flask import current_app, jsonify, request

from .. import clock
from ..extensions import db
from ..services import ledger_import
from . import bp, schemas
from .auth import current_api_user

CONFIRM_VALUES = {"true": True, "1": True, "false": False, "0": False, "": False}


@bp.post("/imports/ledger")
def import_ledger():
    """Preview an Excel ledger (multipart `file`), or with `confirm=true` create and update its issues."""
    upload = request.files.get("file")
    if upload is None:
        raise schemas.bad_request("请以 multipart/form-data 上传台账文件,字段名为 file。")
    confirm = CONFIRM_VALUES.get(request.form.get("confirm", "").strip().lower())
    if confirm is None:
        raise schemas.bad_request("字段 confirm 应为 true 或 false。")
    round_id = request.form.get("round_id", "").strip()
    if round_id and not round_id.isdigit():
        raise schemas.bad_request("字段 round_id 应为整数。")
    preview = ledger_import.read_ledger(
        upload.stream, db.session, actor=current_api_user(), round_id=int(round_id) if round_id else None,
        max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
    )
    body = {"rows": len(preview.rows), "errors": preview.errors, "warnings": preview.warnings,
            **preview.counts()}
    if not confirm:
        return jsonify(body)
    if not preview.ok:
        # Nothing is written: the caller gets every error to fix at once.
        return jsonify(error=f"台账有 {len(preview.errors)} 处错误,请修改后重新上传;未写入任何数据。",
                       **body), 422
    created, updated = ledger_import.apply_ledger(db.session, current_api_user(), clock.now(), clock.today(),
                                                  preview)
    db.session.commit()
    return jsonify(created=created, updated=updated)
