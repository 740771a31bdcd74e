"""Each contest names the STV rule set it is counted by; every existing contest was counted
(or will be) by the Scottish rules, the only ones there were.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('rules', sa.String(length=40), server_default='scottish-2007', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('rules')
