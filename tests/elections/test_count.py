"""Counting a closed poll and declaring the result: the counting core's result is stored per
contest and shown stage by stage; the anonymised ballots download as BLT and recount to the
same winners; only the returning officer counts and declares; the declaration goes out."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.actors import SystemActor
from assembly.counting import count_stv, read_blt
from assembly.elections.count import (
    contest_profile,
    count_election,
    declare_election,
)
from assembly.elections.models import Candidate, Election, RollEntry
from assembly.elections.notices import key_fingerprints
from assembly.elections.operations import tick
from assembly.elections.states import ElectionState
from assembly.errors import InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.notices.models import OutboxMessage
from assembly.polls.models import Ballot, Channel, RollMark
from assembly.records.record import contest_seed
from tests.conftest import make_member
from tests.elections.polls import countersign
from tests.elections.test_setup import GOOD
from tests.elections.test_tick import _approved, _stand

TIMER = SystemActor("timer")
#: Ballots for the users contest's four candidates (indexes in ballot order), chosen so that
#: no tie arises: a BLT file names candidates but not their ids, so a recount from it draws
#: different lots than the original would.
PAPERS = [(0, 2), (0, 2), (0, 3), (0, 2), (1,), (1,), (1,), (2,), (2,), (3,)]


def _closed_poll(slug: str, not_voting: int = 0) -> tuple[Election, object]:
    """An election whose users contest (3 seats, 4 candidates) was polled, with PAPERS cast
    (and ``not_voting`` more voters on the roll who did not vote, after them)."""
    election = _approved(slug)
    for n in range(len(PAPERS) - 4):
        make_member(election.institution, "users", family_name=f"Voter{n}")
    _stand(election, "users", 4)
    for n in range(not_voting):
        make_member(election.institution, "users", family_name=f"Zz{n}")  # last on the roll
    _stand(election, "workers", 1)  # uncontested
    tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    contest = next(c for c in election.contests if c.constituency.key == "users")
    candidates = sorted(
        db.session.scalars(select(Candidate).where(Candidate.contest_id == contest.id)),
        key=lambda c: (c.person.family_name, c.person.given_name, c.id),
    )
    entries = db.session.scalars(
        select(RollEntry).where(RollEntry.contest_id == contest.id).order_by(RollEntry.number)
    ).all()
    assert len(entries) == len(PAPERS) + not_voting
    for entry, paper in zip(entries, PAPERS, strict=False):
        db.session.add(
            RollMark(poll_id=contest.poll_id, person_id=entry.person_id, channel=Channel.online)
        )
        db.session.add(
            Ballot(
                id=secrets.token_hex(16),
                poll_id=contest.poll_id,
                tracker=secrets.token_hex(8),
                ranking=json.dumps([candidates[i].id for i in paper]),
                channel=Channel.online,
                cast_on=GOOD.poll_opens_on,
            )
        )
    db.session.commit()
    tick(TIMER, GOOD.poll_closes_on + timedelta(days=1))
    db.session.commit()
    return election, contest


def test_the_count_equals_the_counting_core_on_the_same_ballots(app: Flask) -> None:
    """The stored result is the counting core's, on the contest's ballots, with the contest's
    seed; uncontested contests are not counted again."""
    election, contest = _closed_poll("count-school")
    officer = election.returning_officer
    elected = count_election(officer, election)
    db.session.commit()
    assert election.state == ElectionState.counted
    expected = count_stv(
        contest_profile(contest), contest.seats, seed=contest_seed(election.seed, contest.id)
    )
    assert elected == {"users": expected.elected_names}
    assert len(elected["users"]) == 3


def test_only_the_officer_counts_and_only_after_the_close(app: Flask) -> None:
    """A secretary cannot count; nobody counts an open poll or declares an uncounted one."""
    election, _ = _closed_poll("count-rules")
    secretary = db.session.scalars(
        select(election.returning_officer.__class__).where(
            election.returning_officer.__class__.email == "sec@count-rules.org"
        )
    ).one()
    with pytest.raises(NotEligible):
        count_election(secretary, election)
    with pytest.raises(InvalidTransition):
        declare_election(election.returning_officer, election)
    count_election(election.returning_officer, election)
    with pytest.raises(InvalidTransition):
        count_election(election.returning_officer, election)


def test_results_page_blt_and_declaration(app: Flask, client: FlaskClient, login_as) -> None:
    """Officers see the counted result with its stage table and chart; the BLT recounts to
    the same winners; once declared the page is public and every member is told."""
    election, contest = _closed_poll("results-school")
    officer = election.returning_officer
    url = f"/institutions/results-school/elections/{election.id}/results"
    assert client.get(url).status_code == 404  # not counted yet
    login_as(officer.email)
    assert (
        client.post(f"/institutions/results-school/elections/{election.id}/count").status_code
        == 302
    )
    page = client.get(url).get_data(as_text=True)
    assert "Result of the count (not yet declared)" in page and "Declare the result" in page
    assert "Stage 1" in page and "<svg" in page and "quota" in page
    blt = client.get(
        f"/institutions/results-school/elections/{election.id}/contests/{contest.id}/ballots.blt"
    )
    assert blt.status_code == 200
    seed = contest_seed(election.seed, contest.id)
    recount = count_stv(read_blt(blt.get_data(as_text=True)).profile, contest.seats, seed=seed)
    db.session.rollback()
    core = count_stv(contest_profile(contest), contest.seats, seed=seed)
    assert (
        recount.elected_names == core.elected_names == ["Candidate 0", "Candidate 1", "Candidate 2"]
    )
    assert all(name in page for name in core.elected_names)
    declare = f"/institutions/results-school/elections/{election.id}/declare"
    refused = client.post(declare)
    assert refused.status_code == 409 and "must be countersigned" in refused.text
    db.session.rollback()
    countersign(election)
    assert client.post(declare).status_code == 302
    db.session.rollback()
    assert db.session.get(Election, election.id).state == ElectionState.declared
    declarations = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "declaration_of_result")
    )
    assert declarations > 0
    client.post("/sign-out")
    public = client.get(url)
    assert public.status_code == 200 and "Declaration of result" in public.get_data(as_text=True)


def test_letters_for_members_without_email(app: Flask, client: FlaskClient, login_as) -> None:
    """Officers print one letter per member without email: the notice of election once
    nominations opened, and during the poll the voting information with a ballot paper."""
    election = _approved("letters-school")
    paper = make_member(election.institution, "users", given_name="Petra", family_name="Post")
    paper.person.email = None
    db.session.commit()
    _stand(election, "users", 4)
    login_as(election.returning_officer.email)
    base = f"/institutions/letters-school/elections/{election.id}/letters"
    assert client.get(base + "/notice_of_election").status_code == 404  # not noticed yet
    tick(TIMER, GOOD.notice_of_election_on)
    db.session.commit()
    page = client.get(base + "/notice_of_election").get_data(as_text=True)
    assert page.count('class="app-letter"') == 1 and "Petra Post" in page
    tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    ballot = client.get(base + "/voting_information").get_data(as_text=True)
    assert "Your elector number is" in ballot and "Petra" in ballot
    assert ballot.count("app-ballot-box") == 4  # one box per candidate
    keys = key_fingerprints(election)
    assert keys["election"] and keys["officer"]  # the keys the record must be signed with
    assert keys["election"] in ballot and keys["officer"] in ballot
    assert client.get(base + "/other").status_code == 404


def test_turnout_is_stored_at_the_count_and_the_page_does_not_count_the_roll(
    app: Flask, client: FlaskClient
) -> None:
    """The count keeps each contest's turnout (the poll is closed, so it cannot change); the
    public results page then reads no roll mark and one statement per kind of row, whatever
    the number of contests."""
    from sqlalchemy import event

    from assembly.elections.count import read_results
    from assembly.elections.models import ContestResult

    election, contest = _closed_poll("turnout-school", not_voting=2)
    count_election(election.returning_officer, election)
    countersign(election)
    declare_election(election.returning_officer, election)
    db.session.commit()
    stored = db.session.get(ContestResult, contest.id)
    assert stored is not None and stored.voted == len(PAPERS)
    counts = dict(read_results(election))
    assert counts[contest].voted == len(PAPERS) and counts[contest].roll == len(PAPERS) + 2
    uncontested = next(c for c in election.contests if c is not contest)
    assert counts[uncontested].voted == 0

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = client.get(f"/institutions/turnout-school/elections/{election.id}/results")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert page.status_code == 200
    assert f"{len(PAPERS)} of {len(PAPERS) + 2} voters" in page.get_data(as_text=True)
    assert not [s for s in statements if "roll_marks" in s]
    assert len([s for s in statements if "FROM contest_results" in s]) == 1
    assert len([s for s in statements if "FROM candidates" in s]) == 1
