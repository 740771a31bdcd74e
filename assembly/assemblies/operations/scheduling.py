"""Scheduling an assembly and giving notice of it to every member; the seed committed to before
any vote; the current leader."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

from sqlalchemy import select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyCandidateStatus,
    LeaderTerm,
)
from assembly.assemblies.operations.rules import (
    earliest_date,
    latest_notice_on,
    rules_data,
    rules_for,
)
from assembly.assemblies.operations.transitions import transition
from assembly.assemblies.queries import current_members, is_member
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.models import Role, User
from assembly.auth.permissions import roles_in
from assembly.clock import long_date, utcnow
from assembly.errors import Conflict, InvalidTransition, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.notices.operations import queue_bulk_notices

_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]\Z")


def _active(institution: Institution) -> Assembly | None:
    return db.session.scalars(
        select(Assembly).where(
            Assembly.institution_id == institution.id,
            Assembly.state.in_(
                [AssemblyState.scheduled, AssemblyState.noticed, AssemblyState.in_session]
            ),
        )
    ).first()


def _check_meeting(
    held_on: date, starts_at: str, venue: str, notice_days: int, today: date, sent: bool
) -> None:
    if not _TIME.match(starts_at):
        raise RuleViolation("Enter the start time as hours and minutes, like 18:30.")
    if not venue.strip():
        raise RuleViolation("Enter the venue: where members should come.")
    if not sent and today > latest_notice_on(held_on, notice_days):
        raise RuleViolation(
            f"Too little notice: members must have {notice_days} clear days' notice, so an "
            f"assembly whose notice goes out today can be held on "
            f"{long_date(earliest_date(today, notice_days))} at the earliest."
        )


def schedule_assembly(
    actor: Actor,
    institution: Institution,
    *,
    title: str,
    held_on: date,
    starts_at: str,
    venue: str,
    agenda: str,
    returning_officer_id: int | None,
    today: date,
    reconvenes: Assembly | None = None,
    e2e: bool = False,
) -> Assembly:
    """Schedule the institution's next assembly, with its rules copied from the institution's;
    ``e2e``: its votes are end-to-end verifiable (``assemblies.e2e``).

    :raises RuleViolation: a date that leaves too little notice, a bad time or no venue; an
        end-to-end verifiable assembly with no returning officer.
    :raises Conflict: another assembly is already scheduled and not yet declared.
    """
    rules = rules_for(institution)
    _check_meeting(held_on, starts_at, venue, rules.notice_days, today, sent=False)
    if _active(institution) is not None:
        raise Conflict(
            "An assembly is already scheduled: hold or cancel it before scheduling another."
        )
    if returning_officer_id is not None and Role.returning_officer not in roles_in(
        db.session.get(User, returning_officer_id), institution
    ):
        raise RuleViolation("Choose a returning officer of this institution.")
    if e2e and returning_officer_id is None:
        raise RuleViolation(
            "Choose the returning officer: in an end-to-end verifiable assembly they name the "
            "trustees and make the voting cards."
        )
    from assembly.records.operations import current_signing_key

    assembly = Assembly(
        institution_id=institution.id,
        title=title.strip() or f"Annual assembly {held_on.year}",
        held_on=held_on,
        starts_at=starts_at,
        venue=venue.strip(),
        agenda=agenda.strip(),
        leader_title=institution.leader_title,
        term_months=rules.term_months,
        notice_days=rules.notice_days,
        applications_close_on=held_on - timedelta(days=min(7, max(1, rules.notice_days // 2))),
        seed=secrets.token_hex(32),
        returning_officer_id=returning_officer_id,
        signing_key_id=current_signing_key(actor).id,
        quorum_members=rules.quorum_members,
        quorum_share_numerator=rules.quorum_share_numerator,
        quorum_share_denominator=rules.quorum_share_denominator,
        quorum_per_constituency=rules.quorum_per_constituency,
        method=rules.method,
        weighting=rules.weighting,
        late_arrivals_vote=rules.late_arrivals_vote,
        reconvenes_id=reconvenes.id if reconvenes is not None else None,
        e2e=e2e,
    )
    db.session.add(assembly)
    db.session.flush()
    record_event(
        actor,
        "assembly.scheduled",
        institution=institution,
        subject=assembly,
        data={
            "title": assembly.title,
            "held_on": held_on.isoformat(),
            "venue": assembly.venue,
            "seed_sha256": seed_commitment(assembly),
            "e2e": e2e,
            **rules_data(assembly),
        },
    )
    return assembly


def seed_commitment(assembly: Assembly) -> str:
    """SHA-256 of the seed: printed on the notice and the screen before any vote, so that
    nobody can choose the seed once the votes are known."""
    from assembly.records.record import assembly_seed_sha256

    return assembly_seed_sha256(assembly.seed)


def current_leader(institution: Institution, today: date) -> LeaderTerm | None:
    """The leader whose term includes ``today``, or the latest one."""
    return db.session.scalars(
        select(LeaderTerm)
        .where(LeaderTerm.institution_id == institution.id)
        .order_by(LeaderTerm.starts_on.desc(), LeaderTerm.id.desc())
        .limit(1)
    ).first()


def send_notice(actor: Actor, assembly: Assembly, today: date) -> int:
    """Send the notice of assembly to every current member (with their pass for the door);
    invite the incumbent leader to stand. Returns how many emails were queued.

    :raises RuleViolation: the notice would now be too late for the date.
    """
    if assembly.state != AssemblyState.scheduled:
        raise InvalidTransition("The notice of this assembly has been sent already.")
    if today > latest_notice_on(assembly.held_on, assembly.notice_days):
        raise RuleViolation(
            f"Too late to give {assembly.notice_days} clear days' notice of an assembly on "
            f"{long_date(assembly.held_on)}: the notice had to go by "
            f"{long_date(latest_notice_on(assembly.held_on, assembly.notice_days))}. Move the "
            f"assembly to {long_date(earliest_date(today, assembly.notice_days))} or later."
        )
    transition(assembly, AssemblyState.noticed)
    assembly.notice_sent_at = utcnow()
    incumbent = current_leader(assembly.institution, today)
    if incumbent is not None and is_member(assembly.institution, incumbent.person_id):
        db.session.add(
            AssemblyCandidate(
                assembly_id=assembly.id,
                person_id=incumbent.person_id,
                ballot_name=incumbent.ballot_name,
                is_incumbent=True,
                status=AssemblyCandidateStatus.invited,
            )
        )
    members = current_members(assembly.institution)
    queued = queue_bulk_notices(
        "notice_of_assembly",
        "notice_of_assembly",
        (
            (assembly.institution_id, email, {"assembly_id": assembly.id, "membership_id": mid})
            for mid, email in members
        ),
    )
    db.session.flush()
    record_event(
        actor,
        "assembly.noticed",
        institution=assembly.institution_id,
        subject=assembly,
        data={"notices": queued, "without_email": len(members) - queued},
    )
    return queued


def tick_assemblies(actor: Actor, today: date) -> list[Assembly]:
    """The timer's step: send the notice of every scheduled assembly whose last day for it
    has come (the secretary may send it earlier). Returns the assemblies noticed."""
    due = db.session.scalars(
        select(Assembly).where(Assembly.state == AssemblyState.scheduled).order_by(Assembly.id)
    ).all()
    noticed = []
    for assembly in due:
        if latest_notice_on(assembly.held_on, assembly.notice_days) == today:
            send_notice(actor, assembly, today)
            noticed.append(assembly)
    return noticed
