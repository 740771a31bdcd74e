"""Paper and postal ballots: a batch counts only when two people's entries match; the voters
are marked on the roll so they cannot vote twice; a mismatch rejects the batch."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.models import Role
from assembly.elections.paper import discard_batch, enter_batch, parse_batch
from assembly.errors import Conflict, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.polls.models import Ballot, BatchStatus, Channel, PaperBatch, RollMark
from tests.conftest import grant, make_user
from tests.elections.test_count import _closed_poll
from tests.membership.test_imports import database_fingerprint


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _poll(slug: str):  # type: ignore[no-untyped-def]
    """A closed poll (papers may still be entered before the count) whose roll has electors
    11 and 12 who have not voted."""
    election, contest = _closed_poll(slug, not_voting=2)
    teller = make_user(f"teller@{slug}.org")
    grant(teller, election.institution, Role.teller)
    return election, contest, teller


def test_matching_entries_accept_the_batch(app: Flask) -> None:
    """Two people enter the same papers (in any order): the ballots are stored as paper
    ballots of the batch and the voters are marked on the roll."""
    election, contest, teller = _poll("paper-match")
    officer = election.returning_officer
    ballots, marks = _count(Ballot), _count(RollMark)
    first = parse_batch("11 12", "1 2\n3", contest)
    batch, accepted = enter_batch(officer, contest, "Postal 1", first)
    db.session.commit()
    assert not accepted and batch.status == BatchStatus.first_entered
    assert _count(Ballot) == ballots  # nothing counts on one entry
    second = parse_batch("12, 11", "3\n1 2", contest)
    batch, accepted = enter_batch(teller, contest, "Postal 1", second)
    db.session.commit()
    assert accepted and batch.status == BatchStatus.accepted
    assert _count(Ballot) == ballots + 2 and _count(RollMark) == marks + 2
    paper = db.session.scalars(select(Ballot).where(Ballot.batch_id == batch.id)).all()
    assert {b.channel for b in paper} == {Channel.paper}
    assert sorted(len(json.loads(b.ranking)) for b in paper) == [1, 2]


def test_a_mismatch_rejects_the_batch_and_counts_nothing(app: Flask) -> None:
    """A second entry that differs rejects the batch: no ballot stored, nobody marked."""
    election, contest, teller = _poll("paper-mismatch")
    ballots = _count(Ballot)
    enter_batch(election.returning_officer, contest, "Box 2", parse_batch("11", "1 2", contest))
    batch, accepted = enter_batch(teller, contest, "Box 2", parse_batch("11", "2 1", contest))
    db.session.commit()
    assert not accepted and batch.status == BatchStatus.rejected
    assert _count(Ballot) == ballots
    assert batch.first_entry != batch.second_entry  # both kept for the record


def test_the_same_person_cannot_enter_both(app: Flask) -> None:
    """The second entry must be someone else's."""
    election, contest, _ = _poll("paper-same")
    officer = election.returning_officer
    enter_batch(officer, contest, "Postal 3", parse_batch("11", "1", contest))
    with pytest.raises(NotEligible):
        enter_batch(officer, contest, "Postal 3", parse_batch("11", "1", contest))


def test_a_voter_who_voted_online_cannot_vote_on_paper(app: Flask) -> None:
    """A batch holding the paper of someone already marked on the roll is refused, changing
    nothing; the batch can be set aside and entered again without that paper."""
    election, contest, teller = _poll("paper-twice")
    enter_batch(
        election.returning_officer, contest, "Postal 4", parse_batch("1 11", "1\n2", contest)
    )
    db.session.commit()
    before = database_fingerprint()
    with pytest.raises(Conflict, match="Elector number 1 has already voted"):
        enter_batch(teller, contest, "Postal 4", parse_batch("1 11", "1\n2", contest))
    db.session.rollback()
    assert database_fingerprint() == before
    batch = db.session.scalars(select(PaperBatch).where(PaperBatch.label == "Postal 4")).one()
    discard_batch(teller, contest, batch)
    db.session.commit()
    assert batch.status == BatchStatus.rejected


@pytest.mark.parametrize(
    ("voters", "papers", "message"),
    [
        ("11 12", "1", "2 voter"),
        ("11 11", "1\n2", "listed twice"),
        ("11", "9", "from 1 to 4"),
        ("11", "1 1", "marked twice"),
        ("eleven", "1", "whole numbers"),
        ("", "", "elector numbers"),
    ],
)
def test_bad_entries_are_refused_with_the_line(
    app: Flask, voters: str, papers: str, message: str
) -> None:
    """Entries that cannot be right are refused before anything is stored."""
    _, contest, _ = _poll(f"paper-bad-{abs(hash((voters, papers))) % 10_000}")
    with pytest.raises(RuleViolation, match=message):
        parse_batch(voters, papers, contest)


def test_the_paper_page_takes_both_entries(app: Flask, client: FlaskClient, login_as) -> None:
    """The officer and a teller enter a batch through the page; the second entry accepts it."""
    election, contest, teller = _poll("paper-page")
    url = f"/institutions/paper-page/elections/{election.id}/contests/{contest.id}/paper"
    data = {"label": "Postal 5", "voters": "11", "papers": "2 1"}
    login_as(election.returning_officer.email)
    page = client.get(url)
    assert page.status_code == 200 and "Ballot positions" in page.get_data(as_text=True)
    assert client.post(url, data=data).status_code == 302
    client.post("/sign-out")
    login_as(teller.email)
    assert client.post(url, data=data).status_code == 302
    listing = client.get(url).get_data(as_text=True)
    assert "Accepted" in listing
    refused = client.post(url, data={**data, "label": "Postal 6", "papers": "7"})
    assert (
        refused.status_code == 400
        and "ballot positions run from 1 to 4" in refused.get_data(as_text=True).lower()
    )
