"""TOTP seeds encrypted; a notice when a second-factor code is used twice (ASVS 2.8.2, 2.8.5)

- users.totp_secret grows to 255 characters: it now holds "fernet:<token>" (the seed encrypted under
  FIELD_KEY by the model's type). Seeds written before stay readable as they are and are encrypted
  when next written.
- outbox.kind and notices.kind accept one more kind: mfa_code_reused (the holder of a second factor
  is told that one of its codes was given again). The CHECK constraints are made again with the wider
  list, as in c3f8a1d07e52.

Revision ID: d4a2b8c6e1f3
Revises: c3f1a7e9d2b6
Create Date: 2026-11-30 05:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a2b8c6e1f3'
down_revision = 'c3f1a7e9d2b6'
branch_labels = None
depends_on = None

# The vocabularies as of this revision (a migration must not change when the code's enums grow).
OLD_NOTICE_KINDS = ("due_soon", "overdue", "supervision_order", "interview", "report_reminder", "report_late",
                    "unit_supervision", "digest", "submitted", "verified", "returned", "approved", "reopened",
                    "deadline_changed", "action_digest", "password_changed", "tokens_revoked")
NEW_NOTICE_KINDS = OLD_NOTICE_KINDS + ("mfa_code_reused",)
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
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=True)
    _recheck(NEW_NOTICE_KINDS)


def downgrade():
    # The older constraint would refuse the new kind: its mails and notices go with the downgrade.
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE kind = 'mfa_code_reused'")
    _recheck(OLD_NOTICE_KINDS)
    # An encrypted seed does not fit the older column: second factors are reset by a downgrade.
    op.execute("UPDATE users SET totp_secret = NULL, totp_last_step = NULL WHERE LENGTH(totp_secret) > 64")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=True)
