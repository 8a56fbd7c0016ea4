"""Evidence storage: files kept by SHA-256 under the upload directory, types checked on content;
and the one check every reader of an uploaded archive (.xlsx, .docx) makes before parsing it.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Optional, Union

import filetype

from tracker.core.antivirus import ClamdScanner, check_upload
from tracker.core.errors import Refusal
from tracker.core.security_log import security_event

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


def store(upload_dir: str, stream: IO[bytes], filename: str, max_bytes: int,
          scanner: Optional[ClamdScanner] = None, user: Optional[str] = None) -> StoredFile:
    """Check and store an upload; raise Refusal for a refused type or size, and, with a `scanner`,
    for a file clamd finds infected or cannot scan (`tracker.core.antivirus.check_upload`)."""
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
        with open(tmp, "rb") as written:  # scanned as written, before it is kept under its hash
            check_upload(scanner, written, name, user=user)
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


# --- archives (.xlsx, .docx): refused before parsing when they would unpack too large ---------

@dataclass(frozen=True)
class ArchiveLimits:
    """How large an uploaded archive may unpack: total uncompressed bytes, the compression ratio
    of any large member, and the number of members (TRACKER_ARCHIVE_* settings)."""

    max_total_bytes: int = 100 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 10_000


# Members smaller than this are not held to the ratio: a small file may compress extremely well
# (a sheet of empty styles) without unpacking to anything that matters.
RATIO_MIN_BYTES = 1024 * 1024


ARCHIVE_TOO_LARGE = "文件解压后过大(超过 {mb} MB),可能是压缩炸弹,已拒绝读取;请删除多余的内容或拆分后再上传。"
ARCHIVE_RATIO = "文件中「{name}」的压缩比异常(超过 {ratio} 倍),可能是压缩炸弹,已拒绝读取。"
ARCHIVE_MEMBERS = "文件包含的部件过多(超过 {count} 个),已拒绝读取。"


def archive_limits(config: Mapping[str, Any]) -> ArchiveLimits:
    """The archive limits of the app's config (`tracker.config`), defaults where unset."""
    default = ArchiveLimits()
    return ArchiveLimits(
        max_total_bytes=int(config.get("ARCHIVE_MAX_BYTES", default.max_total_bytes)),
        max_ratio=int(config.get("ARCHIVE_MAX_RATIO", default.max_ratio)),
        max_members=int(config.get("ARCHIVE_MAX_MEMBERS", default.max_members)),
    )


def _refused(reason: str, **fields: Any) -> None:
    # A likely decompression bomb is worth a line in the security log, not only the refusal's.
    security_event("archive_refused", level=logging.WARNING, reason=reason, **fields)


def check_archive(source: Union[bytes, IO[bytes]], limits: ArchiveLimits, field: str = "file") -> None:
    """Refuse (413 `Refusal`) a zip archive that would unpack too large, reading only its directory.

    Checked against `limits`: the number of members, each member's compression ratio (members
    over RATIO_MIN_BYTES) and the total uncompressed size. The sizes are the ones the central
    directory declares, and they are the ones that count: Python's zipfile, through which openpyxl
    and python-docx read every member, never yields more bytes than a member's declared size
    (a member lying about it fails its CRC check instead). Something that is no zip archive at all
    is let through for the parser to refuse with its own message. A stream is left at its start.
    """
    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    start = stream.tell()
    try:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError):
            return
        with archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                _refused("members", members=len(members))
                raise Refusal("too_large", ARCHIVE_MEMBERS.format(count=limits.max_members), field)
            total = 0
            for member in members:
                size = member.file_size
                if size > RATIO_MIN_BYTES and size > limits.max_ratio * max(member.compress_size, 1):
                    _refused("ratio", member=member.filename, size=size, compressed=member.compress_size)
                    raise Refusal("too_large", ARCHIVE_RATIO.format(
                        name=safe_filename(member.filename), ratio=limits.max_ratio), field)
                total += size
                if total > limits.max_total_bytes:
                    _refused("total", size=total)
                    raise Refusal("too_large", ARCHIVE_TOO_LARGE.format(
                        mb=limits.max_total_bytes // (1024 * 1024)), field)
    finally:
        stream.seek(start)


# --- viewing in the page: only kinds a browser shows safely, judged by the stored bytes ---------

# What a browser may show inside the page, by the content kind `filetype` finds in the file's bytes
# (never by its name or the type stored at upload): photos and PDF. Anything else is download-only.
INLINE_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
# The types the issue page offers to view (by the type stored at upload, to save reading every file
# for the page; the view itself checks the bytes again).
VIEWABLE_CONTENT_TYPES = frozenset(INLINE_TYPES.values())
PHOTO_CONTENT_TYPES = frozenset(t for t in VIEWABLE_CONTENT_TYPES if t.startswith("image/"))


def inline_type(path: Path) -> Optional[str]:
    """The Content-Type to show the stored file at `path` inline with, read from its first bytes,
    or None when it is no photo or PDF (then it is only ever sent as a download)."""
    with open(path, "rb") as stored:
        head = stored.read(8192)
    kind = filetype.guess(head)
    return INLINE_TYPES.get(kind.extension) if kind else None
