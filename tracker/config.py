"""Configuration read from the environment, with defaults that run on one machine."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Optional


def instance_secret(instance_path: Path, name: str = "secret_key",
                    make: Callable[[], str] = lambda: secrets.token_hex(32)) -> str:
    """Return the key `name` kept in the instance folder (mode 0600), creating it once with `make`."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = make()
    # Written with O_EXCL so that two workers starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def flag(value: Optional[str], default: bool) -> bool:
    """An on/off setting: unset or empty gives `default`; 1/true/yes/on and 0/false/no/off as written."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 0 or 1, got {value!r}")


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping from TRACKER_* environment variables."""
    inst = Path(instance_path)
    env = os.environ
    database_url = env.get("TRACKER_DATABASE_URL") or f"sqlite:///{inst / 'tracker.db'}"
    base_url = env.get("TRACKER_BASE_URL", "http://127.0.0.1:5000")
    # Cookies only over HTTPS (and HSTS sent) when the site is served over HTTPS, unless said otherwise.
    secure = flag(env.get("TRACKER_SECURE_COOKIES"), default=base_url.lower().startswith("https://"))
    session_max_hours = int(env.get("TRACKER_SESSION_MAX_HOURS", "12"))
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        # None: create_app reads (or creates) instance/secret_key, only if no key is given at all.
        "SECRET_KEY": env.get("TRACKER_SECRET_KEY") or None,
        # Encrypts secrets kept in the database (the TOTP seeds, ASVS 2.8.2): a Fernet key, held outside
        # the database; None: create_app reads (or creates) instance/field_key.
        "FIELD_KEY": env.get("TRACKER_FIELD_KEY") or None,
        "UPLOAD_DIR": env.get("TRACKER_UPLOAD_DIR") or str(inst / "uploads"),
        "BASE_URL": base_url,
        # Without an SMTP URL nothing is sent: mail stays in the outbox, readable by admins.
        "SMTP_URL": env.get("TRACKER_SMTP_URL") or None,
        "MAIL_FROM": env.get("TRACKER_MAIL_FROM", "tracker@localhost.localdomain"),
        "MAIL_MAX_AGE_HOURS": env.get("TRACKER_MAIL_MAX_AGE_HOURS", "48"),
        "MAX_UPLOAD_BYTES": int(env.get("TRACKER_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        # An uploaded .xlsx/.docx is refused before parsing when it would unpack beyond these
        # (decompression bombs): total uncompressed size, a large member's compression ratio, members.
        "ARCHIVE_MAX_BYTES": int(env.get("TRACKER_ARCHIVE_MAX_MB", "100")) * 1024 * 1024,
        "ARCHIVE_MAX_RATIO": int(env.get("TRACKER_ARCHIVE_MAX_RATIO", "100")),
        "ARCHIVE_MAX_MEMBERS": int(env.get("TRACKER_ARCHIVE_MAX_MEMBERS", "10000")),
        # Evidence a user may upload per (local) day, all issues together.
        "UPLOAD_QUOTA_BYTES_PER_DAY": int(env.get("TRACKER_UPLOAD_QUOTA_MB_PER_DAY", "500")) * 1024 * 1024,
        # Uploads are scanned by clamd at this address (unix:///path or tcp://host:port) before they are
        # kept, and refused when it cannot scan them; unset, nothing is scanned (ASVS 12.4.2).
        "CLAMD_URL": env.get("TRACKER_CLAMD_URL") or None,
        "CLAMD_TIMEOUT": float(env.get("TRACKER_CLAMD_TIMEOUT", "30")),
        # Lagging margin in percentage points and the due-soon window in days.
        "LAGGING_MARGIN": int(env.get("TRACKER_LAGGING_MARGIN", "20")),
        "DUE_SOON_DAYS": int(env.get("TRACKER_DUE_SOON_DAYS", "7")),
        "TIMEZONE": env.get("TRACKER_TIMEZONE", "Asia/Shanghai"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_COOKIES": secure,
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (ProxyFix); 0 trusts none.
        "PROXY_COUNT": int(env.get("TRACKER_PROXY_COUNT", "0")),
        # Sessions (ASVS 3.3.2-3.3.4, NIST AAL2): ended after this many minutes without a request
        # and this many hours after sign-in, whatever the activity (tracker.accounts.sessions).
        "SESSION_IDLE_MINUTES": int(env.get("TRACKER_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": session_max_hours,
        # The cookie itself dies with the absolute limit; it is only re-sent when the session
        # changes (at most once a minute, when the last-seen time moves on).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=session_max_hours),
        "SESSION_REFRESH_EACH_REQUEST": False,
        # An API token lives as long as a page session may (12 hours): it is a bearer credential
        # as good as a password for its lifetime, and clients ask for a new one with each sign-in.
        "TOKEN_HOURS": int(env.get("TRACKER_TOKEN_HOURS", "12")),
        "WTF_CSRF_TIME_LIMIT": None,
        "PER_PAGE": 20,
        # Larger ledger exports and imports run as background jobs (tracker/background).
        "EXPORT_INLINE_MAX_ROWS": int(env.get("TRACKER_EXPORT_INLINE_MAX_ROWS", "5000")),
        "IMPORT_INLINE_MAX_ROWS": int(env.get("TRACKER_IMPORT_INLINE_MAX_ROWS", "500")),
        # A kept ledger larger than this is previewed by a background job: 512 KB is about 4,500 rows
        # of the tracker's own export, read and checked in about 2 seconds (20,000 rows take 6-10).
        "PREVIEW_INLINE_MAX_BYTES": int(env.get("TRACKER_PREVIEW_INLINE_MAX_KB", "512")) * 1024,
        # Run background jobs inside the request instead (tests; never in production).
        "BACKGROUND_JOBS_INLINE": env.get("TRACKER_BACKGROUND_JOBS_INLINE", "") == "1",
        # Sign-in throttling (tracker.core.throttle): failed sign-ins counted per account (the username
        # tried) in layered windows, so the wait grows, and per client address at a count an office
        # behind one NAT address never reaches. Counters live in Redis when TRACKER_REDIS_URL is set,
        # else in the database (table throttle_counters); never in one process's memory.
        "LOGIN_LIMITS": env.get("TRACKER_LOGIN_LIMITS", "5 per minute; 10 per 15 minutes; 20 per hour"),
        "LOGIN_ADDRESS_LIMITS": env.get("TRACKER_LOGIN_ADDRESS_LIMITS", "300 per hour"),
        "REDIS_URL": env.get("TRACKER_REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": env.get("TRACKER_REDIS_URL") or "trackerdb://",
    }
