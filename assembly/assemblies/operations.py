"""The annual assembly's steps: rules, scheduling and notice, leader candidates, check-in,
quorum, votes in the room, count, declaration and the leader's term.

Operations take an explicit actor, raise ``DomainError``s, flush, audit and queue notices;
they never commit (the view or command does, once).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from assembly.assemblies.models import (
    Assembly,
    AssemblyBallot,
    AssemblyCandidate,
    AssemblyCandidateStatus,
    AssemblyOutcome,
    AssemblyRules,
    Attendance,
    LeaderTerm,
    Vote,
    VoteKind,
    VoteMark,
    VoteState,
)
from assembly.assemblies.states import AssemblyState, TransitionError, check_transition
from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.auth.models import Role, User
from assembly.auth.permissions import roles_in
from assembly.clock import long_date, utcnow
from assembly.elections.voting import ANONYMOUS_VOTER, AlreadyVoted, new_tracker
from assembly.errors import Conflict, InvalidTransition, NotEligible, NotFound, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency, Institution, Membership, Person
from assembly.notices.operations import queue_bulk_notices

__all__ = [
    "CONFIRMATION_CHOICES",
    "AlreadyCheckedIn",
    "QuorumStatus",
    "add_months",
    "apply_to_stand",
    "cast_assembly_vote",
    "check_in",
    "close_vote",
    "current_leader",
    "decide_application",
    "declare_assembly",
    "earliest_date",
    "eligible_to_vote",
    "latest_notice_on",
    "open_assembly",
    "open_vote",
    "publish_candidates",
    "quorum_status",
    "rules_for",
    "save_rules",
    "schedule_assembly",
    "send_notice",
    "tick_assemblies",
    "valid_candidates",
    "withdraw_candidate",
]

CONFIRMATION_CHOICES = ("yes", "no", "abstain")
#: Words in a leader candidate's statement, at most.
STATEMENT_WORDS = 500
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]\Z")


class AlreadyCheckedIn(Conflict):
    """The member is already marked present."""

    title = "Already checked in"


# --- rules ------------------------------------------------------------------------------------


def rules_for(institution: Institution) -> AssemblyRules:
    """The institution's assembly rules: saved ones, or the defaults (not saved)."""
    rules = db.session.get(AssemblyRules, institution.id)
    if rules is None:
        rules = AssemblyRules(
            institution_id=institution.id,
            term_months=12,
            notice_days=14,
            quorum_members=0,
            quorum_share_numerator=0,
            quorum_share_denominator=1,
            quorum_per_constituency=0,
            method="irv",
            weighting=False,
            late_arrivals_vote=True,
        )
    return rules


def save_rules(actor: Actor, institution: Institution, values: dict[str, Any]) -> AssemblyRules:
    """Save the institution's assembly rules (assemblies already scheduled keep theirs)."""
    term = int(values["term_months"])
    if not 1 <= term <= 60:
        raise RuleViolation("A leader's term is between 1 and 60 months.")
    if int(values["notice_days"]) < 0:
        raise RuleViolation("The notice period cannot be negative.")
    share = Fraction(values["quorum_share"])
    if not 0 <= share <= 1:
        raise RuleViolation("The quorum share is between 0 and 1 (for example 1/10).")
    if int(values["quorum_members"]) < 0 or int(values["quorum_per_constituency"]) < 0:
        raise RuleViolation("Quorum numbers cannot be negative.")
    rules = db.session.get(AssemblyRules, institution.id)
    if rules is None:
        rules = AssemblyRules(institution_id=institution.id)
        db.session.add(rules)
    rules.term_months = term
    rules.notice_days = int(values["notice_days"])
    rules.quorum_members = int(values["quorum_members"])
    rules.quorum_share = share
    rules.quorum_per_constituency = int(values["quorum_per_constituency"])
    rules.method = values["method"]
    rules.weighting = bool(values["weighting"])
    rules.late_arrivals_vote = bool(values["late_arrivals_vote"])
    db.session.flush()
    record_event(
        actor,
        "assembly_rules.saved",
        institution=institution,
        subject=Ref("institution", institution.id),
        data={**_rules_data(rules), "quorum_share": f"{share.numerator}/{share.denominator}"},
    )
    return rules


