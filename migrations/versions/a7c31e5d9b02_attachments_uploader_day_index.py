"""attachments: index on (uploaded_by_id, created_at) for the daily upload quota

The per-user daily quota on evidence uploads (TRACKER_UPLOAD_QUOTA_MB_PER_DAY) sums the sizes of
the files a user uploaded since local midnight before each upload; this index makes that sum read
only the user's files of the day.

Revision ID: a7c31e5d9b02
Revises: f64c532ad1a3
Create Date: 2026-11-30 03:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c31e5d9b02'
down_revision = 'f64c532ad1a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_uploader_created', ['uploaded_by_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_uploader_created')
