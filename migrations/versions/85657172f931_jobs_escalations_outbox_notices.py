"""jobs: settings, escalations, yellow-light marks, late reports, digest preferences, outbox, notices, leases

Tables of tracker/notify_models.py. Every "done once" row has a UNIQUE key:
escalations (issue_id, key), unit_escalations (unit_id, period, kind),
light_marks (issue_id, period, light), report_lateness (issue_id, period),
outbox (kind, to_addr, ref), notices (user_id, kind, ref).

Revision ID: 85657172f931
Revises: 3da6d93fed40
Create Date: 2026-11-28 17:57:29.416466

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '85657172f931'
down_revision = '3da6d93fed40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=True),
    sa.Column('acquired_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('unit_escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('fired_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_escalations_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_escalations')),
    sa.UniqueConstraint('unit_id', 'period', 'kind', name='uq_unit_escalations_unit_period_kind')
    )
    with op.batch_alter_table('unit_escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_escalations_fired_on'), ['fired_on'], unique=False)

    op.create_table('job_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_job_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_job_settings'))
    )
    op.create_table('user_prefs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=10), server_default=sa.text("'daily'"), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_prefs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_prefs'))
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('fired_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_escalations_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('issue_id', 'key', name='uq_escalations_issue_key')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_fired_on'), ['fired_on'], unique=False)
        batch_op.create_index('ix_escalations_kind_issue', ['kind', 'issue_id'], unique=False)

    op.create_table('light_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('light', sa.String(length=10), nullable=False),
    sa.Column('first_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_light_marks_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_light_marks')),
    sa.UniqueConstraint('issue_id', 'period', 'light', name='uq_light_marks_issue_period_light')
    )
    with op.batch_alter_table('light_marks', schema=None) as batch_op:
        batch_op.create_index('ix_light_marks_period_light', ['period', 'light'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_notices_issue_id_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('user_id', 'kind', 'ref', name='uq_notices_user_kind_ref')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_user_read_at', ['user_id', 'read_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('to_addr', sa.String(length=254), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('to_name', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('give_up_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_outbox_issue_id_issues'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_outbox_unit_id_units'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('kind', 'to_addr', 'ref', name='uq_outbox_kind_to_addr_ref')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_user_id'), ['user_id'], unique=False)

    op.create_table('report_lateness',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_report_lateness_issue_id_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['progress_reports.id'], name=op.f('fk_report_lateness_report_id_progress_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_lateness')),
    sa.UniqueConstraint('issue_id', 'period', name='uq_report_lateness_issue_period')
    )
    with op.batch_alter_table('report_lateness', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_lateness_report_id'), ['report_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_lateness', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_lateness_report_id'))

    op.drop_table('report_lateness')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_user_id'))
        batch_op.drop_index('ix_outbox_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_user_read_at')

    op.drop_table('notices')
    with op.batch_alter_table('light_marks', schema=None) as batch_op:
        batch_op.drop_index('ix_light_marks_period_light')

    op.drop_table('light_marks')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_kind_issue')
        batch_op.drop_index(batch_op.f('ix_escalations_fired_on'))

    op.drop_table('escalations')
    op.drop_table('user_prefs')
    op.drop_table('job_settings')
    with op.batch_alter_table('unit_escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_escalations_fired_on'))

    op.drop_table('unit_escalations')
    op.drop_table('job_leases')
