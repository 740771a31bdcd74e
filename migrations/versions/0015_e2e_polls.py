"""End-to-end verifiable polls: each election's key ceremony and trustees; each poll's public
credentials, encrypted and audited ballots, shuffles and openings; the election's setting and
its ceremony; and ballots of the channel "encrypted" (rankings opened after the shuffles).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_CHANNELS = "channel IN ('online', 'paper', 'encrypted')"
_OLD_CHANNELS = "channel IN ('online', 'paper')"


def upgrade():
    op.create_table(
        'e2e_ceremonies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('election_key', sa.String(length=64), nullable=False),
        sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_e2e_ceremonies')),
        sa.UniqueConstraint('label', name=op.f('uq_e2e_ceremonies_label')),
    )
    op.create_table(
        'e2e_trustees',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ceremony_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('transport_key', sa.String(length=64), nullable=False),
        sa.Column('dealing', sa.Text(), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('confirmed_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['ceremony_id'], ['e2e_ceremonies.id'],
            name=op.f('fk_e2e_trustees_ceremony_id_e2e_ceremonies'),
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_e2e_trustees_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_e2e_trustees')),
        sa.UniqueConstraint('ceremony_id', 'number', name=op.f('uq_e2e_trustees_ceremony_id_number')),
        sa.UniqueConstraint('ceremony_id', 'user_id', name=op.f('uq_e2e_trustees_ceremony_id_user_id')),
    )
    op.create_index(op.f('ix_e2e_trustees_ceremony_id'), 'e2e_trustees', ['ceremony_id'])
    op.create_table(
        'e2e_credentials',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('credential', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_e2e_credentials_poll_id_polls')),
        sa.PrimaryKeyConstraint('poll_id', 'credential', name=op.f('pk_e2e_credentials')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'e2e_ballots',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=19), nullable=False),
        sa.Column('credential', sa.String(length=64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('cast_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_e2e_ballots_poll_id_polls')),
        sa.PrimaryKeyConstraint('poll_id', 'tracker', name=op.f('pk_e2e_ballots')),
        sa.UniqueConstraint('poll_id', 'credential', name=op.f('uq_e2e_ballots_poll_id_credential')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'e2e_audits',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=19), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_e2e_audits_poll_id_polls')),
        sa.PrimaryKeyConstraint('poll_id', 'tracker', name=op.f('pk_e2e_audits')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'e2e_shuffles',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('trustee', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_e2e_shuffles_poll_id_polls')),
        sa.PrimaryKeyConstraint('poll_id', 'position', name=op.f('pk_e2e_shuffles')),
    )
    op.create_table(
        'e2e_openings',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('trustee', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_e2e_openings_poll_id_polls')),
        sa.PrimaryKeyConstraint('poll_id', 'trustee', name=op.f('pk_e2e_openings')),
    )
    with op.batch_alter_table('elections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('e2e', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ceremony_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_elections_ceremony_id_e2e_ceremonies'), 'e2e_ceremonies', ['ceremony_id'], ['id']
        )
    with op.batch_alter_table('poll_ballots', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_poll_ballots_channel'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_poll_ballots_channel'), _CHANNELS)


def downgrade():
    op.execute("DELETE FROM poll_ballots WHERE channel = 'encrypted'")
    with op.batch_alter_table('poll_ballots', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_poll_ballots_channel'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_poll_ballots_channel'), _OLD_CHANNELS)
    with op.batch_alter_table('elections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_elections_ceremony_id_e2e_ceremonies'), type_='foreignkey')
        batch_op.drop_column('ceremony_id')
        batch_op.drop_column('e2e')
    for table in ('e2e_openings', 'e2e_shuffles', 'e2e_audits', 'e2e_ballots', 'e2e_credentials'):
        op.drop_table(table)
    op.drop_index(op.f('ix_e2e_trustees_ceremony_id'), table_name='e2e_trustees')
    op.drop_table('e2e_trustees')
    op.drop_table('e2e_ceremonies')
