"""A board election commits to its lot seed before the poll, as an assembly does: the SHA-256
of the seed fixed at approval is on the election's page and printed on the notice of election
and the voting information (emails and letters), before any vote; the record reveals the seed
beside the commitment, and the verifier checks the one against the other."""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, date, datetime, time
from fractions import Fraction
from unittest import mock

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.clock import today
from assembly.elections.count import seed_commitment
from assembly.elections.models import (
    Candidate,
    CandidateStatus,
    CountMethod,
    Election,
)
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    create_election,
    register_officer_key,
    tick,
)
from assembly.elections.record import get_record
from assembly.elections.simulate import simulate_board_election
from assembly.extensions import db
from assembly.notices.delivery import render_pending
from assembly.notices.models import OutboxMessage
from assembly.polls.models import Ballot
from assembly.records.operations import published
from assembly.records.record import contest_seed
from assembly.records.verify import verify_record
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import OFFICER_PUBLIC_KEY
from tests.elections.test_setup import GOOD

TIMER = SystemActor("timer")
SLUG = "seed-school"


def _draft() -> Election:
    """A draft election (three constituencies, STV) with its returning officer's key."""
    school = make_institution(slug=SLUG)
    secretary, officer = make_user(f"sec@{SLUG}.org"), make_user(f"ro@{SLUG}.org")
    grant(secretary, school, Role.secretary)
    grant(officer, school, Role.returning_officer)
    third = Fraction(1, 3)
    election = create_election(
        secretary,
        school,
        ElectionSettings(
            title="Governors 2027",
            seats=9,
            apportionment="largest-remainder",
            weights={"workers": third, "users": third, "community": third},
            methods=dict.fromkeys(("workers", "users", "community"), CountMethod.stv),
            timetable=GOOD,
            returning_officer_id=officer.id,
        ),
    )
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    db.session.commit()
    return election


def _stand(election: Election, key: str, count: int) -> None:
    """``count`` members of ``key`` stand and are found valid: the contest has a poll."""
    contest = next(c for c in election.contests if c.constituency.key == key)
    for n in range(count):
        member = make_member(election.institution, key, family_name=f"Stands{n}")
        db.session.add(
            Candidate(
                contest_id=contest.id,
                person_id=member.person_id,
                ballot_name=f"Candidate {n}",
                status=CandidateStatus.valid,
            )
        )
    db.session.commit()


def _page(client: FlaskClient, election: Election) -> str:
    url = f"/institutions/{SLUG}/elections/{election.id}"
    return html.unescape(client.get(url).get_data(as_text=True))


def _rendered(kind: str, address: str, day: date) -> OutboxMessage:
    """The notice of ``kind`` to ``address``, rendered as if sent at noon on ``day``."""
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.to_address == address)
    ).one()
    noon = datetime.combine(day, time(12), UTC)
    with mock.patch("assembly.elections.notices.utcnow", return_value=noon):
        assert render_pending(message)
    return message


def test_the_commitment_is_the_sha256_of_the_seed_as_an_assemblys() -> None:
    """The commitment is the SHA-256 of the seed's ASCII hex text, as an assembly's, and each
    contest's seed is still the SHA-256 of "<seed>:contest:<contest id>"."""
    election = Election(seed="ab" * 32)
    assert seed_commitment(election) == hashlib.sha256(("ab" * 32).encode("ascii")).hexdigest()
    contest = mock.Mock(id=31)
    expected = hashlib.sha256(f"{'ab' * 32}:contest:31".encode()).hexdigest()
    assert contest_seed(election.seed, contest.id) == expected


def test_the_commitment_is_shown_and_printed_before_the_poll(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """From the approval on, the election's page shows the commitment to its seed; the notice
    of election (email and letter) prints it, and at the opening of the poll the voting
    information (email and letter) prints it beside the keys that must sign the record —
    all before any ballot is cast."""
    election = _draft()
    commitment = hashlib.sha256(election.seed.encode("ascii")).hexdigest()
    login_as(f"ro@{SLUG}.org")
    assert 'id="seed-sha256"' not in _page(client, election)  # not fixed until approved
    approve_election(election.returning_officer, election, today=date(2027, 4, 1))
    db.session.commit()
    page = _page(client, election)
    assert f'<code class="app-code" id="seed-sha256">{commitment}</code>' in page
    assert "a seed fixed when the set-up was approved" in page

    school = election.institution
    make_member(school, "users", email="vera@example.org", given_name="Vera")
    paper = make_member(school, "users", given_name="Petra", family_name="Post")
    paper.person.email = None
    db.session.commit()
    _stand(election, "users", 4)
    tick(TIMER, GOOD.notice_of_election_on)
    db.session.commit()
    notice = _rendered("notice_of_election", "vera@example.org", GOOD.notice_of_election_on)
    assert f"Its SHA-256 is {commitment}; the seed itself is published" in notice.body_text
    assert f"<code>{commitment}</code>" in notice.body_html
    base = f"/institutions/{SLUG}/elections/{election.id}/letters"
    letters = html.unescape(client.get(f"{base}/notice_of_election").get_data(as_text=True))
    assert "Petra Post" in letters and f"its SHA-256 is {commitment}" in letters

    with app.test_request_context():
        tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    card = _rendered("voting_information", "vera@example.org", GOOD.poll_opens_on)
    keys, seed = card.body_text.index("returning officer "), card.body_text.index(commitment)
    assert keys < seed  # beside the returning officer's fingerprint
    assert f"Its SHA-256 is {commitment}; the record will reveal the seed" in card.body_text
    assert f"<code>{commitment}</code>" in card.body_html
    ballot_papers = html.unescape(client.get(f"{base}/voting_information").get_data(as_text=True))
    assert "app-ballot-box" in ballot_papers and f"<code>{commitment}</code>" in ballot_papers
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0  # before any vote
    assert _page(client, election).count(commitment) == 1


def test_the_record_reveals_the_seed_beside_its_commitment(app: Flask) -> None:
    """The record of a counted election carries the commitment printed before the poll and
    the seed itself, from which each contest's seed is made; the verifier checks both at
    step 7."""
    result = simulate_board_election("seed-sim", seats=3, voters=12, seed="7", today=today())
    election = db.session.get(Election, result.election_id)
    assert election is not None
    row = get_record(election)
    assert row is not None
    record = published(row)
    recorded = record["body"]["election"]
    assert recorded["seed"] == election.seed
    assert recorded["seed_sha256"] == seed_commitment(election)
    for contest in record["body"]["contests"]:
        expected = hashlib.sha256(f"{election.seed}:contest:{contest['id']}".encode()).hexdigest()
        assert contest["seed"] == expected
    report = verify_record(record)
    assert report.ok, report.to_dict()
    recount = "\n".join(report.step(7).details)
    assert f"hashes to election.seed_sha256 {seed_commitment(election)[:16]}…" in recount
    assert "no advance commitment" not in recount
