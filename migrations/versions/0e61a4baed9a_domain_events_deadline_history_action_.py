"""domain events, deadline history, action notices

- deadline_changes: every move of an issue's deadline (old, new, who, when, why, source); index
  (issue_id, changed_at) for an issue's history and the deadline in force on a past day.
- issues.original_deadline: the deadline first set; existing issues take their current deadline
  (their earlier moves were never recorded), added nullable, filled, then made NOT NULL.
- events.changes: an edit's changed fields as JSON {field: [old, new]}.
- user_prefs.action_mail: a workflow action's mail at once (immediate, the default for everyone
  today) or as a line of the next digest; digest_lines holds those lines until mailed.
- report_lateness.report_id and filed_at become nullable: a late report is marked as soon as the
  due day has passed (still missing), and gets its first report when that comes.

Revision ID: 0e61a4baed9a
Revises: e9c58a1d6fa9
Create Date: 2026-11-30 00:25:16.918573

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0e61a4baed9a'
down_revision = 'e9c58a1d6fa9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deadline_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('old_deadline', sa.Date(), nullable=False),
    sa.Column('new_deadline', sa.Date(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_deadline_changes_changed_by_id_users')),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_deadline_changes_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_changes'))
    )
    with op.batch_alter_table('deadline_changes', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_changes_issue_changed', ['issue_id', 'changed_at'], unique=False)

    op.create_table('digest_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_digest_lines_issue_id_issues'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_lines_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_lines')),
    sa.UniqueConstraint('user_id', 'kind', 'ref', name='uq_digest_lines_user_kind_ref')
    )
    with op.batch_alter_table('digest_lines', schema=None) as batch_op:
        batch_op.create_index('ix_digest_lines_user_sent_at', ['user_id', 'sent_at'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changes', sa.Text(), nullable=True))

    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_deadline', sa.Date(), nullable=True))
    op.execute("UPDATE issues SET original_deadline = deadline")
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.alter_column('original_deadline', existing_type=sa.Date(), nullable=False)

    with op.batch_alter_table('user_prefs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action_mail', sa.String(length=10), server_default=sa.text("'immediate'"), nullable=False))

    with op.batch_alter_table('report_lateness', schema=None) as batch_op:
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('filed_at', existing_type=sa.DateTime(), nullable=True)



def downgrade():
    # Marks of reports that never came cannot stay in the older table, which needs a report.
    op.execute("DELETE FROM report_lateness WHERE report_id IS NULL OR filed_at IS NULL")
    with op.batch_alter_table('report_lateness', schema=None) as batch_op:
        batch_op.alter_column('filed_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('user_prefs', schema=None) as batch_op:
        batch_op.drop_column('action_mail')

    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('original_deadline')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('changes')

    with op.batch_alter_table('digest_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_lines_user_sent_at')

    op.drop_table('digest_lines')
    with op.batch_alter_table('deadline_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_changes_issue_changed')

    op.drop_table('deadline_changes')
