"""Antivirus scanning of uploads (ASVS 12.4.2) through a ClamAV daemon (clamd).

With TRACKER_CLAMD_URL set (`unix:///run/clamav/clamd.ctl` or `tcp://127.0.0.1:3310`), every upload
that is kept or parsed (evidence, ledgers, plans) is streamed to clamd with its INSTREAM command before
it is stored: a file clamd finds infected is refused (422, `upload_infected` in the security log), and
an upload is refused as well (503) when clamd cannot be asked or does not answer clearly, so that no
file is ever kept unscanned (fail closed). Without the setting nothing is scanned; production should
run clamd (README, 配置).

The protocol is clamd's own (clamd(8), "INSTREAM"): `zINSTREAM\\0`, then chunks each preceded by its
length as 4 bytes big-endian, a zero length to end, and one reply `stream: OK` or
`stream: <signature> FOUND`, NUL-terminated. It is a few lines over a socket, so it is written here
rather than taken from the Python clamd clients on PyPI, which are no longer maintained.
"""
from __future__ import annotations

import io
import logging
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Optional, Union
from urllib.parse import urlsplit

from tracker.core.errors import Refusal
from tracker.core.security_log import security_event

CHUNK = 64 * 1024
# How long one upload may wait for clamd (connect, send, the verdict), in seconds.
DEFAULT_TIMEOUT = 30.0

INFECTED_MESSAGE = "文件「{name}」未通过病毒扫描(检出 {signature}),已拒绝上传。"
UNAVAILABLE_MESSAGE = "病毒扫描服务暂时不可用,文件未保存;请稍后再上传,或联系管理员。"

log = logging.getLogger("tracker.antivirus")


class ScannerError(Exception):
    """clamd could not be asked, or did not answer with a verdict."""


@dataclass(frozen=True)
class ClamdScanner:
    """A clamd reached over a unix socket (`unix:///path`) or TCP (`tcp://host:port`)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.url)
        if parts.scheme == "unix" and parts.path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Union[str, tuple[str, int]] = parts.path
        elif parts.scheme == "tcp" and parts.hostname:
            sock = socket.socket(socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, socket.SOCK_STREAM)
            address = (parts.hostname, parts.port or 3310)
        else:
            raise ScannerError(f"unsupported clamd address {self.url!r} (unix:///path or tcp://host:port)")
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock

    def scan(self, stream: IO[bytes]) -> Optional[str]:
        """Stream the rest of `stream` to clamd: None when clean, else the signature found.

        Raises ScannerError when clamd is unreachable or answers anything but a verdict
        (a size limit exceeded, say): the caller must then refuse the file, not keep it.
        """
        try:
            with self._connect() as sock:
                try:
                    sock.sendall(b"zINSTREAM\0")
                    while chunk := stream.read(CHUNK):
                        sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                    sock.sendall(struct.pack(">I", 0))
                except (BrokenPipeError, ConnectionResetError):
                    # clamd answers early and hangs up (past its StreamMaxLength): read why.
                    pass
                reply = _read_reply(sock)
        except OSError as exc:
            raise ScannerError(f"clamd at {self.url} unreachable: {exc}") from exc
        text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        if not text:
            raise ScannerError(f"clamd at {self.url} hung up without a verdict")
        # "stream: OK" | "stream: <signature> FOUND" | "<message> ERROR"
        verdict = text.split(": ", 1)[1] if text.startswith("stream: ") else text
        if verdict == "OK":
            return None
        if verdict.endswith(" FOUND"):
            return verdict[: -len(" FOUND")].strip() or "unknown"
        raise ScannerError(f"clamd at {self.url} answered {text!r}")


def _read_reply(sock: socket.socket) -> bytes:
    """clamd's NUL-terminated reply (whatever came before it hung up)."""
    reply = b""
    while not reply.endswith(b"\0"):
        try:
            part = sock.recv(4096)
        except ConnectionResetError:
            break
        if not part:
            break
        reply += part
    return reply


def scanner_from_config(config: Mapping[str, Any]) -> Optional[ClamdScanner]:
    """The scanner of the app's config (CLAMD_URL, CLAMD_TIMEOUT), or None when scanning is off."""
    url = config.get("CLAMD_URL")
    if not url:
        return None
    return ClamdScanner(str(url), float(config.get("CLAMD_TIMEOUT", DEFAULT_TIMEOUT)))


def check_upload(scanner: Optional[ClamdScanner], source: Union[bytes, IO[bytes]], filename: str,
                 user: Optional[str] = None, field: str = "file") -> None:
    """Refuse an upload clamd finds infected (422) or cannot scan (503); nothing when `scanner` is None.

    `source` is the upload's bytes or a seekable stream, read from its start and left there.
    """
    if scanner is None:
        return
    stream: IO[bytes]
    if isinstance(source, (bytes, bytearray)):
        stream = io.BytesIO(source)
    else:
        stream = source
        stream.seek(0)
    try:
        signature = scanner.scan(stream)
    except ScannerError as exc:
        log.error("upload not scanned, refused: %s", exc)
        security_event("upload_scan_failed", level=logging.ERROR, user=user, filename=filename)
        raise Refusal("unavailable", UNAVAILABLE_MESSAGE, field) from None
    finally:
        stream.seek(0)
    if signature is not None:
        security_event("upload_infected", level=logging.WARNING, user=user, filename=filename, signature=signature)
        raise Refusal("invalid", INFECTED_MESSAGE.format(name=filename, signature=signature), field)
