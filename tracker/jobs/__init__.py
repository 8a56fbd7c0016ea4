"""Reminders, escalations, the monthly report cycle and digests, run once a day.

- `settings`: the ladder and other settings (get_settings / save_settings).
- `runner`: run_day(session, today, config) and run_jobs (under the leader lease).
- `ladder`, `monthly`, `units`, `digests`: the day's jobs.
- `flags`: the 挂牌督办 flag and escalation lists for pages.
- `prefs`: users' digest preferences.
- `lease`: the leader lease; `scheduler`: the long-running scheduler; `cli`: commands.
"""
from __future__ import annotations


def register_cli(app) -> None:
    """Attach `tracker jobs ...` and `tracker scheduler` to the app's CLI."""
    from tracker.jobs.cli import register_cli as _register

    _register(app)
