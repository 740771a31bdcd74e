"""A board election with its poll open, built straight in the database (as the timer would
leave it: contests, valid candidates, a frozen roll), for the voting tests and the access table."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assembly.auth.actors import SYSTEM
from assembly.clock import today, utcnow
from assembly.elections.models import (
    Candidate,
    CandidateOrder,
    CandidateStatus,
    Contest,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.membership.queries import get_constituency
from assembly.records.operations import current_signing_key
from assembly.records.signing import fingerprint, public_key_text
from tests.conftest import make_institution, make_member


def countersign(election: Election, key: Ed25519PrivateKey | None = None) -> dict[str, str]:
    """Countersign the counted election's record as its returning officer would (signed with
    ``key``, by default the officer's registered one), and commit. Return the signature file."""
    from assembly.elections.record import countersign_record, get_record
    from assembly.records.record import signature_file

    row = get_record(election)
    assert row is not None, "count the election first"
    signature = signature_file("returning_officer", row.body_sha256, key or OFFICER_KEY)
    assert election.returning_officer is not None
    countersign_record(election.returning_officer, election, signature)
    db.session.commit()
    return signature


#: A fixed seed, so that rotated ballots are the same on every run.
SEED = "5eed" * 16
#: The returning officer's key in the tests: made from a fixed seed, as if with
#: ``assembly keys generate`` on their own computer. The server only ever sees the public part.
OFFICER_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"test returning officer").digest()
)
OFFICER_PUBLIC_KEY = public_key_text(OFFICER_KEY)
#: Candidates per contest by default: (given name, family name), not in alphabetical order.
NAMES = (("Zoe", "Adams"), ("Amy", "Brown"), ("Bob", "Adams"))


@dataclass
class Poll:
    """What a test needs from an election whose poll is open."""

    institution: Institution
    election: Election
    #: constituency key → contest
    contests: dict[str, Contest] = field(default_factory=dict)
    #: constituency key → its valid candidates, in the order they were made
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    #: constituency key → the email of each voter on its roll
    voters: dict[str, list[str]] = field(default_factory=dict)
    #: constituency key → candidates on the nomination list but not on the ballot
    not_standing: dict[str, list[Candidate]] = field(default_factory=dict)


def make_poll(
    institution: Institution | None = None,
    *,
    keys: tuple[str, ...] = ("workers", "users"),
    method: CountMethod = CountMethod.stv,
    seats: int = 2,
    names: tuple[tuple[str, str], ...] = NAMES,
    voters: int = 3,
    order: CandidateOrder = CandidateOrder.alphabetical,
    day: date | None = None,
) -> Poll:
    """Create and commit an election in ``poll_open`` around ``day`` (default today), with a
    contest per key: valid candidates ``names``, an invalid and a withdrawn nomination, and
    ``voters`` members on its roll."""
    day = day or today()
    institution = institution or make_institution()
    election = Election(
        institution=institution,
        title="Election of governors",
        seats=seats * len(keys),
        state=ElectionState.poll_open,
        candidate_order=order,
        notice_of_election_on=day - timedelta(days=40),
        nominations_close_on=day - timedelta(days=20),
        withdrawals_close_on=day - timedelta(days=15),
        poll_opens_on=day - timedelta(days=1),
        poll_closes_on=day + timedelta(days=7),
        seed=SEED,
        roll_frozen_at=utcnow(),
        signing_key_id=current_signing_key(SYSTEM).id,
        officer_public_key=OFFICER_PUBLIC_KEY,
        officer_fingerprint=fingerprint(OFFICER_PUBLIC_KEY),
        created_by="test",
    )
    db.session.add(election)
    poll = Poll(institution=institution, election=election)
    for key in keys:
        constituency = get_constituency(institution, key)
        assert constituency is not None
        contest = Contest(
            constituency_id=constituency.id,
            seats=seats,
            method=method,
            roll_size=voters,
        )
        contest.weight = Fraction(1, len(keys))
        election.contests.append(contest)
        db.session.flush()
        poll.contests[key] = contest
        poll.candidates[key] = []
        poll.not_standing[key] = []
        statuses = [CandidateStatus.valid] * len(names) + [
            CandidateStatus.invalid,
            CandidateStatus.withdrawn,
        ]
        people = [*names, ("Ivy", "Invalid"), ("Walt", "Withdrawn")]
        for (given, family), status in zip(people, statuses, strict=True):
            person = make_member(institution, key, given_name=given, family_name=family).person
            candidate = Candidate(
                contest_id=contest.id,
                person_id=person.id,
                ballot_name=f"{given} {family}",
                statement=f"{given} stands for {key}.",
                declares_eligible=True,
                status=status,
            )
            db.session.add(candidate)
            db.session.flush()
            (poll.candidates if status == CandidateStatus.valid else poll.not_standing)[key].append(
                candidate
            )
        poll.voters[key] = []
        for number in range(1, voters + 1):
            email = f"voter-{key}-{number}-{secrets.token_hex(3)}@example.org"
            person = make_member(institution, key, email=email).person
            db.session.add(
                RollEntry(
                    contest_id=contest.id,
                    person_id=person.id,
                    number=number,
                    salt=secrets.token_hex(16),
                )
            )
            poll.voters[key].append(email)
    db.session.commit()
    return poll
