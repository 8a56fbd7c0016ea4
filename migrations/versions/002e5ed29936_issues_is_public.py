"""issues.is_public: the office marks an issue for the public disclosure page (整改公示)

Existing issues stay not public (server default false; the literal FALSE works on
PostgreSQL and on SQLite >= 3.23).

Revision ID: 002e5ed29936
Revises: 85657172f931
Create Date: 2026-11-28 19:25:44.545194

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '002e5ed29936'
down_revision = '85657172f931'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_public', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('is_public')
