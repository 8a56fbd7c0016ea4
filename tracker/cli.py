"""The `tracker` command: Flask's CLI (`db` from Flask-Migrate) with each domain's own commands
(`users`, `jobs`, `scheduler`) and `demo`."""
from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    """Attach `demo` to the app's CLI (the domains attach theirs in their `init_app`)."""

    @app.cli.command("demo")
    @click.option("--scale", default=0, type=int, help="add N synthetic issues for measuring")
    def demo(scale: int) -> None:
        """Upgrade the database and load the demo (idempotent)."""
        from tracker.demo import load_demo

        load_demo(scale=scale, echo=click.echo)


def _create_app(*_args: Any) -> Flask:
    from tracker import create_app

    return create_app()


def main() -> None:
    """Entry point of the `tracker` console script."""
    cli = FlaskGroup(create_app=_create_app, help="督察反馈问题整改系统 / the tracker.")
    cli.main(prog_name="tracker")
