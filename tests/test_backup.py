"""`assembly backup` and `assembly restore`: a round trip on SQLite (online backup API) and on
PostgreSQL (pg_dump / pg_restore) gives back exactly the database backed up, and every
election and assembly record in it verifies afterwards. Refusals change nothing."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from assembly.assemblies.operations import (
    cast_assembly_vote,
    close_vote,
    declare_assembly,
    open_vote,
)
from assembly.extensions import db
from tests.assemblies.helpers import HELD_ON, make_room
from tests.conftest import make_institution, make_member
from tests.membership.test_imports import database_fingerprint
from tests.records.test_pages import _declared


def _assembly_declared() -> None:
    room = make_room("backup-school", standing=1)
    vote = None
    for membership in room.everyone()[:3]:
        attendance = room.check_in(membership)
        if vote is None:
            vote = open_vote(room.secretary, room.assembly)
        cast_assembly_vote(attendance, vote, choice="yes", day=HELD_ON)
    assert vote is not None
    close_vote(room.secretary, vote)
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()


def test_a_round_trip_gives_back_the_database_and_every_record_verifies(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    _declared(app)
    _assembly_declared()
    db.session.rollback()
    before = database_fingerprint()
    path = tmp_path / "assembly.backup"
    made = runner.invoke(args=["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert "ok  audit chain" in made.output
    assert "ok  election 1 record: every step passed" in made.output
    assert "ok  assembly 1 record: awaiting the returning officer's countersignature" in made.output
    again = runner.invoke(args=["backup", str(path)])
    assert again.exit_code == 1 and "never overwrites" in again.output

    # Life goes on after the backup; the restore takes the database back to it.
    make_member(make_institution(slug="after-the-backup"), "workers")
    db.session.rollback()
    assert database_fingerprint() != before
    restored = runner.invoke(args=["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "BAD" not in restored.output and "ok  election 1 record" in restored.output
    db.session.rollback()
    assert database_fingerprint() == before


def test_a_file_that_is_no_backup_is_refused_and_changes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    make_member(make_institution(slug="kept-school"), "workers")
    db.session.rollback()
    before = database_fingerprint()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database\n" * 100)
    refused = runner.invoke(args=["restore", str(junk), "--yes"])
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith("Error: ")
    db.session.rollback()
    assert database_fingerprint() == before
    declined = runner.invoke(args=["restore", str(junk)], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
