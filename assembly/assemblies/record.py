"""An assembly's signed record: record format 1 of kind "assembly" (``docs/record-format.md``).

Built at the declaration from the database, signed with the election key the assembly was
scheduled under, and countersigned by the returning officer with their own key (``assembly
record sign``), exactly as a board election's record. Each vote is a contest whose roll is
the members present and allowed to vote in it, committed as salted leaves.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from assembly.assemblies import e2e
from assembly.assemblies.count import ballot_items, vote_seed, weighting_of
from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    Attendance,
    LeaderTerm,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations.attendance import quorum_status
from assembly.assemblies.operations.scheduling import seed_commitment
from assembly.assemblies.queries import vote_candidates
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.errors import InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.polls.record import ballot_section, roll_section
from assembly.records import operations as records
from assembly.records.kinds import RecordKind
from assembly.records.models import Record
from assembly.records.operations import body_frame, read_officer_key

__all__ = [
    "KIND",
    "RECORD_KIND",
    "assembly_record",
    "build_assembly_body",
    "countersign_assembly_record",
    "issue_assembly_record",
    "register_assembly_officer_key",
]

#: The records service's name for an assembly's records.
KIND = "assembly"

METHODS = {VoteKind.confirmation: "confirmation", VoteKind.irv: "irv", VoteKind.round: "round"}


def register_assembly_officer_key(actor: Actor, assembly: Assembly, public_key: str) -> None:
    """The assembly's returning officer registers the public key they will countersign with,
    before the assembly opens."""
    if not assembly.is_returning_officer(actor):
        raise NotEligible("Only the assembly's returning officer registers their key.")
    if assembly.state not in {AssemblyState.scheduled, AssemblyState.noticed}:
        raise InvalidTransition("The key is registered before the assembly opens.")
    assembly.officer_public_key, assembly.officer_fingerprint = read_officer_key(public_key)
    db.session.flush()
    record_event(
        actor,
        "assembly.officer_key_registered",
        institution=assembly.institution_id,
        subject=assembly,
        data={"fingerprint": assembly.officer_fingerprint},
    )


def _roll(vote: Vote) -> dict[str, Any]:
    """The members present who could vote in this vote: checked in before it opened, or
    before it closed when late arrivals may vote. Leaves in order of arrival."""
    assembly = vote.assembly
    until = vote.opened_at if not assembly.late_arrivals_vote else vote.closed_at
    statement = (
        select(Attendance.number, Person.email, Attendance.salt)
        .join(Person, Person.id == Attendance.person_id)
        .where(Attendance.assembly_id == assembly.id)
        .order_by(Attendance.number)
    )
    if until is not None:
        statement = statement.where(Attendance.checked_in_at <= until)
    return roll_section(
        vote.id,
        ((number, email or "", salt) for number, email, salt in db.session.execute(statement)),
    )


def _ballots(vote: Vote) -> dict[str, Any]:
    return ballot_section(vote.id, ballot_items(vote))


def _contest(vote: Vote) -> dict[str, Any]:
    candidates = vote_candidates(vote)
    result = json.loads(vote.result)
    elected = [vote.elected_id] if vote.elected_id is not None else []
    contest: dict[str, Any] = {
        "id": vote.id,
        "constituency": {"key": "present", "name": "Members present"},
        "weight": "1/1",
        "seats": 1,
        "method": METHODS[vote.kind],
        "seed": vote_seed(vote),
        "uncontested": False,
        "candidates": [{"id": c.id, "ballot_name": c.ballot_name} for c in candidates],
        "roll": _roll(vote),
        "ballots": _ballots(vote),
        "count": result,
        "elected": elected,
    }
    weighting = weighting_of(vote)
    if weighting is not None:
        contest["weighting"] = weighting
    section = e2e.section(vote)
    if section is not None:
        contest["e2e"] = section
    return contest


def _result(assembly: Assembly) -> dict[str, Any]:
    leader = None
    term = None
    if assembly.leader_candidate_id:
        candidate = db.session.get(AssemblyCandidate, assembly.leader_candidate_id)
        assert candidate is not None
        leader = {"candidate": candidate.id, "name": candidate.ballot_name}
        row = db.session.scalars(
            select(LeaderTerm).where(LeaderTerm.assembly_id == assembly.id)
        ).first()
        if row is not None:
            term = {"starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat()}
    return {"outcome": str(assembly.outcome), "leader": leader, "term": term}


def build_assembly_body(assembly: Assembly) -> dict[str, Any]:
    """The record's body (format 1, kind "assembly") for a declared assembly."""
    if assembly.signing_key_id is None or not assembly.officer_public_key:
        raise InvalidTransition(
            "The assembly has no election key or no returning officer's key, so it has no "
            "record: the returning officer registers their key before the assembly opens."
        )
    status = quorum_status(assembly)
    return {
        **body_frame(assembly.institution, assembly.signing_key_id, assembly.officer_public_key),
        "kind": "assembly",
        "assembly": {
            "id": assembly.id,
            "title": assembly.title,
            "held_on": assembly.held_on.isoformat(),
            "venue": assembly.venue,
            "leader_title": assembly.leader_title,
            "method": str(assembly.method),
            "weighting": assembly.weighting,
            "late_arrivals_vote": assembly.late_arrivals_vote,
            "seed_sha256": seed_commitment(assembly),
            "seed": assembly.seed,
            "quorum": {
                "required": status.required,
                "per_constituency": assembly.quorum_per_constituency,
                "members": status.members,
            },
            "attendance": [
                {"key": c.key, "name": c.name, "present": c.present} for c in status.constituencies
            ],
            "result": _result(assembly),
        },
        "contests": [_contest(v) for v in assembly.votes if v.state == VoteState.counted],
    }


def issue_assembly_record(actor: Actor, assembly: Assembly) -> Record:
    """Build the declared assembly's record, sign it with the election key and keep it."""
    assert assembly.signing_key_id is not None
    body = build_assembly_body(assembly)
    return records.issue(
        actor, KIND, assembly, body, assembly.signing_key_id, "assembly_record.issued"
    )


def assembly_record(assembly: Assembly) -> Record | None:
    """The assembly's stored record, once declared."""
    return records.get_record(KIND, assembly.id)


def countersign_assembly_record(actor: Actor, assembly: Assembly, signature: Any) -> None:
    """Add the returning officer's countersignature to the assembly's record."""
    if not assembly.is_returning_officer(actor):
        raise NotEligible("Only the assembly's returning officer can countersign its record.")
    row = assembly_record(assembly)
    if row is None:
        raise InvalidTransition("The record is made when the result is declared.")
    if row.officer_signature:
        raise InvalidTransition("The record is countersigned already.")
    records.countersign(actor, KIND, assembly, row, signature, "assembly_record.countersigned")


def _declared(assembly: Assembly) -> bool:
    return assembly.state == AssemblyState.declared


#: How the records service serves an assembly's records (registered by the app): public
#: from the declaration, when the record is made.
RECORD_KIND = RecordKind(
    name=KIND,
    section="assembly",
    load=lambda assembly_id: db.session.get(Assembly, assembly_id),
    visible=lambda _user, assembly: _declared(assembly),
    declared=_declared,
)
