"""The production recipe run for real: the project's nginx site (deploy/nginx/tracker.conf) rendered for
loopback ports and a temporary prefix, in front of gunicorn (deploy/gunicorn.conf.py) on a unix socket.

Nothing here needs root or touches /etc: nginx runs with -p <tmp> -c <rendered main config>, in the
foreground, its pid, logs and temporary files in <tmp>. Requests are plain sockets speaking HTTP/1.0, so a
test can send a request's headers and hold its body back.
"""
from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "tracker.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX = Path(os.environ.get("TRACKER_TEST_NGINX", "/usr/sbin/nginx"))
MIME_TYPES = Path("/etc/nginx/mime.types")
START_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port free right now (nginx binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def substitute(text: str, replacements: list[tuple[str, str]]) -> str:
    """Replace each literal exactly as often as it occurs, failing if one is missing from the site file."""
    for old, new in replacements:
        assert old in text, f"deploy/nginx/tracker.conf no longer contains {old!r}: update tests/support/deploy.py"
        text = text.replace(old, new)
    return text


def render_site(http_port: int, https_port: int, upstream: str, cert: Path, key: Path) -> str:
    """The project's site file with its addresses, certificate and folders made local; all else as shipped."""
    return substitute(SITE.read_text(encoding="utf-8"), [
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("server 127.0.0.1:8000", f"server {upstream}"),
        ("/etc/ssl/certs/tracker.example.org.pem", str(cert)),
        ("/etc/ssl/private/tracker.example.org.key", str(key)),
        ("/srv/tracker/static/", f"{ROOT / 'static'}/"),
    ])


def render_main(prefix: Path, site: Path) -> str:
    """A main nginx config around the site: foreground, everything under `prefix`, no /etc needed."""
    # As root, nginx would hand requests to workers running as `nobody`, who cannot enter pytest's
    # private temporary folders; the workers stay root (a test machine only, never the shipped file).
    user = "user root;\n" if os.geteuid() == 0 else ""
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.exists() else ""
    temp = "".join(f"    {name}_temp_path {prefix / (name + '_temp')};\n"
                   for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} info;\n"
            "events { worker_connections 128; }\n"
            "http {\n"
            f"{mime}    default_type application/octet-stream;\n"
            f"    access_log {prefix / 'access.log'};\n{temp}"
            f"    include {site};\n"
            "}\n")


def self_signed(prefix: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 made with the openssl command. RSA, as most sites' are: with
    an RSA key nginx could also offer suites without forward secrecy, which the cipher test proves it
    does not (an EC key alone would rule them out whatever the configuration says)."""
    cert, key = prefix / "cert.pem", prefix / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    """Poll `ready` until true; fail with the process's log if it exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise AssertionError(f"{what} did not start (exit {process.poll()}):\n{text[-4000:]}")


def connectable(connect: Callable[[], socket.socket]) -> bool:
    """Whether a connection can be opened now."""
    try:
        connect().close()
        return True
    except OSError:
        return False


class Stack:
    """gunicorn (sync workers on a unix socket) behind nginx (the project's site file), in `prefix`."""

    def __init__(self, prefix: Path, env: dict[str, str], workers: int = 1):
        self.prefix = prefix
        self.socket_path = prefix / "gunicorn.sock"
        self.gunicorn_access = prefix / "gunicorn-access.log"
        self.http_port, self.https_port = free_port(), free_port()
        self.env = env
        self.workers = workers
        self.processes: list[subprocess.Popen] = []

    def start(self) -> Stack:
        """Start gunicorn, then nginx; return when both accept connections."""
        log = self.prefix / "gunicorn.log"
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-w", str(self.workers),
             "-b", f"unix:{self.socket_path}", "--access-logfile", str(self.gunicorn_access),
             "--error-logfile", str(log), "wsgi:app"],
            cwd=ROOT, env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.processes.append(gunicorn)
        wait_until(lambda: connectable(self.unix), "gunicorn", gunicorn, log)

        cert, key = self_signed(self.prefix)
        site = self.prefix / "tracker.conf"
        site.write_text(render_site(self.http_port, self.https_port, f"unix:{self.socket_path}", cert, key))
        main = self.prefix / "nginx.conf"
        main.write_text(render_main(self.prefix, site))
        error_log = self.prefix / "error.log"
        check = subprocess.run([str(NGINX), "-t", "-p", str(self.prefix), "-e", str(error_log), "-c", str(main)],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen([str(NGINX), "-p", str(self.prefix), "-e", str(error_log), "-c", str(main)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.processes.append(nginx)
        wait_until(lambda: connectable(self.tls), "nginx", nginx, error_log)
        return self

    def stop(self) -> None:
        """Stop nginx and gunicorn (the processes this stack started, by their ids)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.processes.clear()

    def unix(self) -> socket.socket:
        """A connection straight to gunicorn (bypassing nginx)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(str(self.socket_path))
        return sock

    def plain(self) -> socket.socket:
        """A plain-HTTP connection to nginx."""
        return socket.create_connection(("127.0.0.1", self.http_port), timeout=10)

    def tls(self) -> socket.socket:
        """An HTTPS connection to nginx (the throwaway certificate is not checked)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=10)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    def worker_saw(self, needle: str) -> bool:
        """Whether gunicorn's access log has a line containing `needle` (a request a worker answered)."""
        return self.gunicorn_access.exists() and needle in self.gunicorn_access.read_text(errors="replace")


def head(method: str, path: str, headers: Optional[dict[str, str]] = None) -> bytes:
    """A request's line and headers (HTTP/1.0: the server closes the connection after answering)."""
    lines = [f"{method} {path} HTTP/1.0", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket, data: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Read an answer to the end (after `data`, its start if already read): (status, headers, body),
    the headers' names in lower case."""
    while chunk := sock.recv(65536):
        data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}\n{value.strip()}" if key in headers else value.strip()
    return status, headers, body


def exchange(connect: Callable[[], socket.socket], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a whole request on a new connection and read the answer."""
    with connect() as sock:
        sock.sendall(request)
        return read_response(sock)


def nginx_available() -> Optional[str]:
    """Why the nginx test cannot run here, or None if it can."""
    if not NGINX.exists():
        return f"needs nginx at {NGINX}: apt-get install nginx"
    if shutil.which("openssl") is None:
        return "needs the openssl command for a throwaway certificate: apt-get install openssl"
    return None
