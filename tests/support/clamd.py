"""A real ClamAV daemon (Debian's clamav-daemon) for the antivirus tests, run without root's files.

The official signatures come from freshclam over the internet, which the test machines do not reach:
clamd loads instead one signature written here, for the EICAR test string (the antivirus industry's
harmless test file), as a body-based `.ndb` signature. clamd reports it as
`Eicar-Test-Signature.UNOFFICIAL FOUND` — the same verdict line it sends for any real detection.
It listens on a unix socket and on a loopback TCP port, with a small stream limit so that the
"size limit exceeded" answer can be tested too.
"""
from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.support.deploy import free_port

CLAMD = Path(os.environ.get("TRACKER_TEST_CLAMD", "/usr/sbin/clamd"))
START_TIMEOUT = 60.0
# Assembled from two halves so that no scanner flags this source file itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
# clamd answers "INSTREAM size limit exceeded" past this many bytes (its StreamMaxLength).
STREAM_MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Clamd:
    """A running clamd: its addresses as TRACKER_CLAMD_URL values."""

    unix_url: str
    tcp_url: str
    process: subprocess.Popen
    log: Path


def clamd_available() -> Optional[str]:
    """Why the real clamd cannot run here, or None."""
    if not CLAMD.exists():
        return f"needs clamd ({CLAMD}): apt-get install clamav-daemon"
    return None


def start_clamd(folder: Path) -> Clamd:
    """Start clamd with the EICAR signature only, in `folder`; wait until it answers PING."""
    db = folder / "db"
    db.mkdir(parents=True)
    (db / "eicar.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    sock, port, log = folder / "clamd.sock", free_port(), folder / "clamd.log"
    conf = folder / "clamd.conf"
    conf.write_text("\n".join([
        "Foreground yes",
        f"LocalSocket {sock}",
        f"TCPSocket {port}",
        "TCPAddr 127.0.0.1",
        f"DatabaseDirectory {db}",
        f"LogFile {log}",
        f"PidFile {folder / 'clamd.pid'}",
        f"TemporaryDirectory {folder}",
        f"StreamMaxLength {STREAM_MAX_BYTES // (1024 * 1024)}M",
        "SelfCheck 0",
    ]) + "\n")
    process = subprocess.Popen([str(CLAMD), "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"clamd exited with {process.returncode}: {_tail(log)}")
        if _pong(str(sock)):
            return Clamd(f"unix://{sock}", f"tcp://127.0.0.1:{port}", process, log)
        time.sleep(0.2)
    stop_clamd(process)
    raise RuntimeError(f"clamd did not answer within {START_TIMEOUT} s: {_tail(log)}")


def stop_clamd(process: subprocess.Popen) -> None:
    """Stop the clamd this module started (by its own process, never by name)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pong(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(path)
            probe.sendall(b"zPING\0")
            return probe.recv(16).startswith(b"PONG")
    except OSError:
        return False


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def clamd_folder() -> Path:
    """A short folder for clamd's files: a unix socket's path must stay under 108 bytes."""
    return Path(tempfile.mkdtemp(prefix="clamd-test-", dir="/tmp"))
