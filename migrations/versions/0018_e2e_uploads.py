"""Trustees' uploads (shuffles, decryption shares) are kept while their proofs are checked in
the background, and then their outcome: a 10,000-ballot poll's take about 20 seconds, too long
for the request that uploads them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'e2e_uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trustee_id', sa.Integer(), nullable=False),
        sa.Column('part', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('uploaded_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['trustee_id'], ['e2e_trustees.id'], name=op.f('fk_e2e_uploads_trustee_id_e2e_trustees')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_e2e_uploads')),
    )
    op.create_index(op.f('ix_e2e_uploads_trustee_id'), 'e2e_uploads', ['trustee_id'])


def downgrade():
    op.drop_index(op.f('ix_e2e_uploads_trustee_id'), table_name='e2e_uploads')
    op.drop_table('e2e_uploads')
