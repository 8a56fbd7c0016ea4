"""Notifications (通知): the outbox and its SMTP dispatcher, in-app notices, each user's preferences,
and who receives what.

- `outbox`: queue mails and notices (insert-or-ignore on unique keys), the mail log's services.
- `dispatcher`: claim due rows, send them by SMTP, back off and give up.
- `message`, `render`, `smtpurl`: header-safe messages, the mail layout, TRACKER_SMTP_URL.
- `notices`, `prefs`: a user's in-app notices and digest preference; `recipients`: who is who.
- `security`: the notice and mail telling a user their password or API tokens changed (never off).
- `services`: what the mail log pages read; `api`, `schemas`: the notices API.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the issues' and accounts' events; register the notice pages, the header's unread badge and
    the notices API."""
    from tracker.core.api import register
    from tracker.notify import security, subscribers  # noqa: F401  (subscribe on import)
    from tracker.notify.api import blp
    from tracker.notify.views import bp

    app.register_blueprint(bp)
    register(app, blp)
