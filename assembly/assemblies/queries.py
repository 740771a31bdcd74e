"""Reads about an assembly used in more than one place."""

from __future__ import annotations

import json

from sqlalchemy import exists, select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyCandidateStatus,
    Attendance,
    Vote,
    VoteState,
)
from assembly.errors import NotFound
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person
from assembly.polls.queries import waiting_batches


def get_assembly(institution: Institution, assembly_id: int) -> Assembly:
    assembly = db.session.get(Assembly, assembly_id)
    if assembly is None or assembly.institution_id != institution.id:
        raise NotFound("There is no such assembly.")
    return assembly


def valid_candidates(assembly: Assembly) -> list[AssemblyCandidate]:
    """The valid candidates, in ballot order (family name, given name)."""
    candidates = [c for c in assembly.candidates if c.status == AssemblyCandidateStatus.valid]
    return sorted(
        candidates, key=lambda c: (c.person.family_name.lower(), c.person.given_name.lower(), c.id)
    )


def open_vote_of(assembly: Assembly) -> Vote | None:
    return next((v for v in assembly.votes if v.state == VoteState.open), None)


def vote_candidates(vote: Vote) -> list[AssemblyCandidate]:
    ids = json.loads(vote.candidate_ids)
    by_id = {c.id: c for c in vote.assembly.candidates}
    return [by_id[i] for i in ids]


def eligible_to_vote(vote: Vote, attendance: Attendance) -> bool:
    """Checked in before the vote opened, or late arrivals may vote."""
    assembly = vote.assembly
    return assembly.late_arrivals_vote or attendance.checked_in_at <= vote.opened_at


def pending_batches(vote: Vote) -> int:
    """Paper batches of the vote waiting for their second entry."""
    return waiting_batches([vote.poll_id])


def is_member(institution: Institution, person_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Membership.institution_id == institution.id,
                    Membership.person_id == person_id,
                    Membership.left_on.is_(None),
                )
            )
        )
    )


def current_members(institution: Institution) -> list[tuple[int, str | None]]:
    return list(
        db.session.execute(
            select(Membership.id, Person.email)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.institution_id == institution.id, Membership.left_on.is_(None))
            .order_by(Membership.id)
        )
    )
