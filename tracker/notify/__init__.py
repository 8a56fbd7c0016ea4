"""Notifications (通知): the outbox and its SMTP dispatcher, in-app notices, each user's preferences,
and who receives what.

- `outbox`: queue mails and notices (insert-or-ignore on unique keys), the mail log's services.
- `dispatcher`: claim due rows, send them by SMTP, back off and give up.
- `message`, `render`, `smtpurl`: header-safe messages, the mail layout, TRACKER_SMTP_URL.
- `notices`, `prefs`: a user's in-app notices and digest preference; `recipients`: who is who.
- `services`: what the mail log pages read.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the issues' events; register the notice pages and the header's unread badge."""
    from tracker.notify import subscribers  # noqa: F401  (subscribes on import)
    from tracker.notify.views import bp

    app.register_blueprint(bp)
