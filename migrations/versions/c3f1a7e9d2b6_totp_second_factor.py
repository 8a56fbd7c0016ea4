"""TOTP second factor (ASVS 4.3.1, 2.8.x)

- users.totp_secret: the user's base32 TOTP secret (NULL: no second factor).
- users.totp_last_step: the last 30-second time step a code was accepted for (no re-use).

Revision ID: c3f1a7e9d2b6
Revises: c3f8a1d07e52
Create Date: 2026-11-30 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f1a7e9d2b6'
down_revision = 'c3f8a1d07e52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
