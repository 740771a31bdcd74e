"""Enrolment one member at a time, leaving and opting out: a secretary enrols a person; a
member opts out (and is never enrolled again by a roster), or asks to be a member again.

Rosters enrol members in bulk (``operations.rosters``); residents sign themselves up
(``operations.signup``).
"""

from __future__ import annotations

from datetime import date

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.permissions import can_manage
from assembly.clock import today
from assembly.errors import Conflict, InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.membership.models import Constituency, Membership, Person
from assembly.membership.queries import has_current_membership

__all__ = ["enrol_person", "opt_in", "opt_out"]


def enrol_person(
    actor: Actor,
    constituency: Constituency,
    person: Person,
    *,
    source: str,
    joined_on: date | None = None,
    audit: bool = True,
) -> Membership:
    """Start a membership of ``person`` in ``constituency`` (one at a time; rosters come later).

    :raises Conflict: the person is already a current member of the institution.
    """
    institution = constituency.institution
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can enrol members.")
    if person.id is not None:
        if has_current_membership(institution.id, person.id):
            raise Conflict(f"{person.full_name} is already a member of {institution.name}")
    else:
        db.session.add(person)
        db.session.flush()
    membership = Membership(
        institution_id=institution.id,
        person_id=person.id,
        constituency_id=constituency.id,
        joined_on=joined_on or today(),
        source=source,
    )
    db.session.add(membership)
    db.session.flush()
    if audit:
        record_event(
            actor,
            "membership.started",
            institution=institution,
            subject=membership,
            data={"person_id": person.id, "constituency": constituency.key, "source": source},
        )
    return membership


def opt_out(actor: Actor, membership: Membership, *, on: date | None = None) -> None:
    """End a membership at the member's wish; later imports will not enrol them again.

    :raises InvalidTransition: the membership has already ended.
    """
    if not membership.is_current:
        raise InvalidTransition("This membership has already ended.")
    day = on or today()
    membership.opted_out_on = day
    membership.left_on = day
    db.session.flush()
    record_event(
        actor,
        "membership.opted_out",
        institution=membership.institution,
        subject=membership,
        data={"person_id": membership.person_id},
    )


def opt_in(actor: Actor, membership: Membership, *, on: date | None = None) -> Membership:
    """Start a new membership for someone who opted out, at their own request.

    :raises NotEligible: the actor is not the member (their email address differs).
    :raises InvalidTransition: the membership was not opted out, or they are a member again.
    """
    person = membership.person
    if not person.email or getattr(actor, "email", None) != person.email:
        raise NotEligible("Only the member can ask to become a member again.")
    if membership.opted_out_on is None:
        raise InvalidTransition("This membership was not ended by opting out.")
    if has_current_membership(membership.institution_id, person.id):
        raise InvalidTransition(f"You are already a member of {membership.institution.name}.")
    again = Membership(
        institution_id=membership.institution_id,
        person_id=person.id,
        constituency_id=membership.constituency_id,
        joined_on=on or today(),
        source="opt-in",
    )
    db.session.add(again)
    db.session.flush()
    record_event(
        actor,
        "membership.opted_in",
        institution=membership.institution,
        subject=again,
        data={"person_id": person.id, "after": membership.id},
    )
    return again
