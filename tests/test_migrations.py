"""Migrations: an empty database upgrades to head with no drift from the models, and the
last step downgrades and upgrades again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError

from assembly.extensions import db
from tests.conftest import PG_URL, drop_pg_database, make_pg_database


@pytest.fixture
def empty_app(make_app: Callable[..., Flask], tmp_path: Path):  # type: ignore[no-untyped-def]
    """An app on a database with no tables at all."""
    if PG_URL:
        name = f"assembly_migrations_{tmp_path.name[-20:]}".replace("-", "_").lower()
        url = make_pg_database(PG_URL, name)
        app = make_app(DATABASE_URL=url)
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
        drop_pg_database(PG_URL, name)
    else:
        app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
        with app.app_context():
            yield app


def _drift() -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, db.metadata))


def test_upgrade_empty_database_to_head_has_no_drift(empty_app: Flask) -> None:
    """The migrations build exactly the schema the models describe."""
    assert inspect(db.engine).get_table_names() == []
    upgrade()
    assert "institutions" in inspect(db.engine).get_table_names()
    assert _drift() == []


def test_downgrade_one_step_and_upgrade_again(empty_app: Flask) -> None:
    """The newest migration can be undone and redone, ending with no drift."""
    upgrade()
    downgrade(revision="-1")
    upgrade()
    assert _drift() == []


def test_audit_events_refuse_update_and_delete_after_migration(empty_app: Flask) -> None:
    """The migrated audit table has the append-only trigger."""
    upgrade()
    db.session.execute(
        text(
            "INSERT INTO audit_events (seq, occurred_at, actor_label, action, subject_type,"
            " subject_id, data, prev_hash, hash) VALUES (1, CURRENT_TIMESTAMP, 'x', 'x', '', '',"
            " '{}', :p, :h)"
        ),
        {"p": "0" * 64, "h": "1" * 64},
    )
    db.session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("UPDATE audit_events SET action = 'changed'"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_events"))
    db.session.rollback()


def test_records_keep_verifying_across_the_merge_of_the_record_tables(app: Flask) -> None:
    """A countersigned board election record and an assembly record, taken back to the two
    tables of revision 0011 and forward again into one: every row comes back byte for byte,
    with the officer's fingerprint, and both records pass every step of the verifier."""
    from assembly.assemblies.operations import close_vote, declare_assembly, open_vote
    from assembly.records.models import Record
    from assembly.records.operations import list_records, published
    from assembly.records.verify import verify_record
    from tests.assemblies.helpers import HELD_ON, make_room
    from tests.assemblies.test_count import _check_in_all, _vote_all
    from tests.records.test_pages import _declared

    _declared(app)
    room = make_room("merge-school")
    _check_in_all(room)
    open_vote(room.secretary, room.assembly)
    _vote_all(room, {"workers": [[0, 1], [1], [0]]})
    vote = room.assembly.votes[-1]
    close_vote(room.secretary, vote)
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()

    def rows() -> list[tuple[object, ...]]:
        return [
            (
                r.kind,
                r.subject_id,
                r.body_sha256,
                r.document,
                r.officer_signature,
                r.officer_fingerprint,
                r.created_at,
                r.countersigned_at,
            )
            for r in list_records()
        ]

    before = rows()
    assert {row[0] for row in before} == {"election", "assembly"}
    assert any(row[4] and row[5] for row in before)  # one is countersigned
    db.session.remove()
    downgrade(revision="0011")
    tables = inspect(db.engine).get_table_names()
    assert "records" not in tables and {"election_records", "assembly_records"} <= set(tables)
    upgrade()
    db.session.remove()
    assert rows() == before
    reports = [verify_record(published(row)) for row in db.session.scalars(select(Record))]
    failed = [[s.number for s in r.steps if not s.passed] for r in reports]
    # The assembly's record awaits the returning officer's countersignature (step 4) only.
    assert sorted(failed) == [[], [4]], failed