def _rules_data(rules: AssemblyRules | Assembly) -> dict[str, Any]:
    return {
        "term_months": rules.term_months,
        "notice_days": rules.notice_days,
        "quorum_members": rules.quorum_members,
        "quorum_per_constituency": rules.quorum_per_constituency,
        "method": str(rules.method),
        "weighting": rules.weighting,
        "late_arrivals_vote": rules.late_arrivals_vote,
    }


# --- scheduling and notice --------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day if it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - some day of every month exists


def latest_notice_on(held_on: date, notice_days: int) -> date:
    """The last day the notice can go out: ``notice_days`` clear days (the day of the notice
    and the day of the assembly not counted) before the assembly."""
    return held_on - timedelta(days=notice_days + 1)


def earliest_date(today: date, notice_days: int) -> date:
    """The first day an assembly can be held if its notice goes out today."""
    return today + timedelta(days=notice_days + 1)


def _active(institution: Institution) -> Assembly | None:
    return db.session.scalars(
        select(Assembly).where(
            Assembly.institution_id == institution.id,
            Assembly.state.in_(
                [AssemblyState.scheduled, AssemblyState.noticed, AssemblyState.in_session]
            ),
        )
    ).first()


def _transition(assembly: Assembly, to: AssemblyState) -> None:
    """Move the assembly to ``to`` if the state table allows it from where it is.

    :raises InvalidTransition: it does not, with the table's message.
    """
    try:
        check_transition(assembly.state, to)
    except TransitionError as error:
        raise InvalidTransition(str(error)) from None
    assembly.state = to


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
) -> Assembly:
    """Schedule the institution's next assembly, with its rules copied from the institution's.

    :raises RuleViolation: a date that leaves too little notice, a bad time or no venue.
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
            **_rules_data(assembly),
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


def _current_members(institution: Institution) -> list[tuple[int, str | None]]:
    return list(
        db.session.execute(
            select(Membership.id, Person.email)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.institution_id == institution.id, Membership.left_on.is_(None))
            .order_by(Membership.id)
        )
    )


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
    _transition(assembly, AssemblyState.noticed)
    assembly.notice_sent_at = utcnow()
    incumbent = current_leader(assembly.institution, today)
    if incumbent is not None and _is_member(assembly.institution, incumbent.person_id):
        db.session.add(
            AssemblyCandidate(
                assembly_id=assembly.id,
                person_id=incumbent.person_id,
                ballot_name=incumbent.ballot_name,
                is_incumbent=True,
                status=AssemblyCandidateStatus.invited,
            )
        )
    members = _current_members(assembly.institution)
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


def _is_member(institution: Institution, person_id: int) -> bool:
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


# --- leader candidates ------------------------------------------------------------------------


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
    if not _is_member(assembly.institution, person.id):
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


def _officer(actor: Actor, assembly: Assembly) -> None:
    """The secretary, the assembly's returning officer, or an admin: they run the room."""
    if actor.is_platform_admin or assembly.is_returning_officer(actor):
        return
    if Role.secretary in roles_in(actor, assembly.institution):
        return
    raise NotEligible("Only the secretary or the returning officer can do this.")


def decide_application(
    actor: Actor, candidate: AssemblyCandidate, *, valid: bool, reason: str = ""
) -> None:
    """The secretary or returning officer finds an application valid, or invalid with a
    reason the applicant is told."""
    assembly = candidate.assembly
    _officer(actor, assembly)
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


def valid_candidates(assembly: Assembly) -> list[AssemblyCandidate]:
    """The valid candidates, in ballot order (family name, given name)."""
    candidates = [c for c in assembly.candidates if c.status == AssemblyCandidateStatus.valid]
    return sorted(
        candidates, key=lambda c: (c.person.family_name.lower(), c.person.given_name.lower(), c.id)
    )


def publish_candidates(actor: Actor, assembly: Assembly, today: date) -> int:
    """Publish the candidates (the notice of candidates goes to every member) once
    applications have closed and each is decided; returns how many emails were queued."""
    _officer(actor, assembly)
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
    members = _current_members(assembly.institution)
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


# --- the day: check-in and quorum ---------------------------------------------------------------


def open_assembly(actor: Actor, assembly: Assembly, today: date) -> None:
    """Open the doors on the day: tellers can check members in."""
    _officer(actor, assembly)
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
    _transition(assembly, AssemblyState.in_session)
    assembly.opened_at = utcnow()
    record_event(actor, "assembly.opened", institution=assembly.institution_id, subject=assembly)


