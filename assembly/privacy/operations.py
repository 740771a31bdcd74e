"""Members' personal data: the retention purge, a member's own export, and erasure (the
rules are in the package's docstring)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Delete, delete, exists, select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    Attendance,
    Vote,
)
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.models import RoleGrant, User
from assembly.clock import utcnow
from assembly.elections.models import (
    Candidate,
    Contest,
    Election,
    RollEntry,
)
from assembly.elections.states import ElectionState
from assembly.elections.voting import has_voted
from assembly.errors import InvalidTransition, NotFound
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.polls.models import Ballot, PaperBatch

__all__ = ["RETENTION", "erase_person", "export_person", "purge_expired_ballots"]

#: Ballot data is kept this long after the declaration.
RETENTION = timedelta(days=365)
ERASED = "Erased"


# --- retention ----------------------------------------------------------------------------------


def _deleted(statement: Delete) -> int:
    """Run a DELETE; return how many rows it removed."""
    result: CursorResult[Any] = db.session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


def purge_expired_ballots(actor: Actor, now: datetime | None = None) -> list[str]:
    """Delete the ballot data of every election and assembly declared more than a year ago
    (once each); return what was purged, for the log."""
    cutoff = (now or utcnow()) - RETENTION
    done = []
    # Each kind: what is declared, in which state, and its polls (its contests', or votes').
    kinds: list[tuple[str, Any, Any, Any, Any]] = [
        ("election", Election, ElectionState.declared, Contest.poll_id, Contest.election_id),
        ("assembly", Assembly, AssemblyState.declared, Vote.poll_id, Vote.assembly_id),
    ]
    for name, model, declared, poll_id, owner_id in kinds:
        for subject in db.session.scalars(
            select(model).where(
                model.state == declared,
                model.declared_at < cutoff,
                model.ballots_purged_at.is_(None),
            )
        ):
            polls = select(poll_id).where(owner_id == subject.id)
            ballots = _deleted(delete(Ballot).where(Ballot.poll_id.in_(polls)))
            batches = _deleted(delete(PaperBatch).where(PaperBatch.poll_id.in_(polls)))
            subject.ballots_purged_at = now or utcnow()
            record_event(
                actor,
                "retention.ballots_purged",
                institution=subject.institution_id,
                subject=subject,
                data={"ballots": ballots, "paper_batches": batches},
            )
            done.append(f"{name} {subject.id}: {ballots:,} ballot(s)")
    db.session.flush()
    return done


# --- a member's own data --------------------------------------------------------------------


def _people(email: str) -> list[Person]:
    return list(
        db.session.scalars(
            select(Person).where(Person.email == email.strip().lower()).order_by(Person.id)
        )
    )


def _day(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_person(email: str) -> dict[str, Any]:
    """Everything held about the people with this email address (never how anyone voted)."""
    people = _people(email)
    ids = [p.id for p in people]
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    return {
        "format": "assembly-personal-data/1",
        "email": email.strip().lower(),
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "people": [
            {
                "given_name": p.given_name,
                "family_name": p.family_name,
                "email": p.email,
                "date_of_birth": _day(p.date_of_birth),
                "postcode": p.postcode,
                "memberships": [
                    {
                        "institution": m.institution.name,
                        "constituency": m.constituency.name,
                        "joined_on": _day(m.joined_on),
                        "left_on": _day(m.left_on),
                        "opted_out_on": _day(m.opted_out_on),
                    }
                    for m in p.memberships
                ],
            }
            for p in people
        ],
        "roles": [
            {
                "institution": g.institution.name,
                "role": str(g.role.value),
                "granted_at": _day(g.granted_at),
                "revoked_at": _day(g.revoked_at),
            }
            for g in (
                db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))
                if user
                else []
            )
        ],
        "candidacies": [
            {
                "election": c.contest.election.title,
                "ballot_name": c.ballot_name,
                "statement": c.statement,
                "status": str(c.status.value),
            }
            for c in db.session.scalars(select(Candidate).where(Candidate.person_id.in_(ids)))
        ]
        + [
            {
                "assembly": c.assembly.title,
                "ballot_name": c.ballot_name,
                "statement": c.statement,
                "status": str(c.status.value),
            }
            for c in db.session.scalars(
                select(AssemblyCandidate).where(AssemblyCandidate.person_id.in_(ids))
            )
        ],
        "rolls": [
            {
                "election": e.contest.election.title,
                "constituency": e.contest.constituency.name,
                "elector_number": e.number,
                "voted": has_voted(e),
            }
            for e in db.session.scalars(select(RollEntry).where(RollEntry.person_id.in_(ids)))
        ],
        "assemblies_attended": [
            {"assembly": a.assembly_title, "checked_in_at": _day(a.checked_in_at)}
            for a in db.session.execute(
                select(Assembly.title.label("assembly_title"), Attendance.checked_in_at)
                .join(Assembly, Assembly.id == Attendance.assembly_id)
                .where(Attendance.person_id.in_(ids))
            )
        ],
        "note": "Ballots are stored without any link to the voter: how you voted is not "
        "held against your name anywhere, so it cannot be exported.",
    }


def _on_an_open_roll(ids: list[int]) -> bool:
    """Whether any of these people is on the roll of an election whose record is not made
    yet, or present at an assembly not yet declared."""
    open_election = db.session.scalar(
        select(
            exists()
            .where(RollEntry.person_id.in_(ids))
            .where(RollEntry.contest_id == Contest.id)
            .where(Contest.election_id == Election.id)
            .where(
                Election.state.not_in(
                    [ElectionState.counted, ElectionState.declared, ElectionState.cancelled]
                )
            )
        )
    )
    open_assembly = db.session.scalar(
        select(
            exists()
            .where(Attendance.person_id.in_(ids))
            .where(Attendance.assembly_id == Assembly.id)
            .where(Assembly.state == AssemblyState.in_session)
        )
    )
    return bool(open_election or open_assembly)


def erase_person(actor: Actor, email: str, today: date) -> int:
    """Erase the personal data of the people with this email address: names replaced, email,
    date of birth and postcode removed, memberships ended. Returns how many people.

    :raises NotFound: nobody has this address.
    :raises InvalidTransition: they are on a roll whose record is not made yet.
    """
    people = _people(email)
    if not people:
        raise NotFound("Nobody on any roster has that email address.")
    ids = [p.id for p in people]
    if _on_an_open_roll(ids):
        raise InvalidTransition(
            "This person is on the roll of an election or assembly still under way: erase "
            "them once its record is made, so that the record commits to the roll as it was."
        )
    for person in people:
        person.given_name, person.family_name = ERASED, ERASED
        person.email = None
        person.date_of_birth = None
        person.postcode = None
        for membership in person.memberships:
            if membership.left_on is None:
                membership.left_on = today
        record_event(actor, "person.erased", subject=person, data={"memberships_ended": True})
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is not None and not db.session.scalar(
        select(exists().where(RoleGrant.user_id == user.id, RoleGrant.revoked_at.is_(None)))
    ):
        # A sign-in account with no role left goes too (one holding a role is an officer's,
        # which their institution must end first).
        user.email = f"erased-{user.id}@erased.invalid"
        user.display_name = ERASED
        user.is_disabled = True
        record_event(actor, "user.erased", subject=user)
    db.session.flush()
    return len(people)
