"""Leader candidates: the incumbent invited, members applying with a statement, the secretary or
returning officer deciding, and the statement of candidates published."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyCandidateStatus,
)
from assembly.assemblies.operations.roles import check_chair
from assembly.assemblies.queries import current_members, is_member, valid_candidates
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import long_date, utcnow
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.notices.operations import queue_bulk_notices

#: Words in a leader candidate's statement, at most.
STATEMENT_WORDS = 500


def _words(text: str) -> int:
    return len(text.split())


def apply_to_stand(
    actor: Actor,
    assembly: Assembly,
    person: Person,
    *,
    ballot_name: str,
    statement: str,
    today: date,
) -> AssemblyCandidate:
    """A member applies to stand for leader (or the incumbent accepts the invitation)."""
    if assembly.state != AssemblyState.noticed or assembly.candidates_published_at:
        raise InvalidTransition("Applications to stand are open only after the notice.")
    if today > assembly.applications_close_on:
        raise InvalidTransition(
            f"Applications closed on {long_date(assembly.applications_close_on)}."
        )
    if not is_member(assembly.institution, person.id):
        raise NotEligible("Only a member of the institution can stand.")
    name, text = ballot_name.strip(), statement.strip()
    if not name:
        raise RuleViolation("Enter your name as it should appear on the ballot.")
    if _words(text) > STATEMENT_WORDS:
        raise RuleViolation(
            f"Your statement has {_words(text)} words: shorten it to {STATEMENT_WORDS}."
        )
    candidate = db.session.scalars(
        select(AssemblyCandidate).where(
            AssemblyCandidate.assembly_id == assembly.id, AssemblyCandidate.person_id == person.id
        )
    ).first()
    if candidate is not None and candidate.status not in {
        AssemblyCandidateStatus.invited,
        AssemblyCandidateStatus.withdrawn,
    }:
        raise Conflict("You have applied already.")
    if candidate is None:
        candidate = AssemblyCandidate(assembly_id=assembly.id, person_id=person.id)
        db.session.add(candidate)
    candidate.ballot_name = name
    candidate.statement = text
    candidate.status = AssemblyCandidateStatus.applied
    candidate.applied_at = utcnow()
    candidate.reason = ""
    db.session.flush()
    record_event(
        actor,
        "assembly_candidate.applied",
        institution=assembly.institution_id,
        subject=candidate,
        data={"assembly": assembly.id, "ballot_name": name, "incumbent": candidate.is_incumbent},
    )
    return candidate


def withdraw_candidate(actor: Actor, candidate: AssemblyCandidate) -> None:
    """The candidate withdraws (or the incumbent declines), until candidates are published."""
    assembly = candidate.assembly
    if assembly.state != AssemblyState.noticed or assembly.candidates_published_at:
        raise InvalidTransition("Candidates are published: it is too late to withdraw.")
    if candidate.status == AssemblyCandidateStatus.withdrawn:
        raise InvalidTransition("You have withdrawn already.")
    candidate.status = AssemblyCandidateStatus.withdrawn
    db.session.flush()
    record_event(
        actor,
        "assembly_candidate.withdrawn",
        institution=assembly.institution_id,
        subject=candidate,
    )


def decide_application(
    actor: Actor, candidate: AssemblyCandidate, *, valid: bool, reason: str = ""
) -> None:
    """The secretary or returning officer finds an application valid, or invalid with a
    reason the applicant is told."""
    assembly = candidate.assembly
    check_chair(actor, assembly)
    if assembly.candidates_published_at or assembly.state != AssemblyState.noticed:
        raise InvalidTransition("Candidates are published: applications are decided.")
    if candidate.status not in {
        AssemblyCandidateStatus.applied,
        AssemblyCandidateStatus.valid,
        AssemblyCandidateStatus.invalid,
    }:
        raise InvalidTransition("Only an application can be decided.")
    if not valid and not reason.strip():
        raise RuleViolation("Give the reason the application is invalid: the applicant is told.")
    candidate.status = AssemblyCandidateStatus.valid if valid else AssemblyCandidateStatus.invalid
    candidate.reason = "" if valid else reason.strip()
    candidate.decided_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "assembly_candidate.decided",
        institution=assembly.institution_id,
        subject=candidate,
        data={"valid": valid, "reason": candidate.reason},
    )


def publish_candidates(actor: Actor, assembly: Assembly, today: date) -> int:
    """Publish the candidates (the notice of candidates goes to every member) once
    applications have closed and each is decided; returns how many emails were queued."""
    check_chair(actor, assembly)
    if assembly.state != AssemblyState.noticed or assembly.candidates_published_at:
        raise InvalidTransition("Candidates are published once, after the notice.")
    if today <= assembly.applications_close_on:
        raise InvalidTransition(
            f"Applications close at the end of {long_date(assembly.applications_close_on)}: "
            "publish the candidates after that."
        )
    pending = [c for c in assembly.candidates if c.status == AssemblyCandidateStatus.applied]
    if pending:
        raise InvalidTransition(
            f"Decide every application first: {len(pending)} waiting "
            f"({', '.join(c.ballot_name for c in pending)})."
        )
    assembly.candidates_published_at = utcnow()
    members = current_members(assembly.institution)
    queued = queue_bulk_notices(
        "notice_of_candidates",
        "notice_of_candidates",
        (
            (assembly.institution_id, email, {"assembly_id": assembly.id, "membership_id": mid})
            for mid, email in members
        ),
    )
    record_event(
        actor,
        "assembly.candidates_published",
        institution=assembly.institution_id,
        subject=assembly,
        data={"candidates": [c.id for c in valid_candidates(assembly)], "notices": queued},
    )
    return queued
