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
from assembly.elections.states import ElectionState
from assembly.elections.timetable import TimetableRules, suggest_timetable
from assembly.elections.voting import cast_ballot
from assembly.extensions import db
from assembly.membership.models import Institution, InstitutionKind, Person
from assembly.membership.operations import create_institution, ensure_csv_source, import_roster
from assembly.membership.queries import get_institution
from assembly.records.operations import countersign_record, get_record, published_record
from assembly.records.record import signature_file
from assembly.records.signing import public_key_text

__all__ = ["SimulationResult", "simulate_board_election"]

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
    actor: Actor, institution: Institution, voters: int, rng: random.Random, tag: str
) -> None:
    """Enrol ``voters`` synthetic members, shared evenly among the constituencies."""
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
        import_roster(actor, source, out.getvalue().encode(), mode="delta", file_name="simulation")


def _user(email: str, name: str = "") -> User:
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, display_name=name)
        db.session.add(user)
        db.session.flush()
    return user


def simulate_board_election(
    slug: str, *, seats: int, voters: int, seed: str, today: date
) -> SimulationResult:
    """Run a whole board election for ``slug`` (made if missing); commit as it goes.

    :param seed: decides the members, candidates, ballots and every lot.
    """
    system = SystemActor(f"simulation {seed}")
    rng = random.Random(seed)  # noqa: S311 (synthetic data, reproducible by design)
    tag = "sim" + hashlib.sha256(seed.encode()).hexdigest()[:8]
    institution = _institution(system, slug)
    _enrol(system, institution, voters, rng, tag)
    secretary = _user(f"{tag}-secretary@example.invalid", "Simulated secretary")
    officer = _user(f"{tag}-ro@example.invalid", "Simulated returning officer")
    for user, role in ((secretary, Role.secretary), (officer, Role.returning_officer)):
        if role not in roles_in(user, institution):  # a second run with the same seed
            grant_role(system, institution, user.email, role)
    db.session.commit()

    timetable = suggest_timetable(today + timedelta(weeks=12), TimetableRules())
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
        key = contest.constituency.key
        result.seats[key] = contest.seats
        result.roll[key] = contest.roll_size
        if contest.is_uncontested:
            continue
        ids = [c.id for c in valid_candidates(contest)]
        entries = db.session.execute(
            select(RollEntry.id, Person.email)
            .join(Person, Person.id == RollEntry.person_id)
            .where(RollEntry.contest_id == contest.id)
            .order_by(RollEntry.number)
        ).all()
        for _, email in entries:
            assert email is not None  # simulated members all have one
            ranking = rng.sample(ids, rng.randint(1, len(ids)))
            cast_ballot(_user(email), election, contest, ranking, today=timetable.poll_opens_on)
            result.ballots[key] = result.ballots.get(key, 0) + 1
        db.session.commit()
    tick(system, timetable.poll_closes_on + timedelta(days=1))
    db.session.commit()
    election = db.session.get(Election, election.id) or election
    if election.state == ElectionState.poll_closed:
        count_election(officer, election)
        row = get_record(election)
        assert row is not None
        countersign_record(
            officer,
            election,
            signature_file("returning_officer", row.body_sha256, officer_key),
        )
        declare_election(officer, election)
        db.session.commit()
        result.record = published_record(row, election)
    for contest in election.contests:
        counted = read_result(contest)
        result.elected[contest.constituency.key] = counted.elected if counted else []
    return result
