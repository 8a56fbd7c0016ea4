"""Admin views: units (as a tree), users and rounds.

Units and users are for admins only; rounds for admins and supervisors. Anyone
else gets the 403 page (the Refusal handler logs it). Each POST validates the
form, calls one service, commits and redirects; a Refusal rolls back and is
shown on the form.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from tracker.accounts import mfa
from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.admin import services as admin_service
from tracker.admin.forms import (
    ChainForm,
    ResetMfaForm,
    ResetPasswordForm,
    RoundForm,
    TokenRevokeForm,
    UnitEditForm,
    UnitForm,
    UserEditForm,
    UserForm,
    unit_choices,
)
from tracker.core import clock, permissions
from tracker.core.extensions import db
from tracker.core.permissions import Permission
from tracker.core.web import attempt
from tracker.issues import chain
from tracker.rounds import services as rounds_service
from tracker.rounds.models import Round
from tracker.rounds.services import MAX_STEPS
from tracker.units import services as units_service
from tracker.units.models import Unit

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Service field names that differ from the form's.
FIELD_ALIASES = {"parent_code": "parent", "unit_code": "unit"}


def _admin_only() -> None:
    permissions.require(current_user, Permission.ADMINISTER, doing="管理单位和用户")


def _round_managers_only() -> None:
    permissions.require(current_user, Permission.MANAGE_ROUNDS, doing="管理督察轮次")


def _save(form: FlaskForm, save: Callable[[], Any], done: Callable[[Any], str],
          next_endpoint: str) -> tuple[Optional[Response], int]:
    """Validate a posted form and call one service; on success commit, flash `done(result)` and
    redirect. Returns (the redirect, 302) or (None, status) for the page to render again."""
    outcome = attempt(save, form=form, done=done, fields=FIELD_ALIASES)
    return (redirect(url_for(next_endpoint)), 302) if outcome.done else (None, outcome.status)


def _get(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _excluding_subtree(tree, unit: Unit):
    """The tree without `unit` and its descendants: the parents it may move under."""
    kept, skip_depth = [], None
    for node in tree:
        if skip_depth is not None and node.depth > skip_depth:
            continue
        skip_depth = None
        if node.unit.id == unit.id:
            skip_depth = node.depth
            continue
        kept.append(node)
    return kept


# ---- units ---------------------------------------------------------------------------------

@bp.route("/units", methods=["GET", "POST"])
@login_required
def units():
    """The unit tree and the form to add a unit."""
    _admin_only()
    form = UnitForm()
    status = 200
    if request.method == "POST":
        done, status = _save(form, lambda: units_service.create_unit(
            db.session, current_user, form.code.data, form.name.data, form.parent.data or None, form.email.data,
            form.level.data or None),
            lambda unit: f"已新增单位「{unit.name}」。", "admin.units")
        if done:
            return done
    tree = units_service.unit_tree(db.session)
    form.parent.choices = unit_choices(tree)
    return render_template("admin/units.html", tree=tree, form=form), status


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit_unit(unit_id: int):
    """Rename a unit, move it in the tree, change its level or its address."""
    _admin_only()
    unit = _get(Unit, unit_id)
    status = 200
    if request.method == "POST":
        form = UnitEditForm()
        done, status = _save(form, lambda: units_service.update_unit(
            db.session, current_user, unit, form.name.data, form.parent.data or None, form.email.data,
            form.level.data or None),
            lambda updated: f"已保存单位「{updated.name}」。", "admin.units")
        if done:
            return done
    else:
        form = UnitEditForm(data={"name": unit.name, "email": unit.email or "", "level": unit.level,
                                  "parent": unit.parent.code if unit.parent else ""})
    tree = units_service.unit_tree(db.session)
    form.parent.choices = unit_choices(_excluding_subtree(tree, unit))
    return render_template("admin/unit_edit.html", unit=unit, form=form), status


# ---- users ---------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
@login_required
def users():
    """Every user with role and unit, and the form to add one."""
    _admin_only()
    form = UserForm()
    status = 200
    if request.method == "POST":
        done, status = _save(form, lambda: accounts.create_user(
            db.session, current_user, form.username.data, form.password.data, form.role.data,
            form.unit.data or None, form.email.data, form.display_name.data),
            lambda user: f"已新增用户「{user.username}」。", "admin.users")
        if done:
            return done
    form.unit.choices = unit_choices(units_service.unit_tree(db.session))
    return render_template("admin/users.html", users=accounts.list_users(db.session), form=form), status


def _render_user(user: User, form: Optional[UserEditForm] = None,
                 password_form: Optional[ResetPasswordForm] = None, status: int = 200,
                 mfa_form: Optional[ResetMfaForm] = None):
    if form is None:
        form = UserEditForm(formdata=None, data={
            "role": user.role, "unit": user.unit.code if user.unit else "", "email": user.email or "",
            "display_name": user.display_name or "", "active": user.active})
    form.unit.choices = unit_choices(units_service.unit_tree(db.session))
    return render_template("admin/user_edit.html", user=user, form=form,
                           password_form=password_form or ResetPasswordForm(formdata=None),
                           tokens=accounts.list_tokens(db.session, user, clock.now()),
                           token_form=TokenRevokeForm(),
                           mfa_form=mfa_form or ResetMfaForm(formdata=None, prefix="mfa"),
                           mfa_enrolled=mfa.enrolled(user)), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int):
    """Change a user's role, unit, address, name or activity."""
    _admin_only()
    user = _get(User, user_id)
    if request.method == "GET":
        return _render_user(user)
    form = UserEditForm()
    outcome = attempt(lambda: accounts.update_user(db.session, current_user, user, form.role.data,
                                                   form.unit.data or None, form.email.data, form.display_name.data,
                                                   form.active.data, admin_password=form.admin_password.data,
                                                   now=clock.now()),
                      form=form, fields=FIELD_ALIASES,
                      done=lambda _u: f"已保存用户「{user.username}」。"
                      + ("" if user.active else "该用户已停用,其登录已失效。"))
    return redirect(url_for("admin.users")) if outcome.done else _render_user(user, form, status=outcome.status)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@login_required
