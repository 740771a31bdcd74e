"""The dated steps of a board election, made by the timer (``tick``) on the timetable's dates:
nominations open, nominations close and the roll is frozen, the poll opens, voters who have
not voted are reminded, and the poll closes."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.bulk import bulk_insert
from assembly.clock import age_on, utcnow
from assembly.counting.canonical import canonical_bytes
from assembly.elections.models import (
    CandidateStatus,
    Contest,
    ContestResult,
    Election,
    RollEntry,
)
from assembly.elections.operations.setup import settings_of
from assembly.elections.operations.transitions import lock_election, transition
from assembly.elections.queries import e2e_problems
from assembly.elections.states import (
    DATED_STEPS,
    ElectionState,
    due_transitions,
)
from assembly.elections.timetable import (
    working_day_before,
)
from assembly.errors import InvalidTransition
from assembly.extensions import db
from assembly.membership.models import Membership, Person
from assembly.notices.operations import queue_bulk_notices
from assembly.polls.models import RollMark

log = logging.getLogger(__name__)


def members_to_notify(election: Election) -> list[tuple[int, str | None]]:
    """(membership id, email) of every current member of the election's institution."""
    return [
        (membership_id, email)
        for membership_id, email in db.session.execute(
            select(Membership.id, Person.email)
            .join(Person, Person.id == Membership.person_id)
            .where(
                Membership.institution_id == election.institution_id,
                Membership.left_on.is_(None),
            )
            .order_by(Membership.id)
        )
    ]


def _voters(election: Election, *, not_voted: bool = False) -> list[tuple[int, str | None]]:
    """(roll entry id, email) of the voters of the election's contested contests (only those
    who have not voted, if asked)."""
    query = (
        select(RollEntry.id, Person.email)
        .join(Person, Person.id == RollEntry.person_id)
        .join(Contest, Contest.id == RollEntry.contest_id)
        .where(Contest.election_id == election.id, Contest.is_uncontested.is_(False))
        .order_by(RollEntry.id)
    )
    if not_voted:
        query = query.outerjoin(
            RollMark,
            (RollMark.poll_id == Contest.poll_id) & (RollMark.person_id == RollEntry.person_id),
        ).where(RollMark.poll_id.is_(None))
    return [(entry_id, email) for entry_id, email in db.session.execute(query)]


def _notify(
    actor: Actor,
    election: Election,
    recipients: list[tuple[int, str | None]],
    *,
    template: str,
    key: str,
    action: str,
) -> int:
    """Queue ``template`` to each recipient (id under ``key`` in the notice's context) and
    record ``action`` with how many were queued and how many have no email address."""
    queued = queue_bulk_notices(
        template,
        template,
        (
            (election.institution_id, email, {"election_id": election.id, key: rid})
            for rid, email in recipients
        ),
    )
    record_event(
        actor,
        action,
        institution=election.institution,
        subject=election,
        data={"notices": queued, "without_email": len(recipients) - queued},
    )
    return queued


def open_nominations(actor: Actor, election: Election) -> int:
    """Open nominations and send the notice of election to every current member (how to
    stand); return how many notices were queued.

    :raises InvalidTransition: the election is not approved.
    """
    election = lock_election(election)
    transition(election, ElectionState.nominations_open)
    return _notify(
        actor,
        election,
        members_to_notify(election),
        template="notice_of_election",
        key="membership_id",
        action="election.nominations_opened",
    )


def freeze_roll(election: Election) -> dict[str, int]:
    """Write each contest's roll: the members of its constituency current on the close of
    nominations and old enough; return the voters per constituency key."""
    day = election.nominations_close_on
    sizes: dict[str, int] = {}
    for contest in election.contests:
        constituency = contest.constituency
        people = db.session.execute(
            select(Membership.person_id, Person.date_of_birth)
            .join(Person, Person.id == Membership.person_id)
            .where(
                Membership.constituency_id == constituency.id,
                Membership.joined_on <= day,
                (Membership.left_on.is_(None)) | (Membership.left_on > day),
            )
            .order_by(Person.family_name, Person.given_name, Person.id)
        ).all()
        minimum = constituency.minimum_age
        voters = [
            person_id
            for person_id, born in people
            if not minimum or born is None or age_on(born, day) >= minimum
        ]
        bulk_insert(
            db.session.connection(),
            RollEntry.__table__,
            (
                {
                    "contest_id": contest.id,
                    "person_id": person_id,
                    "number": number,
                    "salt": secrets.token_hex(16),
                }
                for number, person_id in enumerate(voters, start=1)
            ),
        )
        contest.roll_size = len(voters)
        sizes[constituency.key] = len(voters)
    election.roll_frozen_at = utcnow()
    return sizes


