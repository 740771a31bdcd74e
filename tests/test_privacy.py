"""Members' personal data: ballot data purged a year after the declaration while the signed
record keeps verifying (and the BLT still downloads); a member's own export; erasure that
keeps records valid and waits for a roll still in use."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from assembly.audit.operations import verify_chain
from assembly.auth.actors import SYSTEM
from assembly.clock import today, utcnow
from assembly.elections.models import RollEntry
from assembly.elections.record import get_record
from assembly.errors import InvalidTransition
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.polls.models import Ballot
from assembly.privacy.operations import erase_person, export_person, purge_expired_ballots
from assembly.records.operations import published
from assembly.records.verify import verify_record
from tests.elections.polls import make_poll
from tests.records.test_pages import _browser, _declared, _signed_in


def _ballots() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(Ballot)) or 0)


def test_ballots_are_purged_a_year_after_the_declaration_and_the_record_stays(
    app: Flask, runner: FlaskCliRunner
) -> None:
    counted = _declared(app)
    election = counted.election
    blt_url = (
        f"/institutions/{election.institution.slug}/elections/{election.id}"
        f"/contests/{counted.poll.contests['workers'].id}/ballots.blt"
    )
    blt_before = _browser(app).get(blt_url).get_data(as_text=True)
    assert _ballots() == 3
    early = runner.invoke(args=["privacy", "purge"])
    assert early.exit_code == 0 and "0 election(s)" in early.output and _ballots() == 3
    assert election.declared_at is not None
    later = election.declared_at + timedelta(days=366)
    assert purge_expired_ballots(SYSTEM, later) == [f"election {election.id}: 3 ballot(s)"]
    db.session.commit()
    assert _ballots() == 0
    assert purge_expired_ballots(SYSTEM, later) == []  # once only
    row = get_record(election)
    assert row is not None and verify_record(published(row)).ok
    assert _browser(app).get(blt_url).get_data(as_text=True) == blt_before
    assert verify_chain().ok


def test_a_member_downloads_their_own_data(app: Flask) -> None:
    counted = _declared(app)
    email = counted.poll.voters["workers"][0]
    response = _signed_in(app, email).get("/my/data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["email"] == email and data["people"][0]["email"] == email
    assert data["rolls"] == [
        {
            "election": counted.election.title,
            "constituency": "Workers",
            "elector_number": data["rolls"][0]["elector_number"],
            "voted": True,
        }
    ]
    assert "ranking" not in json.dumps(data)  # how they voted is held nowhere against them
    assert data == {**export_person(email), "exported_at": data["exported_at"]}


def test_erasure_keeps_the_record_valid(app: Flask, runner: FlaskCliRunner) -> None:
    counted = _declared(app)
    email = counted.poll.voters["workers"][0]
    erased = runner.invoke(args=["privacy", "erase", email, "--yes"])
    assert erased.exit_code == 0, erased.output
    db.session.rollback()
    assert db.session.scalars(select(Person).where(Person.email == email)).first() is None
    person = db.session.get(Person, db.session.scalars(select(RollEntry.person_id)).first())
    assert person is not None
    row = get_record(counted.election)
    assert row is not None and verify_record(published(row)).ok
    assert export_person(email)["people"] == []
    missing = runner.invoke(args=["privacy", "erase", email, "--yes"])
    assert missing.exit_code == 1 and "Nobody on any roster" in missing.output


def test_erasure_waits_while_the_roll_is_in_use(app: Flask) -> None:
    poll = make_poll(keys=("workers",), voters=2)
    email = poll.voters["workers"][0]
    with pytest.raises(InvalidTransition, match="still under way"):
        erase_person(SYSTEM, email, today())
    db.session.rollback()
    assert db.session.scalars(select(Person).where(Person.email == email)).first() is not None
    assert utcnow()  # the clock is the real one: nothing here depends on it


def test_an_assemblys_ballots_are_purged_too(app: Flask) -> None:
    from assembly.assemblies.models import Assembly
    from assembly.assemblies.record import assembly_record
    from assembly.records.operations import published
    from tests.test_backup import _assembly_declared

    _assembly_declared()
    assembly = db.session.scalars(select(Assembly).where(Assembly.declared_at.is_not(None))).one()
    assert assembly.declared_at is not None
    done = purge_expired_ballots(SYSTEM, assembly.declared_at + timedelta(days=366))
    db.session.commit()
    assert done == [f"assembly {assembly.id}: 3 ballot(s)"]
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
    row = assembly_record(assembly)
    assert row is not None
    report = verify_record(published(row))
    assert [s.number for s in report.steps if not s.passed] == [4]  # not countersigned yet
