"""One voting core: every poll's ballots, roll marks and paper batches in the same tables.

A board election's contest and an assembly's vote each get a row of ``polls`` (their new
``poll_id``), and the paired tables become one each:

- ``ballots`` and ``assembly_ballots`` → ``poll_ballots`` (a contest's ballots take an empty
  constituency and choice);
- ``roll_marks`` (keyed by roll entry) and ``assembly_vote_marks`` (keyed by vote and
  attendance) → ``poll_marks``, keyed by poll and person;
- ``paper_batches`` and ``assembly_paper_batches`` → ``poll_batches``.

Every ballot keeps its id, tracker, ranking or choice, channel and date, so each record
already published (which holds the ballots themselves) verifies as before, and a record built
again from the tables is the same. Contests keep their ids as their polls' ids; votes and
assembly batches are numbered after them (the audit log's earlier events name assembly
batches by their old ids, as ``assemblypaperbatch``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

WAITING = "status = 'first_entered'"
BATCH_COLUMNS = (
    "label, status, first_entry, first_by_id, second_entry, second_by_id, created_at, decided_at"
)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _scalar(sql):
    return op.get_bind().execute(sa.text(sql)).scalar()


def _restart_sequence(table):
    """After rows were copied with their ids, PostgreSQL's sequence starts after them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        )


def _add_poll_id(table, offset):
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column('poll_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE {table} SET poll_id = id + {offset}")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column('poll_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_poll_id'), ['poll_id'])
        batch_op.create_foreign_key(
            batch_op.f(f'fk_{table}_poll_id_polls'), 'polls', ['poll_id'], ['id']
        )


def _drop_poll_id(table):
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f'fk_{table}_poll_id_polls'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f(f'uq_{table}_poll_id'), type_='unique')
        batch_op.drop_column('poll_id')


