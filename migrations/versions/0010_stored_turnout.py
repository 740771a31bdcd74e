"""Turnout stored with each contest's count: the roll marks when counted (the poll is closed),
so that the results page and declaration notices do not count the roll again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contest_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voted', sa.Integer(), nullable=True))
    # Counts made before this revision: their roll marks are all still there (a purge keeps
    # them), so the turnout is counted once here.
    op.execute(
        "UPDATE contest_results SET voted = (SELECT count(*) FROM roll_marks"
        " JOIN roll_entries ON roll_entries.id = roll_marks.roll_entry_id"
        " WHERE roll_entries.contest_id = contest_results.contest_id)"
    )
    with op.batch_alter_table('contest_results', schema=None) as batch_op:
        batch_op.alter_column('voted', existing_type=sa.Integer(), nullable=False)


def downgrade():
    with op.batch_alter_table('contest_results', schema=None) as batch_op:
        batch_op.drop_column('voted')
