"""End-to-end verifiable assemblies: an assembly's setting and its key ceremony, the public
halves of its voting cards (one constituency's each), a poll's credentials' constituency
(where a weighted vote counts its encrypted ballots by constituency), and a vote's state
"closed" (waiting for the trustees to open its encrypted ballots) and whether it takes
encrypted ballots.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_STATES = "state IN ('open', 'closed', 'counted')"
_OLD_STATES = "state IN ('open', 'counted')"


def upgrade():
    with op.batch_alter_table('assemblies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('e2e', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ceremony_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_assemblies_ceremony_id_e2e_ceremonies'), 'e2e_ceremonies', ['ceremony_id'], ['id']
        )
    op.create_table(
        'assembly_cards',
        sa.Column('assembly_id', sa.Integer(), nullable=False),
        sa.Column('credential', sa.String(length=64), nullable=False),
        sa.Column('constituency', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ['assembly_id'], ['assemblies.id'], name=op.f('fk_assembly_cards_assembly_id_assemblies')
        ),
        sa.PrimaryKeyConstraint('assembly_id', 'credential', name=op.f('pk_assembly_cards')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('e2e_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('constituency', sa.String(length=40), nullable=False, server_default=''))
    with op.batch_alter_table('assembly_votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('e2e', sa.Boolean(), server_default='0', nullable=False))
        batch_op.drop_constraint(batch_op.f('ck_assembly_votes_vote_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_assembly_votes_vote_state'), _STATES)


def downgrade():
    op.execute("UPDATE assembly_votes SET state = 'open' WHERE state = 'closed'")
    with op.batch_alter_table('assembly_votes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_assembly_votes_vote_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_assembly_votes_vote_state'), _OLD_STATES)
        batch_op.drop_column('e2e')
    with op.batch_alter_table('e2e_credentials', schema=None) as batch_op:
        batch_op.drop_column('constituency')
    op.drop_table('assembly_cards')
    with op.batch_alter_table('assemblies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assemblies_ceremony_id_e2e_ceremonies'), type_='foreignkey')
        batch_op.drop_column('ceremony_id')
        batch_op.drop_column('e2e')
