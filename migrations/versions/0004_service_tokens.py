"""Service tokens for the roster push API; one import run per source and idempotency key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('expires_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['roster_sources.id'], name=op.f('fk_service_tokens_source_id_roster_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_tokens')),
    sa.UniqueConstraint('token_id', name=op.f('uq_service_tokens_token_id'))
    )
    with op.batch_alter_table('service_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_tokens_source_id'), ['source_id'], unique=False)

    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_import_runs_source_id_idempotency_key'), ['source_id', 'idempotency_key'])



def downgrade():
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_import_runs_source_id_idempotency_key'), type_='unique')

    with op.batch_alter_table('service_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_tokens_source_id'))

    op.drop_table('service_tokens')
