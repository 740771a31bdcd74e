"""The day: the doors open, tellers check members in (once each), and whether the room is
quorate."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from assembly.assemblies import e2e
from assembly.assemblies.models import (
    Assembly,
    Attendance,
)
from assembly.assemblies.operations.roles import can_check_in, check_chair
from assembly.assemblies.operations.transitions import transition
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import long_date, utcnow
from assembly.errors import Conflict, InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.membership.models import Constituency, Membership, Person


class AlreadyCheckedIn(Conflict):
    """The member is already marked present."""

    title = "Already checked in"


def open_assembly(actor: Actor, assembly: Assembly, today: date) -> None:
    """Open the doors on the day: tellers can check members in."""
    check_chair(actor, assembly)
    if assembly.state != AssemblyState.noticed:
        raise InvalidTransition("Only an assembly whose notice was sent can be opened.")
    if not assembly.candidates_published_at:
        raise InvalidTransition("Publish the candidates before the assembly opens.")
    if assembly.returning_officer_id is None or not assembly.officer_public_key:
        raise InvalidTransition(
            "The returning officer registers their signing key before the assembly opens: "
            "they countersign its record with it."
        )
    if today != assembly.held_on:
        raise InvalidTransition(
            f"The assembly is held on {long_date(assembly.held_on)}: open it on that day."
        )
    not_ready = e2e.problems(assembly)
    if not_ready:
        raise InvalidTransition(
            "The votes are end-to-end verifiable, and the assembly cannot open yet: "
            + " ".join(not_ready)
        )
    transition(assembly, AssemblyState.in_session)
    assembly.opened_at = utcnow()
    record_event(actor, "assembly.opened", institution=assembly.institution_id, subject=assembly)


def check_in(actor: Actor, assembly: Assembly, person: Person) -> Attendance:
    """Mark a member present, once.

    :raises AlreadyCheckedIn: they were marked present before (by anyone).
    :raises NotEligible: they are not a current member, or the actor is no teller.
    """
    if not can_check_in(actor, assembly):
        raise NotEligible("Only a teller can check members in.")
    if assembly.state != AssemblyState.in_session:
        raise InvalidTransition("Members are checked in while the assembly is in session.")
    membership = db.session.scalars(
        select(Membership).where(
            Membership.institution_id == assembly.institution_id,
            Membership.person_id == person.id,
            Membership.left_on.is_(None),
        )
    ).first()
    if membership is None:
        raise NotEligible(
            f"{person.given_name} {person.family_name} is not a member of "
            f"{assembly.institution.name}: they may attend but not vote."
        )
    for _ in range(20):
        earlier = _attendance_of(assembly, person.id)
        if earlier is not None:
            raise AlreadyCheckedIn(
                f"{person.given_name} {person.family_name} was checked in already, at "
                f"{earlier.checked_in_at:%H:%M} UTC (arrival {earlier.number})."
            )
        number = (
            db.session.scalar(
                select(func.coalesce(func.max(Attendance.number), 0)).where(
                    Attendance.assembly_id == assembly.id
                )
            )
            or 0
        ) + 1
        attendance = Attendance(
            assembly_id=assembly.id,
            person_id=person.id,
            membership_id=membership.id,
            constituency_id=membership.constituency_id,
            number=number,
            salt=secrets.token_hex(16),
            checked_in_by_id=getattr(actor, "id", None),
        )
        try:
            with db.session.begin_nested():
                db.session.add(attendance)
        except IntegrityError:
            continue  # another teller took this number, or checked this member in: look again
        record_event(
            actor,
            "attendance.checked_in",
            institution=assembly.institution_id,
            subject=attendance,
            data={"assembly": assembly.id, "person": person.id, "number": number},
        )
        return attendance
    raise Conflict("Many tellers are checking in at once: try again.")  # pragma: no cover


def _attendance_of(assembly: Assembly, person_id: int) -> Attendance | None:
    return db.session.scalars(
        select(Attendance).where(
            Attendance.assembly_id == assembly.id, Attendance.person_id == person_id
        )
    ).first()


@dataclass(frozen=True)
class ConstituencyPresence:
    key: str
    name: str
    members: int
    present: int
    required: int

    @property
    def met(self) -> bool:
        return self.present >= self.required


@dataclass(frozen=True)
class QuorumStatus:
    members: int
    present: int
    #: Members needed in all: the larger of the fixed number and the share.
    required: int
    constituencies: tuple[ConstituencyPresence, ...]

    @property
    def quorate(self) -> bool:
        return self.present >= self.required and all(c.met for c in self.constituencies)

    @property
    def short_by(self) -> int:
        return max(0, self.required - self.present)


def quorum_status(assembly: Assembly) -> QuorumStatus:
    """Who is present per constituency, against the assembly's quorum."""
    members = dict(
        db.session.execute(
            select(Membership.constituency_id, func.count())
            .where(
                Membership.institution_id == assembly.institution_id,
                Membership.left_on.is_(None),
            )
            .group_by(Membership.constituency_id)
        ).all()
    )
    present = dict(
        db.session.execute(
            select(Attendance.constituency_id, func.count())
            .where(Attendance.assembly_id == assembly.id)
            .group_by(Attendance.constituency_id)
        ).all()
    )
    total = sum(members.values())
    required = max(
        assembly.quorum_members, math.ceil(assembly.quorum_share * total) if total else 0
    )
    constituencies = tuple(
        ConstituencyPresence(
            key=c.key,
            name=c.name,
            members=members.get(c.id, 0),
            present=present.get(c.id, 0),
            required=min(assembly.quorum_per_constituency, members.get(c.id, 0)),
        )
        for c in db.session.scalars(
            select(Constituency)
            .where(Constituency.institution_id == assembly.institution_id)
            .order_by(Constituency.precedence, Constituency.id)
        )
    )
    return QuorumStatus(total, sum(present.values()), required, constituencies)
