"""API tokens expire and record their last use (ASVS 3.5.2, 3.3.x)

- api_tokens.expires_at (NOT NULL): when the token stops working. Existing tokens get their
  creation time plus 12 hours (the default of TRACKER_TOKEN_HOURS), so that old tokens expire as
  new ones would rather than living for ever; most of them are thus expired at once.
- api_tokens.last_used_at: the last call made with the token (moved at most once a minute).
- api_tokens.label: the client's User-Agent when the token was issued, shown to its owner.

Revision ID: b7d2e5a91c04
Revises: 5b1e7d0c9a42
Create Date: 2026-11-30 03:45:00.000000

"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e5a91c04'
down_revision = '5b1e7d0c9a42'
branch_labels = None
depends_on = None

# The default token lifetime as of this revision (a migration must not change when the setting does).
TOKEN_HOURS = 12


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('label', sa.String(length=200), nullable=True))

    # Computed in Python, so that SQLite and PostgreSQL take the same path (date arithmetic differs).
    tokens = sa.table('api_tokens', sa.column('id', sa.Integer()), sa.column('created_at', sa.DateTime()),
                      sa.column('expires_at', sa.DateTime()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all()
    for token_id, created_at in rows:
        conn.execute(tokens.update().where(tokens.c.id == token_id)
                     .values(expires_at=created_at + timedelta(hours=TOKEN_HOURS)))

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('label')
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
