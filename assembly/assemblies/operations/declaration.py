"""The declaration in the room: the leader's term starts and next year's assembly is scheduled, or
no leader was elected; the record is issued."""

from __future__ import annotations

from datetime import date, timedelta

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyOutcome,
    LeaderTerm,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations.roles import check_chair
from assembly.assemblies.operations.rules import add_months
from assembly.assemblies.operations.scheduling import schedule_assembly
from assembly.assemblies.operations.transitions import transition
from assembly.assemblies.operations.voting import continuing_candidates
from assembly.assemblies.queries import current_members, open_vote_of
from assembly.assemblies.record import issue_assembly_record
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.errors import InvalidTransition
from assembly.extensions import db
from assembly.notices.operations import queue_bulk_notices


def declare_assembly(actor: Actor, assembly: Assembly, today: date) -> Assembly | None:
    """Declare the result in the room: the leader's term starts (and next year's assembly is
    scheduled), or no leader was elected. Returns the next assembly if one was scheduled."""
    check_chair(actor, assembly)
    if assembly.state != AssemblyState.in_session:
        raise InvalidTransition("The result is declared while the assembly is in session.")
    if open_vote_of(assembly) is not None:
        raise InvalidTransition("A vote is open: close it first.")
    if any(v.state == VoteState.closed for v in assembly.votes):
        raise InvalidTransition(
            "A vote waits for the trustees to open its encrypted ballots: count it first."
        )
    last = assembly.votes[-1] if assembly.votes else None
    if last is None:
        if continuing_candidates(assembly):
            raise InvalidTransition("No vote has been held yet.")
        assembly.outcome = AssemblyOutcome.no_candidates
    elif last.elected_id is not None:
        assembly.outcome = AssemblyOutcome.elected
        assembly.leader_candidate_id = last.elected_id
    elif last.kind == VoteKind.confirmation:
        assembly.outcome = AssemblyOutcome.not_confirmed
    else:
        raise InvalidTransition("No candidate has won yet: open the next round.")
    transition(assembly, AssemblyState.declared)
    assembly.declared_at = utcnow()
    following = None
    term = None
    if assembly.outcome == AssemblyOutcome.elected:
        winner = db.session.get(AssemblyCandidate, assembly.leader_candidate_id)
        assert winner is not None
        starts = today + timedelta(days=1)
        term = LeaderTerm(
            institution_id=assembly.institution_id,
            person_id=winner.person_id,
            assembly_id=assembly.id,
            ballot_name=winner.ballot_name,
            starts_on=starts,
            ends_on=add_months(starts, assembly.term_months) - timedelta(days=1),
        )
        db.session.add(term)
    db.session.flush()
    record_event(
        actor,
        "assembly.declared",
        institution=assembly.institution_id,
        subject=assembly,
        data={
            "outcome": str(assembly.outcome),
            "leader": assembly.leader_candidate_id,
            "term": [term.starts_on.isoformat(), term.ends_on.isoformat()] if term else None,
        },
    )
    members = current_members(assembly.institution)
    queue_bulk_notices(
        "assembly_result",
        "assembly_result",
        (
            (assembly.institution_id, email, {"assembly_id": assembly.id, "membership_id": mid})
            for mid, email in members
        ),
    )
    issue_assembly_record(actor, assembly)
    if assembly.outcome == AssemblyOutcome.elected:
        following = schedule_assembly(
            actor,
            assembly.institution,
            title=f"Annual assembly {add_months(assembly.held_on, 12).year}",
            held_on=add_months(assembly.held_on, 12),
            starts_at=assembly.starts_at,
            venue=assembly.venue,
            agenda=assembly.agenda,
            returning_officer_id=assembly.returning_officer_id,
            today=today,
        )
    return following
