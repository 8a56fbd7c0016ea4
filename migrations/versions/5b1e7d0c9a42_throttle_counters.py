"""throttle_counters: the sign-in throttle's counters when no Redis is configured

One row per fixed-window counter of tracker.core.throttle.SqlStorage (Flask-Limiter's storage
"trackerdb://"): failed sign-ins per account and per address. Rows past expires_at are dead
and deleted by the next write: index on expires_at.

Revision ID: 5b1e7d0c9a42
Revises: a7c31e5d9b02
Create Date: 2026-11-30 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e7d0c9a42'
down_revision = 'a7c31e5d9b02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('throttle_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_counters'))
    )
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counters_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counters_expires_at'))

    op.drop_table('throttle_counters')
