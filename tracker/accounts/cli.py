"""`tracker users create USERNAME --role ROLE [--unit CODE] ...`: add a user from the command line;
`tracker users set-password USERNAME [--password PW]`: the admin's way back in;
`tracker users reset-mfa USERNAME`: remove a user's second factor (a lost phone)."""
from __future__ import annotations

from typing import Optional

import click
from flask.cli import AppGroup

from tracker.accounts import mfa
from tracker.accounts import services as accounts
from tracker.core import clock
from tracker.core.enums import ROLES
from tracker.core.errors import Refusal
from tracker.core.extensions import db

users = AppGroup("users", help="管理用户 / manage users.")


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([str(role) for role in ROLES]))
@click.option("--unit", "unit_code", default=None, help="unit code, for unit roles")
@click.option("--email", default=None)
@click.option("--display-name", default=None)
@click.option("--password", default=None, help="prompted for when not given")
def create_user(username: str, role: str, unit_code: Optional[str], email: Optional[str],
                display_name: Optional[str], password: Optional[str]) -> None:
    """Create a user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(db.session, None, username, password, role, unit_code, email, display_name)
    except Refusal as refusal:
        db.session.rollback()
        raise click.ClickException(refusal.message) from None
    db.session.commit()
    click.echo(f"created user {user.username} ({user.role})")


@users.command("set-password")
@click.argument("username")
@click.option("--password", default=None, help="prompted for (twice, hidden) when not given")
@click.option("--must-change", is_flag=True, default=False,
              help="the user must change this password at their next sign-in (for a password handed to someone)")
def set_password(username: str, password: Optional[str], must_change: bool) -> None:
    """Set a user's password (the password policy applies); their sessions end, their API tokens
    are revoked and they are told (mail and notice). The way back in for an admin who lost theirs,
    so not a password to change at first use unless --must-change."""
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.user_by_username(db.session, username)
        accounts.reset_password(db.session, None, user, password, now=clock.now(), must_change=must_change)
    except Refusal as refusal:
        db.session.rollback()
        raise click.ClickException(refusal.message) from None
    db.session.commit()
    click.echo(f"password set for {user.username}; their sessions and API tokens have ended")


@users.command("reset-mfa")
@click.argument("username")
def reset_mfa(username: str) -> None:
    """Remove a user's second factor (TOTP); their sessions end. An admin then signs in with the
    password alone and is led to enrol again: the way back in for an admin who lost their phone."""
    try:
        user = accounts.user_by_username(db.session, username)
        mfa.reset(db.session, None, user)
    except Refusal as refusal:
        db.session.rollback()
        raise click.ClickException(refusal.message) from None
    db.session.commit()
    click.echo(f"second factor removed for {user.username}; their sessions have ended")
