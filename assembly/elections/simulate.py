"""A whole board election run through the real operations, for demos, load tests and audits.

Members are enrolled by a roster import; a secretary sets the election up and a returning
officer approves it; the timer's steps open nominations, close them (freezing the roll) and
open the poll; candidates nominate themselves and are found valid; every voter casts a
ranked ballot through ``cast_ballot``; the poll closes; the returning officer counts and
declares. The returning officer's signing key is made from the seed too (a simulation plays
every part, so it also countersigns the record, which a real officer does on their own
computer). Everything random comes from the seed given, so the same seed gives the same
election and the same result.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from assembly.auth.actors import Actor, SystemActor
from assembly.auth.models import Role, User
from assembly.auth.operations import grant_role
from assembly.auth.permissions import roles_in
from assembly.elections.count import count_election, declare_election, read_result
from assembly.elections.models import CountMethod, Election, RollEntry
from assembly.elections.nominations import decide_nomination, nominate_candidate, valid_candidates
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    create_election,
    register_officer_key,
    tick,
)
from assembly.elections.record import countersign_record, get_record
from assembly.elections.states import ElectionState
from assembly.elections.timetable import TimetableRules, suggest_timetable
from assembly.elections.voting import cast_ballot
from assembly.extensions import db
from assembly.membership.models import Institution, InstitutionKind, Person
from assembly.membership.operations import create_institution, ensure_csv_source, import_roster
from assembly.membership.queries import get_institution
from assembly.records.operations import published
from assembly.records.record import signature_file
from assembly.records.signing import public_key_text

__all__ = [
    "SimulatedPoll",
    "SimulationResult",
    "cast_simulated_ballots",
    "declare_simulated_poll",
    "open_simulated_poll",
    "simulate_board_election",
]

GIVEN = ["Amara", "Ben", "Chloe", "Dev", "Eilidh", "Farah", "George", "Hana", "Isaac", "Jade"]
FAMILY = ["Adeyemi", "Brown", "Campbell", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal"]


@dataclass
class SimulationResult:
    election_id: int
    seed: str
    #: The published record (both signatures), once declared.
    record: dict[str, Any] | None = None
    seats: dict[str, int] = field(default_factory=dict)
    roll: dict[str, int] = field(default_factory=dict)
    ballots: dict[str, int] = field(default_factory=dict)
    elected: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "election_id": self.election_id,
            "seed": self.seed,
            "contests": {
                key: {
                    "seats": self.seats[key],
                    "roll": self.roll.get(key, 0),
                    "ballots": self.ballots.get(key, 0),
                    "elected": self.elected.get(key, []),
                }
                for key in self.seats
            },
        }


def _institution(actor: Actor, slug: str) -> Institution:
    institution = get_institution(slug)
    if institution is None:
        institution = create_institution(
            actor, slug=slug, name=f"Simulated {slug}", kind=InstitutionKind.hospital
        )
    return institution


def _enrol(
    actor: Actor,
    institution: Institution,
    voters: int,
    rng: random.Random,
    tag: str,
    day: date | None = None,
) -> None:
    """Enrol ``voters`` synthetic members, shared evenly among the constituencies, joining on
    ``day`` (by default today)."""
    constituencies = list(institution.constituencies)
    for position, constituency in enumerate(constituencies):
        share = voters // len(constituencies) + (
            1 if position < voters % len(constituencies) else 0
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["external_id", "given_name", "family_name", "email", "date_of_birth"])
        for n in range(share):
            born = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
            writer.writerow(
                [
                    f"{tag}-{constituency.key}-{n}",
                    rng.choice(GIVEN),
                    f"{rng.choice(FAMILY)}{n}",
                    f"{tag}-{constituency.key}-{n}@example.invalid",
                    born.isoformat(),
                ]
            )
        source = ensure_csv_source(actor, constituency)
        import_roster(
            actor,
            source,
            out.getvalue().encode(),
            mode="delta",
            file_name="simulation",
            effective_on=day,
        )


def _user(email: str, name: str = "") -> User:
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, display_name=name)
        db.session.add(user)
        db.session.flush()
    return user


@dataclass
class SimulatedPoll:
    """A simulated election whose poll is open: what the later steps need."""

    election: Election
    officer: User
    #: The returning officer's signing key (a simulation plays their part too).
    officer_key: Ed25519PrivateKey
    closes_on: date
    rng: random.Random
    result: SimulationResult


def open_simulated_poll(
    slug: str,
    *,
    seats: int,
    voters: int,
    seed: str,
    today: date,
    poll_closes_on: date | None = None,
) -> SimulatedPoll:
    """Enrol members, set the election up, take nominations and open the poll; commit.

    :param poll_closes_on: by default twelve weeks on. An earlier day (a smoke test's, whose
        voters cast through the web today) dates every earlier step back to fit the Model
        Election Rules' timetable: members join, and the election is approved, the day before
        its notice.
    """
    system = SystemActor(f"simulation {seed}")
    rng = random.Random(seed)  # noqa: S311 (synthetic data, reproducible by design)
    tag = "sim" + hashlib.sha256(seed.encode()).hexdigest()[:8]
    timetable = suggest_timetable(poll_closes_on or today + timedelta(weeks=12), TimetableRules())
    today = min(today, timetable.notice_of_election_on - timedelta(days=1))
    institution = _institution(system, slug)
    _enrol(system, institution, voters, rng, tag, today)
    secretary = _user(f"{tag}-secretary@example.invalid", "Simulated secretary")
    officer = _user(f"{tag}-ro@example.invalid", "Simulated returning officer")
    for user, role in ((secretary, Role.secretary), (officer, Role.returning_officer)):
        if role not in roles_in(user, institution):  # a second run with the same seed
            grant_role(system, institution, user.email, role)
    db.session.commit()

    keys = [c.key for c in institution.constituencies]
    election = create_election(
        secretary,
        institution,
        ElectionSettings(
            title=f"Simulated board election ({seed})",
            seats=seats,
            apportionment="largest-remainder",
            weights={c.key: c.weight or Fraction(1) for c in institution.constituencies},
            methods=dict.fromkeys(keys, CountMethod.stv),
            timetable=timetable,
            returning_officer_id=officer.id,
        ),
        seed=hashlib.sha256(f"lots:{seed}".encode()).hexdigest(),
    )
    officer_key = Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"officer:{seed}".encode()).digest()
    )
    register_officer_key(officer, election, public_key_text(officer_key))
    approve_election(officer, election, today=today)
    db.session.commit()
    tick(system, timetable.notice_of_election_on)
    db.session.commit()

    # Nominations: in each contest, two more members than seats stand and are found valid.
    for contest in election.contests:
        people = db.session.scalars(
            select(Person)
            .where(Person.email.like(f"{tag}-{contest.constituency.key}-%"))
            .order_by(Person.id)
        ).all()
        for person in rng.sample(list(people), min(len(people), contest.seats + 2)):
            assert person.email is not None
            candidate = nominate_candidate(
                _user(person.email),
                contest,
                ballot_name=f"{person.given_name} {person.family_name}",
                statement="A simulated candidate.",
                declares_eligible=True,
                interests="None",
                today=timetable.notice_of_election_on,
            )
            decide_nomination(officer, candidate, valid=True, today=timetable.notice_of_election_on)
    db.session.commit()
    tick(system, timetable.poll_opens_on)
    db.session.commit()

    result = SimulationResult(election_id=election.id, seed=seed)
    for contest in election.contests:
        result.seats[contest.constituency.key] = contest.seats
        result.roll[contest.constituency.key] = contest.roll_size
    return SimulatedPoll(election, officer, officer_key, timetable.poll_closes_on, rng, result)


def cast_simulated_ballots(poll: SimulatedPoll, *, today: date) -> None:
    """Every voter on every contested roll casts a random ranking; commit per contest."""
    for contest in poll.election.contests:
        if contest.is_uncontested:
            continue
        key = contest.constituency.key
        ids = [c.id for c in valid_candidates(contest)]
        entries = db.session.execute(
            select(RollEntry.id, Person.email)
            .join(Person, Person.id == RollEntry.person_id)
            .where(RollEntry.contest_id == contest.id)
            .order_by(RollEntry.number)
        ).all()
        for _, email in entries:
            assert email is not None  # simulated members all have one
            ranking = poll.rng.sample(ids, poll.rng.randint(1, len(ids)))
            cast_ballot(_user(email), poll.election, contest, ranking, today=today)
            poll.result.ballots[key] = poll.result.ballots.get(key, 0) + 1
        db.session.commit()


def declare_simulated_poll(poll: SimulatedPoll) -> SimulationResult:
    """Close the poll (the timer's step the day after it closes), count, countersign as the
    returning officer and declare; commit. Return the result with the published record."""
    system = SystemActor(f"simulation {poll.result.seed}")
    tick(system, poll.closes_on + timedelta(days=1))
    db.session.commit()
    election = db.session.get(Election, poll.election.id) or poll.election
    result = poll.result
    if election.state == ElectionState.poll_closed:
        count_election(poll.officer, election)
        row = get_record(election)
        assert row is not None
        countersign_record(
            poll.officer,
            election,
            signature_file("returning_officer", row.body_sha256, poll.officer_key),
        )
        declare_election(poll.officer, election)
        db.session.commit()
        result.record = published(row)
    for contest in election.contests:
        counted = read_result(contest)
        result.elected[contest.constituency.key] = counted.elected if counted else []
    return result


def simulate_board_election(
    slug: str, *, seats: int, voters: int, seed: str, today: date
) -> SimulationResult:
    """Run a whole board election for ``slug`` (made if missing); commit as it goes.

    :param seed: decides the members, candidates, ballots and every lot.
    """
    poll = open_simulated_poll(slug, seats=seats, voters=voters, seed=seed, today=today)
    cast_simulated_ballots(poll, today=poll.election.poll_opens_on)
    return declare_simulated_poll(poll)