def upgrade():
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', _enum('poll_kind', 'contest', 'assembly_vote'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    votes_after = _scalar("SELECT COALESCE(MAX(id), 0) FROM contests")
    batches_after = _scalar("SELECT COALESCE(MAX(id), 0) FROM paper_batches")
    op.execute("INSERT INTO polls (id, kind) SELECT id, 'contest' FROM contests")
    op.execute(
        f"INSERT INTO polls (id, kind) SELECT id + {votes_after}, 'assembly_vote'"
        " FROM assembly_votes"
    )
    _restart_sequence('polls')
    _add_poll_id('contests', 0)
    _add_poll_id('assembly_votes', votes_after)

    op.create_table('poll_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('constituency', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('status', _enum('paper_batch_status', 'first_entered', 'accepted', 'rejected'), nullable=False),
    sa.Column('first_entry', sa.Text(), nullable=False),
    sa.Column('first_by_id', sa.Integer(), nullable=False),
    sa.Column('second_entry', sa.Text(), nullable=False),
    sa.Column('second_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['first_by_id'], ['users.id'], name=op.f('fk_poll_batches_first_by_id_users')),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_batches_poll_id_polls')),
    sa.ForeignKeyConstraint(['second_by_id'], ['users.id'], name=op.f('fk_poll_batches_second_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_batches'))
    )
    with op.batch_alter_table('poll_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_batches_poll_id'), ['poll_id'], unique=False)
        batch_op.create_index('uq_poll_batches_waiting', ['poll_id', 'constituency', 'label'], unique=True, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))

    op.create_table('poll_marks',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channel', _enum('channel', 'online', 'paper'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_poll_marks_person_id_people')),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_marks_poll_id_polls')),
    sa.PrimaryKeyConstraint('poll_id', 'person_id', name=op.f('pk_poll_marks'))
    )
    op.create_table('poll_ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('constituency', sa.String(length=40), nullable=False),
    sa.Column('ranking', sa.Text(), nullable=False),
    sa.Column('choice', sa.String(length=10), nullable=False),
    sa.Column('channel', _enum('channel', 'online', 'paper'), nullable=False),
    sa.Column('cast_on', sa.Date(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['poll_batches.id'], name=op.f('fk_poll_ballots_batch_id_poll_batches')),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_ballots_poll_id_polls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_ballots')),
    sa.UniqueConstraint('tracker', name=op.f('uq_poll_ballots_tracker')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('poll_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_ballots_poll_id'), ['poll_id'], unique=False)

    # A contest's poll has the contest's id; a vote's, its id after every contest's.
    op.execute(
        f"INSERT INTO poll_batches (id, poll_id, constituency, {BATCH_COLUMNS})"
        f" SELECT id, contest_id, '', {BATCH_COLUMNS} FROM paper_batches"
    )
    op.execute(
        f"INSERT INTO poll_batches (id, poll_id, constituency, {BATCH_COLUMNS})"
        f" SELECT id + {batches_after}, vote_id + {votes_after}, constituency, {BATCH_COLUMNS}"
        " FROM assembly_paper_batches"
    )
    _restart_sequence('poll_batches')
    op.execute(
        "INSERT INTO poll_ballots"
        " (id, poll_id, tracker, constituency, ranking, choice, channel, cast_on, batch_id)"
        " SELECT id, contest_id, tracker, '', ranking, '', channel, cast_on, batch_id"
        " FROM ballots"
    )
    op.execute(
        "INSERT INTO poll_ballots"
        " (id, poll_id, tracker, constituency, ranking, choice, channel, cast_on, batch_id)"
        f" SELECT id, vote_id + {votes_after}, tracker, constituency, ranking, choice,"
        f" channel, cast_on, batch_id + {batches_after} FROM assembly_ballots"
    )
    op.execute(
        "INSERT INTO poll_marks (poll_id, person_id, channel)"
        " SELECT roll_entries.contest_id, roll_entries.person_id, roll_marks.channel"
        " FROM roll_marks JOIN roll_entries ON roll_entries.id = roll_marks.roll_entry_id"
    )
    # A phone in the room is the online channel.
    op.execute(
        "INSERT INTO poll_marks (poll_id, person_id, channel)"
        f" SELECT assembly_vote_marks.vote_id + {votes_after}, attendances.person_id,"
        " CASE WHEN assembly_vote_marks.channel = 'paper' THEN 'paper' ELSE 'online' END"
        " FROM assembly_vote_marks"
        " JOIN attendances ON attendances.id = assembly_vote_marks.attendance_id"
    )
    op.drop_table('ballots')
    op.drop_table('assembly_ballots')
    op.drop_table('roll_marks')
    op.drop_table('assembly_vote_marks')
    op.drop_table('paper_batches')
    op.drop_table('assembly_paper_batches')


def downgrade():
    op.create_table('paper_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('status', _enum('paper_batch_status', 'first_entered', 'accepted', 'rejected'), nullable=False),
    sa.Column('first_entry', sa.Text(), nullable=False),
    sa.Column('first_by_id', sa.Integer(), nullable=False),
    sa.Column('second_entry', sa.Text(), nullable=False),
    sa.Column('second_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_paper_batches_contest_id_contests')),
    sa.ForeignKeyConstraint(['first_by_id'], ['users.id'], name=op.f('fk_paper_batches_first_by_id_users')),
    sa.ForeignKeyConstraint(['second_by_id'], ['users.id'], name=op.f('fk_paper_batches_second_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_batches'))
    )
    with op.batch_alter_table('paper_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_batches_contest_id'), ['contest_id'], unique=False)
        batch_op.create_index('uq_paper_batches_waiting', ['contest_id', 'label'], unique=True, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))

    op.create_table('assembly_paper_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('constituency', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_entry', sa.Text(), nullable=False),
    sa.Column('first_by_id', sa.Integer(), nullable=False),
    sa.Column('second_entry', sa.Text(), nullable=False),
    sa.Column('second_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['first_by_id'], ['users.id'], name=op.f('fk_assembly_paper_batches_first_by_id_users')),
    sa.ForeignKeyConstraint(['second_by_id'], ['users.id'], name=op.f('fk_assembly_paper_batches_second_by_id_users')),
    sa.ForeignKeyConstraint(['vote_id'], ['assembly_votes.id'], name=op.f('fk_assembly_paper_batches_vote_id_assembly_votes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assembly_paper_batches'))
    )
    with op.batch_alter_table('assembly_paper_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assembly_paper_batches_vote_id'), ['vote_id'], unique=False)
        batch_op.create_index('uq_assembly_paper_batches_waiting', ['vote_id', 'constituency', 'label'], unique=True, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))

    op.create_table('ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('ranking', sa.Text(), nullable=False),
    sa.Column('channel', _enum('channel', 'online', 'paper'), nullable=False),
    sa.Column('cast_on', sa.Date(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['paper_batches.id'], name=op.f('fk_ballots_batch_id_paper_batches')),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_ballots_contest_id_contests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots')),
    sa.UniqueConstraint('tracker', name=op.f('uq_ballots_tracker')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballots_contest_id'), ['contest_id'], unique=False)

    op.create_table('assembly_ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('constituency', sa.String(length=40), nullable=False),
    sa.Column('ranking', sa.Text(), nullable=False),
    sa.Column('choice', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('cast_on', sa.Date(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['assembly_paper_batches.id'], name=op.f('fk_assembly_ballots_batch_id_assembly_paper_batches')),
    sa.ForeignKeyConstraint(['vote_id'], ['assembly_votes.id'], name=op.f('fk_assembly_ballots_vote_id_assembly_votes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assembly_ballots')),
    sa.UniqueConstraint('tracker', name=op.f('uq_assembly_ballots_tracker')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('assembly_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assembly_ballots_vote_id'), ['vote_id'], unique=False)

    op.create_table('roll_marks',
    sa.Column('roll_entry_id', sa.Integer(), nullable=False),
    sa.Column('channel', _enum('channel', 'online', 'paper'), nullable=False),
    sa.ForeignKeyConstraint(['roll_entry_id'], ['roll_entries.id'], name=op.f('fk_roll_marks_roll_entry_id_roll_entries')),
    sa.PrimaryKeyConstraint('roll_entry_id', name=op.f('pk_roll_marks'))
    )
    op.create_table('assembly_vote_marks',
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_assembly_vote_marks_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['vote_id'], ['assembly_votes.id'], name=op.f('fk_assembly_vote_marks_vote_id_assembly_votes')),
    sa.PrimaryKeyConstraint('vote_id', 'attendance_id', name=op.f('pk_assembly_vote_marks'))
    )

    op.execute(
        f"INSERT INTO paper_batches (id, contest_id, {BATCH_COLUMNS})"
        f" SELECT b.id, c.id, {BATCH_COLUMNS.replace(', ', ', b.').replace('label', 'b.label', 1)}"
        " FROM poll_batches b JOIN contests c ON c.poll_id = b.poll_id"
    )
    op.execute(
        f"INSERT INTO assembly_paper_batches (id, vote_id, constituency, {BATCH_COLUMNS})"
        f" SELECT b.id, v.id, b.constituency, {BATCH_COLUMNS.replace(', ', ', b.').replace('label', 'b.label', 1)}"
        " FROM poll_batches b JOIN assembly_votes v ON v.poll_id = b.poll_id"
    )
    _restart_sequence('paper_batches')
    _restart_sequence('assembly_paper_batches')
    op.execute(
        "INSERT INTO ballots (id, contest_id, tracker, ranking, channel, cast_on, batch_id)"
        " SELECT b.id, c.id, b.tracker, b.ranking, b.channel, b.cast_on, b.batch_id"
        " FROM poll_ballots b JOIN contests c ON c.poll_id = b.poll_id"
    )
    op.execute(
        "INSERT INTO assembly_ballots"
        " (id, vote_id, tracker, constituency, ranking, choice, channel, cast_on, batch_id)"
        " SELECT b.id, v.id, b.tracker, b.constituency, b.ranking, b.choice, b.channel,"
        " b.cast_on, b.batch_id FROM poll_ballots b JOIN assembly_votes v ON v.poll_id = b.poll_id"
    )
    op.execute(
        "INSERT INTO roll_marks (roll_entry_id, channel)"
        " SELECT e.id, m.channel FROM poll_marks m"
        " JOIN contests c ON c.poll_id = m.poll_id"
        " JOIN roll_entries e ON e.contest_id = c.id AND e.person_id = m.person_id"
    )
    op.execute(
        "INSERT INTO assembly_vote_marks (vote_id, attendance_id, channel)"
        " SELECT v.id, a.id, m.channel FROM poll_marks m"
        " JOIN assembly_votes v ON v.poll_id = m.poll_id"
        " JOIN attendances a ON a.assembly_id = v.assembly_id AND a.person_id = m.person_id"
    )
    op.drop_table('poll_ballots')
    op.drop_table('poll_marks')
    op.drop_table('poll_batches')
    _drop_poll_id('contests')
    _drop_poll_id('assembly_votes')
    op.drop_table('polls')
