"""One table of signed records for every kind: the records service knows no feature.

``election_records`` and ``assembly_records`` become rows of ``records`` keyed by the kind of
what they record (``election`` or ``assembly``) and its id; every document, signature and
time is copied unchanged, so every record published before verifies as it did. Each row now
keeps the fingerprint of the returning officer's key that countersigned it, so that the
service publishes a record without reading the election or assembly.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = "body_sha256, document, officer_signature, created_at, countersigned_at"


def upgrade():
    op.create_table('records',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('officer_signature', sa.Text(), nullable=False),
    sa.Column('officer_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('countersigned_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_records'))
    )
    # The officer's fingerprint, published beside their signature, was read from the
    # election or assembly; the record keeps it now (empty until countersigned).
    op.execute(
        f"INSERT INTO records (kind, subject_id, officer_fingerprint, {COLUMNS})"
        " SELECT 'election', election_id, CASE WHEN officer_signature = '' THEN ''"
        f" ELSE elections.officer_fingerprint END, {COLUMNS.replace('created_at', 'election_records.created_at')}"
        " FROM election_records JOIN elections ON elections.id = election_records.election_id"
    )
    op.execute(
        f"INSERT INTO records (kind, subject_id, officer_fingerprint, {COLUMNS})"
        " SELECT 'assembly', assembly_id, CASE WHEN officer_signature = '' THEN ''"
        f" ELSE assemblies.officer_fingerprint END, {COLUMNS.replace('created_at', 'assembly_records.created_at')}"
        " FROM assembly_records JOIN assemblies ON assemblies.id = assembly_records.assembly_id"
    )
    op.drop_table('election_records')
    op.drop_table('assembly_records')


def downgrade():
    op.create_table('assembly_records',
    sa.Column('assembly_id', sa.Integer(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('officer_signature', sa.Text(), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('countersigned_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assembly_id'], ['assemblies.id'], name=op.f('fk_assembly_records_assembly_id_assemblies')),
    sa.PrimaryKeyConstraint('assembly_id', name=op.f('pk_assembly_records'))
    )
    op.create_table('election_records',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('officer_signature', sa.Text(), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('countersigned_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], name=op.f('fk_election_records_election_id_elections')),
    sa.PrimaryKeyConstraint('election_id', name=op.f('pk_election_records'))
    )
    op.execute(
        f"INSERT INTO election_records (election_id, {COLUMNS})"
        f" SELECT subject_id, {COLUMNS} FROM records WHERE kind = 'election'"
    )
    op.execute(
        f"INSERT INTO assembly_records (assembly_id, {COLUMNS})"
        f" SELECT subject_id, {COLUMNS} FROM records WHERE kind = 'assembly'"
    )
    op.drop_table('records')