def test_ballots_marks_and_batches_keep_across_the_merge_of_the_poll_tables(app: Flask) -> None:
    """A declared board election and an assembly whose vote took phone and paper ballots,
    taken back to the paired tables of revision 0012 and forward again into the poll tables:
    every ballot, roll mark and paper batch comes back to the same contest or vote, both
    records built again from the tables are the records published, and both verify."""
    from assembly.assemblies.models import Assembly, Attendance, Vote
    from assembly.assemblies.operations import close_vote, declare_assembly, open_vote
    from assembly.assemblies.paper import enter_paper_batch, give_paper, parse_papers
    from assembly.assemblies.record import assembly_record, build_assembly_body
    from assembly.auth.models import Role
    from assembly.elections.models import Contest, Election
    from assembly.elections.record import build_body, get_record
    from assembly.polls.models import Ballot, PaperBatch, RollMark
    from assembly.records.operations import published
    from assembly.records.verify import verify_record
    from tests.assemblies.helpers import HELD_ON, make_room
    from tests.assemblies.test_count import _check_in_all, _vote_all
    from tests.conftest import grant, make_user
    from tests.records.test_pages import _declared

    counted = _declared(app)
    room = make_room("merge-polls", per_constituency=3)
    _check_in_all(room)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    _vote_all(room, {"workers": [[0, 1], [1], [0]]})
    for attendance in db.session.scalars(
        select(Attendance).where(Attendance.assembly_id == room.assembly.id)
    ):
        if attendance.constituency.key == "users":
            give_paper(room.teller, vote, attendance)
    users = room.members["users"][0].constituency
    papers = parse_papers("1 2\n2\n2 1", vote)
    enter_paper_batch(room.teller, vote, users, "Box 1", papers)
    second = make_user("teller2@merge-polls.org")
    grant(second, room.institution, Role.teller)
    enter_paper_batch(second, vote, users, "Box 1", papers)
    close_vote(room.secretary, vote)
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()

    def owner(poll_id: int) -> tuple[str, int]:
        contest = db.session.scalar(select(Contest.id).where(Contest.poll_id == poll_id))
        if contest is not None:
            return ("contest", contest)
        return ("vote", db.session.scalar(select(Vote.id).where(Vote.poll_id == poll_id)))

    def rows() -> dict[str, list[tuple[object, ...]]]:
        ballots = db.session.scalars(select(Ballot)).all()
        marks = db.session.scalars(select(RollMark)).all()
        batches = db.session.scalars(select(PaperBatch)).all()
        return {
            "ballots": sorted(
                (
                    owner(b.poll_id),
                    b.id,
                    b.tracker,
                    b.constituency,
                    b.ranking,
                    b.choice,
                    b.channel,
                    b.cast_on,
                    b.batch_id is not None,
                )
                for b in ballots
            ),
            "marks": sorted((owner(m.poll_id), m.person_id, m.channel) for m in marks),
            "batches": sorted(
                (
                    owner(b.poll_id),
                    b.constituency,
                    b.label,
                    b.status,
                    b.first_entry,
                    b.second_entry,
                    b.first_by_id,
                    b.second_by_id,
                )
                for b in batches
            ),
        }

    election_id, assembly_id = counted.election.id, room.assembly.id
    before = rows()
    kinds = {row[0][0] for row in before["ballots"]}
    assert kinds == {"contest", "vote"}
    assert {row[6] for row in before["ballots"] if row[0][0] == "vote"} == {"online", "paper"}
    assert len(before["batches"]) == 1
    db.session.remove()
    downgrade(revision="0012")
    tables = set(inspect(db.engine).get_table_names())
    assert {"ballots", "assembly_ballots", "roll_marks", "assembly_vote_marks"} <= tables
    assert "polls" not in tables
    upgrade()
    db.session.remove()
    assert rows() == before
    election = db.session.get(Election, election_id)
    assembly = db.session.get(Assembly, assembly_id)
    assert election is not None and assembly is not None
    election_row, assembly_row = get_record(election), assembly_record(assembly)
    assert election_row is not None and assembly_row is not None

    def tallied(body: dict[str, object]) -> dict[str, object]:
        """A record body without the moment it was made (its time and the audit log's head)."""
        return {k: v for k, v in body.items() if k not in {"audit", "issued_at"}}

    assert tallied(json.loads(election_row.document)["body"]) == tallied(build_body(election))
    assert tallied(json.loads(assembly_row.document)["body"]) == tallied(
        build_assembly_body(assembly)
    )
    for row in (election_row, assembly_row):
        report = verify_record(published(row))
        assert [s.number for s in report.steps if not s.passed] in ([], [4]), report
