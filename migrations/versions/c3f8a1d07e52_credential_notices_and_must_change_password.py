"""credential notices and must-change passwords (ASVS 2.2.3, 2.5.5, 2.3.1)

- users.must_change_password (NOT NULL, default false): set when an admin creates a user with a
  password or resets one; the user must change it before doing anything else. Existing users are
  not flagged.
- outbox.kind and notices.kind accept two more kinds: password_changed and tokens_revoked (the
  mails and notices that tell a user their password was changed or reset, or their API tokens were
  revoked by someone else). The CHECK constraints (named by f64c532ad1a3) are dropped and made again
  with the wider list; batch mode rebuilds the tables on SQLite.

Revision ID: c3f8a1d07e52
Revises: c3e9a4f1d2b7
Create Date: 2026-11-30 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f8a1d07e52'
down_revision = 'c3e9a4f1d2b7'
branch_labels = None
depends_on = None

# The vocabularies as of this revision (a migration must not change when the code's enums grow).
OLD_NOTICE_KINDS = ("due_soon", "overdue", "supervision_order", "interview", "report_reminder", "report_late",
                    "unit_supervision", "digest", "submitted", "verified", "returned", "approved", "reopened",
                    "deadline_changed", "action_digest")
NEW_NOTICE_KINDS = OLD_NOTICE_KINDS + ("password_changed", "tokens_revoked")
TABLES = ("outbox", "notices")


def _sql_list(values):
    return ", ".join("'%s'" % v for v in values)


def _recheck(kinds):
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_kind"), type_='check')
            batch_op.create_check_constraint("kind", sa.text(f"kind IN ({_sql_list(kinds)})"))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    _recheck(NEW_NOTICE_KINDS)


def downgrade():
    # The older constraint would refuse the new kinds: their mails and notices go with the downgrade.
    new = _sql_list(NEW_NOTICE_KINDS[len(OLD_NOTICE_KINDS):])
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE kind IN ({new})")
    _recheck(OLD_NOTICE_KINDS)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
