"""One paper batch waits for its second entry per label: a partial unique index on each
poll's batches, so that two first entries made at the same moment cannot both wait.

Earlier duplicates (two first entries of one label, left by such a race) are resolved first:
the earliest waits on, the later ones are set aside as rejected (nothing of a waiting batch
was ever counted).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

WAITING = "status = 'first_entered'"


def upgrade():
    op.execute(
        "UPDATE paper_batches SET status = 'rejected' WHERE status = 'first_entered' AND id >"
        " (SELECT min(b.id) FROM paper_batches b WHERE b.contest_id = paper_batches.contest_id"
        " AND b.label = paper_batches.label AND b.status = 'first_entered')"
    )
    op.execute(
        "UPDATE assembly_paper_batches SET status = 'rejected' WHERE status = 'first_entered'"
        " AND id > (SELECT min(b.id) FROM assembly_paper_batches b"
        " WHERE b.vote_id = assembly_paper_batches.vote_id"
        " AND b.constituency = assembly_paper_batches.constituency"
        " AND b.label = assembly_paper_batches.label AND b.status = 'first_entered')"
    )
    op.create_index(
        'uq_paper_batches_waiting',
        'paper_batches',
        ['contest_id', 'label'],
        unique=True,
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index(
        'uq_assembly_paper_batches_waiting',
        'assembly_paper_batches',
        ['vote_id', 'constituency', 'label'],
        unique=True,
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade():
    op.drop_index('uq_assembly_paper_batches_waiting', table_name='assembly_paper_batches')
    op.drop_index('uq_paper_batches_waiting', table_name='paper_batches')
