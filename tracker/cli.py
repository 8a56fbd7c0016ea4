"""The `tracker` command: Flask's CLI with the tracker's own groups."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup

from tracker.extensions import db
from tracker.models import ROLES


def register_commands(app: Flask) -> None:
    """Attach `users` and `demo` to the app's CLI (`db` comes from Flask-Migrate)."""
    users = AppGroup("users", help="管理用户 / manage users.")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--unit", "unit_code", default=None, help="unit code, for unit roles")
    @click.option("--email", default=None)
    @click.option("--display-name", default=None)
    @click.option("--password", default=None, help="prompted for when not given")
    def create_user(username, role, unit_code, email, display_name, password):
        """Create a user."""
        from tracker.services import accounts
        from tracker.workflow import Refusal

        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = accounts.create_user(db.session, None, username, password, role, unit_code, email,
                                        display_name)
        except Refusal as refusal:
            db.session.rollback()
            raise click.ClickException(refusal.message) from None
        db.session.commit()
        click.echo(f"created user {user.username} ({user.role})")

    app.cli.add_command(users)

    @app.cli.command("demo")
    @click.option("--scale", default=0, type=int, help="add N synthetic issues for measuring")
    def demo(scale):
        """Upgrade the database and load the demo (idempotent)."""
        from tracker.demo import load_demo

        load_demo(scale=scale, echo=click.echo)

    from tracker.jobs import register_cli as register_jobs_cli

    register_jobs_cli(app)


def _create_app(*_args):
    from tracker import create_app

    return create_app()


def main() -> None:
    """Entry point of the `tracker` console script."""
    cli = FlaskGroup(create_app=_create_app, help="督察反馈问题整改系统 / the tracker.")
    cli.main(prog_name="tracker")
