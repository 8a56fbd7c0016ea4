"""The README's production recipe, run for real (finding F5, ASVS 14.1.3 / 12.1.1): nginx in front of
gunicorn's sync workers absorbs slow and oversized bodies, so with ONE worker the login page still
answers while a client dribbles a body; without nginx the same client holds that worker.

Timings are printed (run with -s to see them) but the assertions are on outcomes: every GET answers 200
while the slow body is still open, within a generous 10 s socket timeout.
"""
from __future__ import annotations

import socket
import ssl
import statistics
import time

import pytest

from tests.support.deploy import exchange, head, read_response
from tests.support.factories import PASSWORD
from tests.support.web import csrf_token

GETS = 10
DECLARED = 1_000_000  # within client_max_body_size: nginx waits for it
HUGE = 2 * 1024**3  # 2 GB


def start_slow_body(connect, length: int) -> socket.socket:
    """Open a connection, send a login POST's headers declaring `length` bytes, then only a few bytes."""
    sock = connect()
    sock.sendall(head("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded",
                                         "Content-Length": str(length)}) + b"username=adm")
    return sock


def timed_gets(connect, n: int) -> list[float]:
    """GET /login n times on fresh connections; return each one's seconds, asserting a 200 with the form."""
    seconds = []
    for _ in range(n):
        start = time.monotonic()
        status, _headers, body = exchange(connect, head("GET", "/login"))
        seconds.append(time.monotonic() - start)
        assert status == 200 and "登录".encode() in body
    return seconds


def test_a_slow_body_never_reaches_the_single_worker(stack):
    # The worker's first request compiles templates and opens the database: keep it out of the figures.
    cold = timed_gets(stack.tls, 1)[0]
    slow = start_slow_body(stack.tls, DECLARED)
    try:
        seconds = timed_gets(stack.tls, GETS)
        # The slow client is still connected, waiting on nginx: nothing was answered yet.
        slow.sendall(b"i")
        slow.settimeout(0.5)
        try:
            early = slow.recv(1)
        except (TimeoutError, ssl.SSLWantReadError):
            early = None  # nothing to read: still open, still waiting for its body
        assert early is None, "nginx answered (or closed) the slow request early"
    finally:
        slow.close()
    print(f"\nGET /login through nginx while a body dribbles (1 worker, {GETS} requests): "
          f"p50 {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
          f"(each: {', '.join(f'{s * 1000:.0f}' for s in seconds)} ms; the cold first GET before: "
          f"{cold * 1000:.0f} ms)")
    assert stack.worker_saw('"GET /login')
    assert not stack.worker_saw('"POST /login'), "the slow body reached a gunicorn worker"


def test_a_body_over_the_limit_is_refused_by_nginx_without_reaching_gunicorn(stack):
    start = time.monotonic()
    with start_slow_body(stack.tls, HUGE) as sock:
        first = sock.recv(65536)
        answered = time.monotonic() - start
        status, headers, _body = read_response(sock, first)
    print(f"\n2 GB declared body refused by nginx in {answered * 1000:.0f} ms (first byte of the 413)")
    assert status == 413 and "nginx" in headers.get("server", "")
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert not stack.worker_saw('"POST /login')


def test_without_nginx_the_same_slow_body_holds_the_only_worker(stack):
    # The control: straight to gunicorn, the worker waits for the body and the GET gets no answer.
    slow = start_slow_body(stack.unix, DECLARED)
    try:
        with stack.unix() as sock:
            sock.settimeout(2)
            sock.sendall(head("GET", "/login"))
            try:
                sock.recv(1)
                blocked = False
            except TimeoutError:
                blocked = True
    finally:
        slow.close()
    assert blocked, "gunicorn answered while its only worker was reading a slow body"
    # Once that client goes away the worker is free again.
    assert timed_gets(stack.unix, 1)


def test_https_sign_in_through_nginx_gets_a_secure_host_cookie_and_hsts(stack):
    status, headers, body = exchange(stack.tls, head("GET", "/login"))
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    cookie = headers["set-cookie"].split(";")[0]
    assert cookie.startswith("__Host-session=")
    form = f"username=admin&password={PASSWORD}&csrf_token={csrf_token(body.decode())}".encode()
    status, headers, _ = exchange(stack.tls, head("POST", "/login", {
        "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(form)),
        "Cookie": cookie, "Referer": "https://127.0.0.1/login"}) + form)
    # Flask-WTF checked the Referer against https://127.0.0.1: the app saw HTTPS through ProxyFix.
    assert status == 302, headers
    set_cookie = headers["set-cookie"]
    assert "__Host-session=" in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie
    assert headers["cache-control"] == "no-store"


def _handshake(stack, configure) -> ssl.SSLSocket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    configure(context)
    raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_tls_1_2_offers_only_forward_secret_aead_suites(stack):
    """ASVS 9.1.2: a client offering only suites without forward secrecy (RSA key exchange, in OpenSSL's
    "HIGH" that nginx uses by default) is turned away; an ordinary TLS 1.2 client gets an ECDHE AEAD suite."""
    def weak(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA:@SECLEVEL=0")

    with pytest.raises(ssl.SSLError):
        _handshake(stack, weak).close()

    def ordinary(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2

    with _handshake(stack, ordinary) as sock:
        name, version, _bits = sock.cipher()
    assert version == "TLSv1.2" and name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_below_1_2_is_refused_and_1_3_is_offered(stack):
    """ASVS 9.1.3: TLS 1.0 and 1.1 are refused; TLS 1.3 is what a current client gets."""
    def old(context: ssl.SSLContext) -> None:
        # Deprecated in Python on purpose: here they are the attacker's (or an old client's) choice.
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")

    with pytest.raises(ssl.SSLError):
        _handshake(stack, old).close()
    with _handshake(stack, lambda context: None) as sock:
        assert sock.version() == "TLSv1.3"


def test_plain_http_is_redirected_to_https(stack):
    status, headers, _ = exchange(stack.plain, head("GET", "/login?next=/issues/"))
    assert status == 301
    assert headers["location"] == "https://127.0.0.1/login?next=/issues/"


def test_static_files_are_served_by_nginx_and_may_be_cached(stack):
    status, headers, body = exchange(stack.tls, head("GET", "/static/app.css"))
    assert status == 200 and body
    assert "max-age=3600" in headers["cache-control"] and "no-store" not in headers["cache-control"]
    assert headers["x-content-type-options"] == "nosniff"
    assert not stack.worker_saw("/static/app.css")