def can_check_in(user: object, assembly: Assembly) -> bool:
    """Tellers, the secretary, the assembly's returning officer and admins check members in."""
    if getattr(user, "is_platform_admin", False) or assembly.is_returning_officer(user):
        return True
    return bool(roles_in(user, assembly.institution) & {Role.teller, Role.secretary})


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


# --- votes --------------------------------------------------------------------------------------


def open_vote_of(assembly: Assembly) -> Vote | None:
    return next((v for v in assembly.votes if v.state == VoteState.open), None)


def continuing_candidates(assembly: Assembly) -> list[AssemblyCandidate]:
    """The valid candidates not excluded in an earlier round, in ballot order."""
    excluded = {v.excluded_id for v in assembly.votes if v.excluded_id is not None}
    return [c for c in valid_candidates(assembly) if c.id not in excluded]


def open_vote(actor: Actor, assembly: Assembly) -> Vote:
    """The chair opens the next vote, only when the assembly is quorate: a confirmation when
    one candidate is left, else the preferential ballot (IRV) or the next round."""
    _officer(actor, assembly)
    if assembly.state != AssemblyState.in_session:
        raise InvalidTransition("Votes are held while the assembly is in session.")
    if open_vote_of(assembly) is not None:
        raise InvalidTransition("A vote is open: close it first.")
    if any(v.elected_id is not None for v in assembly.votes) or _decided(assembly):
        raise InvalidTransition("The vote is decided: declare the result.")
    status = quorum_status(assembly)
    if not status.quorate:
        short = [c.name for c in status.constituencies if not c.met]
        raise RuleViolation(
            "The assembly is not quorate: "
            + (f"{status.short_by} more member(s) needed" if status.short_by else "")
            + ("; " if status.short_by and short else "")
            + (f"too few present from {', '.join(short)}" if short else "")
            + ". No vote can be opened."
        )
    candidates = continuing_candidates(assembly)
    if not candidates:
        raise InvalidTransition("Nobody stands: declare that no leader was elected.")
    if len(candidates) == 1:
        kind = VoteKind.confirmation
    elif assembly.method == "rounds":
        kind = VoteKind.round
    else:
        kind = VoteKind.irv
    vote = Vote(
        assembly_id=assembly.id,
        number=len(assembly.votes) + 1,
        kind=kind,
        candidate_ids=json.dumps([c.id for c in candidates]),
    )
    db.session.add(vote)
    db.session.flush()
    db.session.refresh(assembly, ["votes"])
    record_event(
        actor,
        "assembly_vote.opened",
        institution=assembly.institution_id,
        subject=vote,
        data={
            "assembly": assembly.id,
            "number": vote.number,
            "kind": str(kind),
            "candidates": [c.id for c in candidates],
            "present": status.present,
        },
    )
    return vote


def _decided(assembly: Assembly) -> bool:
    last = assembly.votes[-1] if assembly.votes else None
    return (
        last is not None
        and last.state == VoteState.counted
        and (last.elected_id is not None or last.kind == VoteKind.confirmation)
    )


def vote_candidates(vote: Vote) -> list[AssemblyCandidate]:
    ids = json.loads(vote.candidate_ids)
    by_id = {c.id: c for c in vote.assembly.candidates}
    return [by_id[i] for i in ids]


def eligible_to_vote(vote: Vote, attendance: Attendance) -> bool:
    """Checked in before the vote opened, or late arrivals may vote."""
    assembly = vote.assembly
    return assembly.late_arrivals_vote or attendance.checked_in_at <= vote.opened_at


def _check_ballot(vote: Vote, ranking: Sequence[int], choice: str) -> tuple[list[int], str]:
    ids = [c.id for c in vote_candidates(vote)]
    if vote.kind == VoteKind.confirmation:
        if choice not in CONFIRMATION_CHOICES or ranking:
            raise RuleViolation("Choose yes, no or abstain.")
        return [], choice
    ranked = list(ranking)
    if choice or not ranked:
        raise RuleViolation(
            "Choose a candidate." if vote.kind == VoteKind.round else "Rank at least one candidate."
        )
    if len(set(ranked)) != len(ranked) or not set(ranked) <= set(ids):
        raise RuleViolation("A ballot names each candidate on it at most once.")
    if vote.kind == VoteKind.round and len(ranked) != 1:
        raise RuleViolation("Choose one candidate in this round.")
    return ranked, ""


