"""Levels, approval chains per round, deadline extensions (issue 10)

- units.level (province / city / county / town; a department takes its government's level) and
  units.path, the materialized path of codes from the root ("/HLGL/HLGL-ZJ/") that scopes an office's
  jurisdiction in one SQL test. Existing units get their path from the tree; levels are `city` at a
  root and the parent's below it (the admin corrects them: no rule can tell a county from a department).
- round_steps: each round's approval chain. Every existing round gets today's two steps (验收 by a
  supervisor, 销号 by an approver, at any level), so that every issue keeps moving as before.
- issues.chain_step: the step a submitted (0) or verified (1) issue waits for.
- signatures: who signed which step in the current pass; a verified issue's verifier becomes the
  signature of step 0, so that the separation of duties holds across the migration.
- Office users (supervisor, approver, leader) lose the unit they may have carried: it meant nothing
  until now (they saw every issue), and from now on it is the area whose subtree they see and sign for.
  Without one they keep seeing and signing everything, as before; the admin gives each office its area.
- extension_requests and rounds.max_extensions (2): deadline extensions (延期申请).
- events.action, outbox.kind and notices.kind accept the extension entries and notices.

Revision ID: e5b3c9d1a7f4
Revises: d4a2b8c6e1f3
Create Date: 2026-11-30 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b3c9d1a7f4'
down_revision = 'd4a2b8c6e1f3'
branch_labels = None
depends_on = None

# The vocabularies as of this revision (a migration must not change when the code's enums grow).
OLD_EVENT_KINDS = ("submit", "verify", "approve", "return", "reopen", "mark_basically_done", "merge", "create",
                   "edit", "deadline", "progress", "evidence", "follow", "merged_in", "publish", "unpublish",
                   "due_soon", "overdue", "supervision_order", "interview", "report_reminder", "report_late")
NEW_EVENT_KINDS = OLD_EVENT_KINDS + ("extension_request", "extension_approve", "extension_reject")
OLD_NOTICE_KINDS = ("due_soon", "overdue", "supervision_order", "interview", "report_reminder", "report_late",
                    "unit_supervision", "digest", "submitted", "verified", "returned", "approved", "reopened",
                    "deadline_changed", "action_digest", "password_changed", "tokens_revoked", "mfa_code_reused")
NEW_NOTICE_KINDS = OLD_NOTICE_KINDS + ("extension_requested", "extension_decided")
LEVELS = ("province", "city", "county", "town")
ROLES = ("unit_staff", "unit_head", "supervisor", "approver", "leader", "admin")


def _sql_list(values):
    return ", ".join("'%s'" % v for v in values)


def _recheck(table, column, kinds):
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_='check')
        batch_op.create_check_constraint(column, sa.text(f"{column} IN ({_sql_list(kinds)})"))


def _segment(code):
    # As tracker.units.models.path_segment (frozen here: a migration never imports app code).
    return code.replace("%", "%25").replace("/", "%2F")


def _fill_paths(bind):
    """Every unit's path and level from the tree, parents first (units are hundreds: done in Python)."""
    rows = bind.execute(sa.text("SELECT id, code, parent_id FROM units")).all()
    by_id = {r.id: r for r in rows}
    paths, levels = {}, {}

    def place(unit_id, seen=()):
        if unit_id in paths:
            return
        row = by_id[unit_id]
        parent = row.parent_id if row.parent_id in by_id and row.parent_id not in seen else None
        if parent is not None:
            place(parent, seen + (unit_id,))
        paths[unit_id] = (paths[parent] if parent is not None else "/") + _segment(row.code) + "/"
        levels[unit_id] = levels[parent] if parent is not None else "city"

    for unit_id in by_id:
        place(unit_id)
    for unit_id, path in paths.items():
        bind.execute(sa.text("UPDATE units SET path = :path, level = :level WHERE id = :id"),
                     {"path": path, "level": levels[unit_id], "id": unit_id})


def upgrade():
    bind = op.get_bind()
    op.create_table('round_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum(*LEVELS, name='level', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('role', sa.Enum(*ROLES, name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_steps_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_steps')),
    sa.UniqueConstraint('round_id', 'position', name='uq_round_steps_round_position')
    )
    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_signatures_issue_id_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index('ix_signatures_issue_cleared', ['issue_id', 'cleared_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_user_id'), ['user_id'], unique=False)

    op.create_table('extension_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'rejected', name='state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('old_deadline', sa.Date(), nullable=False),
    sa.Column('new_deadline', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('granted_deadline', sa.Date(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_extension_requests_attachment_id_attachments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_extension_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_extension_requests_issue_id_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_extension_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests'))
    )
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extension_requests_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index('ix_extension_requests_state_issue', ['state', 'issue_id'], unique=False)

    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_step', sa.Integer(), nullable=True))

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_extensions', sa.Integer(), server_default=sa.text('2'), nullable=False))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.Enum(*LEVELS, name='level', native_enum=False, create_constraint=True, length=20), server_default='city', nullable=False))
        batch_op.add_column(sa.Column('path', sa.String(length=1000), server_default='', nullable=False))
    _fill_paths(bind)
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.alter_column('path', server_default=None, existing_type=sa.String(length=1000),
                              existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_units_path'), ['path'], unique=False)

    # Today's chain for every round; issues in it wait at the step their state names.
    for (round_id,) in bind.execute(sa.text("SELECT id FROM rounds")).all():
        bind.execute(sa.text("INSERT INTO round_steps (round_id, position, level, role, label) VALUES "
                             "(:r, 0, NULL, 'supervisor', '验收'), (:r, 1, NULL, 'approver', '销号')"),
                     {"r": round_id})
    op.execute("UPDATE issues SET chain_step = 0 WHERE state = 'submitted'")
    op.execute("UPDATE issues SET chain_step = 1 WHERE state = 'verified'")
    op.execute("INSERT INTO signatures (issue_id, position, label, user_id, signed_at) "
               "SELECT id, 0, '验收', verified_by_id, updated_at FROM issues "
               "WHERE state = 'verified' AND verified_by_id IS NOT NULL")

    op.execute("UPDATE users SET unit_id = NULL WHERE role IN ('supervisor', 'approver', 'leader')")

    _recheck("events", "action", NEW_EVENT_KINDS)
    for table in ("outbox", "notices"):
        _recheck(table, "kind", NEW_NOTICE_KINDS)


def downgrade():
    # The older constraints would refuse the extension entries: they go with the downgrade (the
    # deadlines they moved stay, with their deadline_changes rows).
    op.execute(f"DELETE FROM events WHERE action IN ({_sql_list(NEW_EVENT_KINDS[len(OLD_EVENT_KINDS):])})")
    for table in ("outbox", "notices"):
        op.execute(f"DELETE FROM {table} WHERE kind IN ({_sql_list(NEW_NOTICE_KINDS[len(OLD_NOTICE_KINDS):])})")
        _recheck(table, "kind", OLD_NOTICE_KINDS)
    _recheck("events", "action", OLD_EVENT_KINDS)

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_path'))
        batch_op.drop_constraint(batch_op.f('ck_units_level'), type_='check')
        batch_op.drop_column('path')
        batch_op.drop_column('level')

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('max_extensions')

    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('chain_step')

    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_extension_requests_state_issue')
        batch_op.drop_index(batch_op.f('ix_extension_requests_issue_id'))

    op.drop_table('extension_requests')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_user_id'))
        batch_op.drop_index('ix_signatures_issue_cleared')

    op.drop_table('signatures')
    op.drop_table('round_steps')