def reset_password(user_id: int):
    """Set a new password for a user (confirmed with the admin's own password); their sessions end
    and their API tokens are revoked."""
    _admin_only()
    user = _get(User, user_id)
    form = ResetPasswordForm()
    outcome = attempt(lambda: accounts.reset_password(db.session, current_user, user, form.password.data,
                                                      admin_password=form.admin_password.data, now=clock.now(),
                                                      ip=request.remote_addr),
                      form=form, done=f"已重置用户「{user.username}」的密码,其登录和访问令牌已失效。")
    if outcome.done:
        return redirect(url_for("admin.users"))
    return _render_user(user, password_form=form, status=outcome.status)


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(user_id: int, token_id: int):
    """Revoke one API token of a user."""
    _admin_only()
    user = _get(User, user_id)
    attempt(lambda: accounts.revoke_user_token(db.session, current_user, user, token_id, clock.now()),
            form=TokenRevokeForm(), done=f"已撤销用户「{user.username}」的一个访问令牌。")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/tokens/revoke-all", methods=["POST"])
@login_required
def revoke_all_tokens(user_id: int):
    """Revoke every API token of a user."""
    _admin_only()
    user = _get(User, user_id)
    attempt(lambda: accounts.revoke_own_tokens(db.session, current_user, user, clock.now(), ip=request.remote_addr),
            form=TokenRevokeForm(), done=lambda count: f"已撤销用户「{user.username}」的全部 {count} 个访问令牌。")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/mfa/reset", methods=["POST"])
@login_required
def reset_mfa(user_id: int):
    """Remove a user's second factor (confirmed with the admin's own password): they sign in again,
    with the password alone, and an admin is then led to enrol anew."""
    _admin_only()
    user = _get(User, user_id)
    form = ResetMfaForm(prefix="mfa")
    outcome = attempt(lambda: mfa.reset(db.session, current_user, user, admin_password=form.admin_password.data),
                      form=form, done=f"已重置用户「{user.username}」的双因素认证,其登录已失效。")
    if outcome.done:
        return redirect(url_for("admin.users"))
    return _render_user(user, mfa_form=form, status=outcome.status)


# ---- rounds --------------------------------------------------------------------------------

@bp.route("/rounds", methods=["GET", "POST"])
@login_required
def rounds():
    """Every round with its issue count, and the form to register one."""
    _round_managers_only()
    form = RoundForm()
    status = 200
    if request.method == "POST":
        done, status = _save(form, lambda: rounds_service.create_round(
            db.session, current_user, form.name.data, form.level.data, form.kind.data, form.feedback_date.data,
            form.document_no.data, max_extensions=form.max_extensions.data),
            lambda created: f"已登记督察轮次「{created.name}」。", "admin.rounds")
        if done:
            return done
    rows = admin_service.rounds_with_counts(db.session, current_user)
    return render_template("admin/rounds.html", rows=rows, form=form), status


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@login_required
def edit_round(round_id: int):
    """Correct a round's name, level, kind, feedback date or document number."""
    _round_managers_only()
    round_ = _get(Round, round_id)
    status = 200
    if request.method == "POST":
        form = RoundForm()
        done, status = _save(form, lambda: rounds_service.update_round(
            db.session, current_user, round_, form.name.data, form.level.data, form.kind.data,
            form.feedback_date.data, form.document_no.data, max_extensions=form.max_extensions.data),
            lambda _: f"已保存督察轮次「{round_.name}」。", "admin.rounds")
        if done:
            return done
    else:
        form = RoundForm(data=_round_data(round_))
    return _round_page(round_, form, status=status)


def _round_page(round_: Round, form: RoundForm, chain_form: Optional[ChainForm] = None, status: int = 200):
    """The round's edit page: its fields, and its approval chain (editable by admins)."""
    if chain_form is None:
        rows = [{"level": s.level or "", "role": s.role, "label": s.label} for s in round_.steps]
        chain_form = ChainForm(data={"steps": rows + [{}] * (MAX_STEPS - len(rows))})
    return render_template("admin/round_edit.html", round=round_, form=form, chain_form=chain_form,
                           in_chain=chain.in_chain_count(db.session, round_)), status


@bp.route("/rounds/<int:round_id>/chain", methods=["POST"])
@login_required
def edit_chain(round_id: int):
    """Replace a round's approval chain (admin); refused while issues of the round are in it."""
    _admin_only()
    round_ = _get(Round, round_id)
    chain_form = ChainForm()
    outcome = attempt(lambda: chain.change_chain(db.session, current_user, round_, chain_form.chain()),
                      form=chain_form, done=f"已保存督察轮次「{round_.name}」的审核链。")
    if outcome.done:
        return redirect(url_for("admin.edit_round", round_id=round_.id))
    form = RoundForm(data=_round_data(round_))
    return _round_page(round_, form, chain_form, outcome.status)


def _round_data(round_: Round) -> dict[str, Any]:
    return {"name": round_.name, "level": round_.level, "kind": round_.kind,
            "feedback_date": round_.feedback_date.isoformat() if round_.feedback_date else "",
            "document_no": round_.document_no or "", "max_extensions": str(round_.max_extensions)}