def cast_assembly_vote(
    attendance: Attendance,
    vote: Vote,
    *,
    ranking: Sequence[int] = (),
    choice: str = "",
    channel: str = "online",
    day: date,
) -> str:
    """Record that the attendee voted and store their ballot, in one transaction; return
    the tracker.

    :raises AlreadyVoted: they voted in this vote already (on the phone or on paper).
    :raises NotEligible: they arrived after the vote opened and late arrivals may not vote.
    """
    if vote.state != VoteState.open:
        raise InvalidTransition("This vote is closed.")
    if attendance.assembly_id != vote.assembly_id:
        raise NotEligible("You are not checked in at this assembly.")
    if not eligible_to_vote(vote, attendance):
        raise NotEligible(
            "You checked in after this vote opened, and at this assembly late arrivals do "
            "not vote in a vote already open."
        )
    ranked, chosen = _check_ballot(vote, ranking, choice)
    try:
        with db.session.begin_nested():
            db.session.add(VoteMark(vote_id=vote.id, attendance_id=attendance.id, channel=channel))
    except IntegrityError:
        raise AlreadyVoted("You have voted in this vote already.") from None
    tracker = store_ballot(vote, attendance.constituency.key, ranked, chosen, channel, day)
    record_event(
        ANONYMOUS_VOTER,
        "assembly_ballot.cast",
        institution=vote.assembly.institution_id,
        subject=Ref("assembly_vote", vote.id),
    )
    return tracker


def store_ballot(
    vote: Vote, constituency: str, ranking: list[int], choice: str, channel: str, day: date
) -> str:
    """Store one ballot with a fresh tracker (the voter's mark is the caller's business)."""
    while True:
        tracker = new_tracker()
        taken = db.session.scalar(select(exists().where(AssemblyBallot.tracker == tracker)))
        if not taken:
            break
    db.session.add(
        AssemblyBallot(
            id=secrets.token_hex(16),
            vote_id=vote.id,
            tracker=tracker,
            constituency=constituency,
            ranking=json.dumps(ranking, separators=(",", ":")),
            choice=choice,
            channel=channel,
            cast_on=day,
        )
    )
    db.session.flush()
    return tracker


def vote_turnout(vote: Vote) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(VoteMark).where(VoteMark.vote_id == vote.id)
        )
        or 0
    )


def close_vote(actor: Actor, vote: Vote) -> dict[str, Any]:
    """The chair closes the vote and it is counted at once; returns the count."""
    from assembly.assemblies.count import count_vote

    assembly = vote.assembly
    _officer(actor, assembly)
    if vote.state != VoteState.open:
        raise InvalidTransition("This vote is closed already.")
    from assembly.assemblies.paper import pending_batches

    waiting = pending_batches(vote)
    if waiting:
        raise InvalidTransition(
            f"{waiting} paper batch(es) wait for their second entry: finish entering the "
            "papers before the vote is counted."
        )
    vote.state = VoteState.counted
    vote.closed_at = utcnow()
    result, elected, excluded = count_vote(vote)
    vote.result = json.dumps(result, sort_keys=True, separators=(",", ":"))
    vote.elected_id = elected
    vote.excluded_id = excluded
    db.session.flush()
    record_event(
        actor,
        "assembly_vote.counted",
        institution=assembly.institution_id,
        subject=vote,
        data={"elected": elected, "excluded": excluded, "ballots": vote_turnout(vote)},
    )
    return result


# --- declaration --------------------------------------------------------------------------------


def declare_assembly(actor: Actor, assembly: Assembly, today: date) -> Assembly | None:
    """Declare the result in the room: the leader's term starts (and next year's assembly is
    scheduled), or no leader was elected. Returns the next assembly if one was scheduled."""
    _officer(actor, assembly)
    if assembly.state != AssemblyState.in_session:
        raise InvalidTransition("The result is declared while the assembly is in session.")
    if open_vote_of(assembly) is not None:
        raise InvalidTransition("A vote is open: close it first.")
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
    _transition(assembly, AssemblyState.declared)
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
    members = _current_members(assembly.institution)
    queue_bulk_notices(
        "assembly_result",
        "assembly_result",
        (
            (assembly.institution_id, email, {"assembly_id": assembly.id, "membership_id": mid})
            for mid, email in members
        ),
    )
    from assembly.assemblies.record import issue_assembly_record

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


def get_assembly(institution: Institution, assembly_id: int) -> Assembly:
    assembly = db.session.get(Assembly, assembly_id)
    if assembly is None or assembly.institution_id != institution.id:
        raise NotFound("There is no such assembly.")
    return assembly
