"""enums checked by the database, escalation rungs per deadline

- Every column holding one of the tracker's closed vocabularies (tracker.core.enums) gets a CHECK
  constraint listing its values (named ck_<table>_<column>, as the models' string_enum names them):
  users.role, rounds.level and kind, issues.state, category and rectify_type, events.action,
  from_state and to_state, escalations.kind, unit_escalations.kind, deadline_changes.source,
  user_prefs.digest and action_mail, outbox.status and kind, notices.kind. The column types stay
  VARCHAR of the same length. Existing rows are checked first: a value outside its vocabulary stops
  the upgrade with the table, column and values named, rather than a bare constraint error.
- escalations.due_on: the deadline a ladder rung counted from (the first day of its period for a
  monthly step). Existing rows get the issue's current deadline (or their period's first day), so
  nothing fires again after the upgrade; uniqueness moves from (issue, key) to (issue, key, due_on):
  a moved deadline re-arms the ladder.

Revision ID: f64c532ad1a3
Revises: 0e61a4baed9a
Create Date: 2026-11-30 01:01:48.065019

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f64c532ad1a3'
down_revision = '0e61a4baed9a'
branch_labels = None
depends_on = None

# The vocabularies as of this revision (a migration must not change when the code's enums grow).
ROLES = ("unit_staff", "unit_head", "supervisor", "approver", "leader", "admin")
STATES = ("in_progress", "basically_done", "submitted", "verified", "closed")
ACTIONS = ("submit", "verify", "approve", "return", "reopen", "mark_basically_done", "merge")
ESCALATION_KINDS = ("due_soon", "overdue", "supervision_order", "interview", "report_reminder", "report_late",
                    "unit_supervision")
EVENT_KINDS = ACTIONS + ("create", "edit", "deadline", "progress", "evidence", "follow", "merged_in", "publish",
                         "unpublish") + ESCALATION_KINDS[:-1]
NOTICE_KINDS = ESCALATION_KINDS + ("digest", "submitted", "verified", "returned", "approved", "reopened",
                                   "deadline_changed", "action_digest")

CHECKS = {
    "users": {"role": ROLES},
    "rounds": {"level": ("central", "provincial", "municipal"), "kind": ("regular", "look_back", "special")},
    "issues": {"state": STATES, "category": ("feedback", "key_concern", "petition", "self_found"),
               "rectify_type": ("immediate", "deadline", "long_term")},
    "events": {"action": EVENT_KINDS, "from_state": STATES, "to_state": STATES},
    "escalations": {"kind": ESCALATION_KINDS},
    "unit_escalations": {"kind": ESCALATION_KINDS},
    "deadline_changes": {"source": ("edit", "import", "extension")},
    "user_prefs": {"digest": ("daily", "weekly", "none"), "action_mail": ("immediate", "digest")},
    "outbox": {"status": ("pending", "sending", "sent", "failed"), "kind": NOTICE_KINDS},
    "notices": {"kind": NOTICE_KINDS},
}


def _sql_list(values):
    return ", ".join("'%s'" % v for v in values)


def _check_existing(bind):
    """Refuse to add a constraint the rows already break, naming what is wrong."""
    for table, columns in CHECKS.items():
        for column, values in columns.items():
            bad = bind.execute(sa.text(
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN ({_sql_list(values)})"
            )).scalars().all()
            if bad:
                raise RuntimeError(f"{table}.{column} holds values outside its vocabulary: {sorted(bad)[:10]}")


def upgrade():
    bind = op.get_bind()
    _check_existing(bind)
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(column, sa.text(f"{column} IN ({_sql_list(values)})"))

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
    first_day = "period || '-01'" if bind.dialect.name == "sqlite" else "CAST(period || '-01' AS DATE)"
    op.execute(f"UPDATE escalations SET due_on = {first_day} WHERE period IS NOT NULL")
    op.execute("UPDATE escalations SET due_on = (SELECT deadline FROM issues WHERE issues.id = escalations.issue_id) "
               "WHERE period IS NULL")
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_escalations_issue_key'), type_='unique')
        batch_op.create_unique_constraint('uq_escalations_issue_key_due_on', ['issue_id', 'key', 'due_on'])


def downgrade():
    # The older uniqueness allows one row per (issue, key): keep the earliest of each re-armed rung.
    op.execute("DELETE FROM escalations WHERE id NOT IN "
               "(SELECT MIN(id) FROM escalations GROUP BY issue_id, key)")
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_escalations_issue_key_due_on', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_escalations_issue_key'), ['issue_id', 'key'])
        batch_op.drop_column('due_on')

    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_='check')