def close_nominations(actor: Actor, election: Election) -> None:
    """Close nominations: freeze the roll, and declare the contests with no more valid
    candidates than seats without a poll (unfilled seats are reported). When every contest is
    uncontested, the election is declared.

    :raises InvalidTransition: nominations are not open.
    """
    election = lock_election(election)
    transition(election, ElectionState.nominations_closed)
    sizes = freeze_roll(election)
    uncontested: dict[str, dict[str, object]] = {}
    for contest in election.contests:
        valid = [c for c in contest.candidates if c.status == CandidateStatus.valid]
        if len(valid) <= contest.seats:
            contest.is_uncontested = True
            elected = sorted(valid, key=lambda c: (c.person.family_name, c.person.given_name))
            db.session.add(
                ContestResult(
                    contest_id=contest.id,
                    result=canonical_bytes(
                        {"method": "uncontested", "elected": [c.id for c in elected]}
                    ).decode(),
                    elected=json.dumps([c.id for c in elected]),
                    ballots_counted=0,
                    voted=0,
                )
            )
            uncontested[contest.constituency.key] = {
                "elected": len(elected),
                "unfilled": contest.seats - len(elected),
            }
    db.session.flush()
    record_event(
        actor,
        "election.nominations_closed",
        institution=election.institution,
        subject=election,
        data={"roll": sizes, "uncontested": uncontested},
    )
    if len(uncontested) == len(election.contests):
        transition(election, ElectionState.declared)
        election.declared_at = utcnow()
        db.session.flush()
        record_event(
            actor,
            "election.declared",
            institution=election.institution,
            subject=election,
            data={"without_poll": True, "uncontested": uncontested},
        )


def open_poll(actor: Actor, election: Election) -> int:
    """Open the poll and send each voter with an email address their voting information
    (with a personal sign-in link); return how many were queued.

    :raises InvalidTransition: nominations have not closed.
    """
    election = lock_election(election)
    problems = e2e_problems(election)
    if problems:
        raise InvalidTransition(
            "The poll cannot open until its end-to-end set-up is done: " + " ".join(problems)
        )
    transition(election, ElectionState.poll_open)
    return _notify(
        actor,
        election,
        _voters(election),
        template="voting_information",
        key="roll_entry_id",
        action="election.poll_opened",
    )


def reminder_due_on(election: Election) -> date | None:
    """The day voters who have not voted are reminded (None: no reminder)."""
    if not election.reminder_days_before_close:
        return None
    return max(
        election.poll_opens_on,
        working_day_before(election.poll_closes_on, election.reminder_days_before_close),
    )


def send_reminders(actor: Actor, election: Election) -> int:
    """Remind each voter with an email address who has not voted yet (once); return how many
    reminders were queued. A reminder whose voter votes before it is sent is dropped.

    :raises InvalidTransition: the poll is not open, or the reminders were sent.
    """
    election = lock_election(election)
    if election.state != ElectionState.poll_open or election.reminded_at is not None:
        raise InvalidTransition("Reminders go once, while the poll is open.")
    election.reminded_at = utcnow()
    return _notify(
        actor,
        election,
        _voters(election, not_voted=True),
        template="voting_reminder",
        key="roll_entry_id",
        action="election.reminders_sent",
    )


def close_poll(actor: Actor, election: Election) -> None:
    """Close the poll: no more ballots are accepted.

    :raises InvalidTransition: the poll is not open.
    """
    election = lock_election(election)
    transition(election, ElectionState.poll_closed)
    db.session.flush()
    record_event(actor, "election.poll_closed", institution=election.institution, subject=election)


_STEPS: dict[ElectionState, Callable[[Actor, Election], object]] = {
    ElectionState.nominations_open: open_nominations,
    ElectionState.nominations_closed: close_nominations,
    ElectionState.poll_open: open_poll,
    ElectionState.poll_closed: close_poll,
}


def tick(actor: Actor, day: date) -> list[tuple[Election, ElectionState]]:
    """Make every dated step that is due on ``day`` (Europe/London), one at a time, for every
    election; return what was done. Idempotent: a second run on the same day does nothing.
    """
    done: list[tuple[Election, ElectionState]] = []
    elections = db.session.scalars(
        select(Election)
        .where(Election.state.in_([step.source for step in DATED_STEPS]))
        .order_by(Election.id)
    ).all()
    for election in elections:
        while True:
            reminder = reminder_due_on(election)
            if (
                election.state == ElectionState.poll_open
                and election.reminded_at is None
                and reminder is not None
                and reminder <= day <= election.poll_closes_on
            ):
                send_reminders(actor, election)
                db.session.refresh(election)
            due = due_transitions(election.state, settings_of(election).timetable, day)
            if not due:
                break
            waiting = e2e_problems(election) if due[0].target == ElectionState.poll_open else []
            if waiting:
                # An end-to-end poll waits for its trustees and credentials (the election's
                # page says what is missing); the next run opens it once they are done.
                log.warning(
                    "election %s: the poll is due but waits for its end-to-end set-up: %s",
                    election.id,
                    " ".join(waiting),
                )
                break
            _STEPS[due[0].target](actor, election)
            db.session.refresh(election)
            done.append((election, due[0].target))
    return done
