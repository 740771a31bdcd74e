"""Each encrypted ballot keeps its row (its bits combined and packed, as the first shuffle
takes it), computed once when it is cast: the trustees' task and the first shuffle's check
read it instead of recomputing 10,000 ballots' rows in one request. Ballots cast before this
have an empty row, computed when it is read.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('e2e_ballots') as batch_op:
        batch_op.add_column(sa.Column('row', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('e2e_ballots') as batch_op:
        batch_op.drop_column('row')
