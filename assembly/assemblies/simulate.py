"""A whole annual assembly run through the real operations, for demos, load tests and audits.

Members are enrolled by a roster import; an assembly is scheduled and noticed; three members
stand and are found valid; on the day the attendees are checked in, the chair opens the vote
(IRV, or exhaustive rounds until someone has a majority, or a confirmation when one stands),
every attendee votes, and the result is declared. Everything random comes from the seed, so
the same seed gives the same assembly and the same result.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from assembly.assemblies.models import AssemblyCandidate, Vote, VoteKind
from assembly.assemblies.operations import (
    apply_to_stand,
    cast_assembly_vote,
    check_in,
    close_vote,
    decide_application,
    declare_assembly,
    open_assembly,
    open_vote,
    publish_candidates,
    rules_for,
    schedule_assembly,
    send_notice,
)
from assembly.assemblies.queries import vote_candidates
from assembly.assemblies.record import (
    assembly_record,
    countersign_assembly_record,
    register_assembly_officer_key,
)
from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.auth.operations import grant_role
from assembly.auth.permissions import roles_in
from assembly.elections.simulate import _enrol, _institution, _user
from assembly.extensions import db
from assembly.membership.models import Membership, Person
from assembly.records.operations import published
from assembly.records.record import CHOICES, signature_file
from assembly.records.signing import public_key_text

__all__ = ["AssemblySimulation", "simulate_assembly"]


@dataclass
class AssemblySimulation:
    assembly_id: int
    seed: str
    attendees: int
    outcome: str = ""
    leader: str | None = None
    votes: list[dict[str, Any]] = field(default_factory=list)
    #: The published record (both signatures), when asked for.
    record: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "assembly_id": self.assembly_id,
            "seed": self.seed,
            "attendees": self.attendees,
            "outcome": self.outcome,
            "leader": self.leader,
            "votes": self.votes,
        }


def _ballot(rng: random.Random, vote: Vote, ids: list[int]) -> tuple[list[int], str]:
    if vote.kind == VoteKind.confirmation:
        return [], rng.choices(CHOICES, weights=[6, 3, 1])[0]
    # Preferences lean towards the first candidates, so that counts have a story.
    order = sorted(ids, key=lambda i: rng.random() * (1 + ids.index(i) * 0.4))
    if vote.kind == VoteKind.round:
        return order[:1], ""
    return order[: rng.randint(1, len(order))], ""


def simulate_assembly(
    slug: str,
    attendees: int,
    seed: str,
    *,
    candidates: int = 3,
    today: date | None = None,
    record: bool = False,
) -> AssemblySimulation:
    """Run an assembly of ``attendees`` members present (enrolling them if needed). The
    returning officer's key is made from the seed (a simulation plays every part, so it also
    countersigns the record, which a real officer does on their own computer)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    system = SystemActor(f"simulation {seed}")
    tag = "asm" + hashlib.sha256(seed.encode()).hexdigest()[:8]
    institution = _institution(system, slug)
    _enrol(system, institution, attendees, rng, tag)
    officer = _user(f"{tag}-ro@example.invalid", "Simulated returning officer")
    if Role.returning_officer not in roles_in(officer, institution):
        grant_role(system, institution, officer.email, Role.returning_officer)
    db.session.flush()
    day = today or date.today()
    rules = rules_for(institution)
    held_on = day + timedelta(days=rules.notice_days + 1)
    assembly = schedule_assembly(
        system,
        institution,
        title="",
        held_on=held_on,
        starts_at="18:30",
        venue="The main hall",
        agenda="Election of the leader",
        returning_officer_id=officer.id,
        today=day,
    )
    officer_key = Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"returning officer {seed}".encode()).digest()
    )
    register_assembly_officer_key(officer, assembly, public_key_text(officer_key))
    send_notice(system, assembly, day)
    people = list(
        db.session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.institution_id == institution.id,
                Membership.left_on.is_(None),
                Person.email.like(f"{tag}-%"),
            )
            .order_by(Person.id)
        )
    )
    for person in people[:candidates]:
        candidate = apply_to_stand(
            system,
            assembly,
            person,
            ballot_name=f"{person.given_name} {person.family_name}",
            statement="A simulated statement.",
            today=day,
        )
        decide_application(system, candidate, valid=True)
    publish_candidates(system, assembly, assembly.applications_close_on + timedelta(days=1))
    open_assembly(system, assembly, held_on)
    present = [check_in(system, assembly, person) for person in people[:attendees]]
    result = AssemblySimulation(assembly.id, seed, len(present))
    while True:
        vote = open_vote(system, assembly)
        ids = [c.id for c in vote_candidates(vote)]
        for attendance in present:
            ranking, choice = _ballot(rng, vote, ids)
            cast_assembly_vote(attendance, vote, ranking=ranking, choice=choice, day=held_on)
        close_vote(system, vote)
        result.votes.append(_summary(vote))
        if vote.elected_id is not None or vote.kind == VoteKind.confirmation:
            break
    declare_assembly(system, assembly, held_on)
    result.outcome = str(assembly.outcome)
    row = assembly_record(assembly)
    if record and row is not None:
        countersign_assembly_record(
            officer, assembly, signature_file("returning_officer", row.body_sha256, officer_key)
        )
        result.record = published(row)
    if assembly.leader_candidate_id:
        leader = db.session.get(AssemblyCandidate, assembly.leader_candidate_id)
        result.leader = leader.ballot_name if leader else None
    return result


def _summary(vote: Vote) -> dict[str, Any]:
    names = {c.id: c.ballot_name for c in vote_candidates(vote)}
    count = json.loads(vote.result)
    if vote.kind == VoteKind.confirmation:
        said = f"yes {count['yes']}, no {count['no']}, abstained {count['abstain']}: " + (
            "carried" if count["carried"] else "not carried"
        )
    elif vote.elected_id is not None:
        said = f"{names[vote.elected_id]} elected"
    else:
        said = f"{names.get(vote.excluded_id or 0, 'no one')} excluded"
    return {
        "number": vote.number,
        "kind": str(vote.kind),
        "elected": vote.elected_id,
        "excluded": vote.excluded_id,
        "summary": said,
    }
