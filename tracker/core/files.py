"""Evidence storage: files kept by SHA-256 under the upload directory, types checked on content."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype

from tracker.core.errors import Refusal

# Allowed extensions and the content kinds (as `filetype` names them) each may carry.
OFFICE_ZIP = {"zip", "docx", "xlsx", "pptx"}
OLE2 = {"doc", "xls", "ppt", "msi"}
ALLOWED = {
    "pdf": {"pdf"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "png": {"png"},
    "gif": {"gif"},
    "bmp": {"bmp"},
    "tif": {"tif"},
    "tiff": {"tif"},
    "webp": {"webp"},
    "zip": {"zip"},
    "docx": OFFICE_ZIP,
    "xlsx": OFFICE_ZIP,
    "pptx": OFFICE_ZIP,
    "doc": OLE2,
    "xls": OLE2,
    "ppt": OLE2,
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
ALLOWED_TEXT = "PDF、图片(JPG/PNG/GIF/BMP/TIFF/WEBP)、Word、Excel、PowerPoint 或 ZIP 压缩包"


@dataclass(frozen=True)
class StoredFile:
    """What was stored: its hash, size, content type and a safe display name."""

    sha256: str
    size: int
    content_type: str
    filename: str


def safe_filename(name: str) -> str:
    """Keep only the last path part of an uploaded name, without control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|*?:')
    return name.strip()[:200] or "file"


def path_for(upload_dir: str, sha256: str) -> Path:
    """Where the file with this hash lives."""
    return Path(upload_dir) / sha256[:2] / sha256


def store(upload_dir: str, stream: IO[bytes], filename: str, max_bytes: int) -> StoredFile:
    """Check and store an upload; raise Refusal for a refused type or size."""
    name = safe_filename(filename or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        raise Refusal("invalid", f"不支持的文件类型「{ext or '无扩展名'}」,只接受{ALLOWED_TEXT}。", "file")
    Path(upload_dir).mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=upload_dir, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise Refusal("too_large", f"文件超过大小上限 {max_bytes // (1024 * 1024)} MB。", "file")
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Refusal("invalid", "文件是空的。", "file")
        kind = filetype.guess(head)
        found = kind.extension if kind else None
        if found not in ALLOWED[ext]:
            raise Refusal(
                "invalid",
                f"文件内容与扩展名「.{ext}」不符(检测为 {found or '未知类型'}),只接受{ALLOWED_TEXT}。",
                "file",
            )
        sha = digest.hexdigest()
        final = path_for(upload_dir, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
        return StoredFile(sha, size, CONTENT_TYPES[ext], name)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
