"""Escalation (督办): the day's run — due-soon reminders, overdue notices, supervision orders and
interviews on the configured ladder, the monthly report cycle, the unit yellow-light rule and the
digests — its settings, the leader lease and the scheduler that runs it.

- `settings`: the ladder and the other settings (get_settings / save_settings).
- `runner`: run_day(session, today, config) and run_jobs (under the leader lease).
- `ladder`, `monthly`, `lights`, `digests`: the day's steps; `queries`: what they share.
- `services`: what pages read of escalations (the leaders' board).
- `scheduler`: the long-running scheduler; `cli`: `tracker jobs ...` and `tracker scheduler`.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the issues' events and attach `tracker jobs ...` and `tracker scheduler` to the CLI."""
    from tracker.escalation import subscribers  # noqa: F401  (subscribes on import)
    from tracker.escalation.cli import register_cli

    register_cli(app)
