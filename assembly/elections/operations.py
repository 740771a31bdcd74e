"""Board elections: set-up, returning officer approval, cancellation and the dated steps.

Every function takes the actor, checks the rules, flushes, writes an audit event and never
commits. The seats of each contest are apportioned from the election's weights by the counting
core (ties by lot, from the election's seed); the timetable is checked against the
institution's rules (Model Election Rules 2014 by default).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from sqlalchemy import select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.auth.models import Role, User
from assembly.auth.permissions import can_manage, roles_in
from assembly.bulk import bulk_insert
from assembly.clock import age_on, utcnow
from assembly.counting.apportionment import METHODS, ApportionmentError, apportion
from assembly.counting.canonical import canonical_bytes, rational
from assembly.elections.models import (
    CandidateOrder,
    CandidateStatus,
    Contest,
    ContestResult,
    CountMethod,
    Election,
    RollEntry,
    RollMark,
)
from assembly.elections.states import (
    DATED_STEPS,
    ElectionState,
    TransitionError,
    check_transition,
    due_transitions,
    is_locked,
)
from assembly.elections.timetable import (
    Timetable,
    TimetableError,
    TimetableRules,
    check_timetable,
    working_day_before,
)
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person
from assembly.notices.operations import queue_bulk_notices
from assembly.polls.locks import lock_row

__all__ = [
    "ElectionSettings",
    "approve_election",
    "cancel_election",
    "close_nominations",
    "close_poll",
    "create_election",
    "freeze_roll",
    "open_nominations",
    "open_poll",
    "preview_seats",
    "tick",
    "timetable_rules",
    "update_election",
]


@dataclass(frozen=True)
class ElectionSettings:
    """What the secretary sets up: checked together, approved together."""

    title: str
    seats: int
    apportionment: str
    #: constituency key → weight for this election.
    weights: dict[str, Fraction]
    #: constituency key → counting method.
    methods: dict[str, CountMethod]
    timetable: Timetable
    candidate_order: CandidateOrder = CandidateOrder.alphabetical
    reminder_days_before_close: int = 3
    returning_officer_id: int | None = None


def timetable_rules(institution: Institution) -> TimetableRules:
    """The institution's minimum gaps, in working days before the close of poll."""
    return TimetableRules(
        notice=institution.notice_working_days,
        nominations=institution.nominations_working_days,
        withdrawals=institution.withdrawals_working_days,
        poll_opens=institution.poll_opens_working_days,
    )


def preview_seats(
    institution: Institution, seats: int, weights: dict[str, Fraction], method: str, seed: str
) -> dict[str, int]:
    """Seats per constituency key for these settings (ties for the last seat by lot).

    :raises RuleViolation: the seats or weights cannot be apportioned.
    """
    if method not in METHODS:
        raise RuleViolation(f"Choose how seats are shared: {', '.join(METHODS)}.")
    try:
        return apportion(weights, seats, method=method, seed=seed).seats_by_key
    except ApportionmentError as error:
        raise RuleViolation(f"The seats cannot be shared: {error}.") from None


def _check_settings(institution: Institution, settings: ElectionSettings, seed: str) -> None:
    title = settings.title.strip()
    if not title or len(title) > 200:
        raise RuleViolation("Give the election a title of at most 200 characters.")
    if not 1 <= settings.seats <= 100:
        raise RuleViolation("An election fills from 1 to 100 seats.")
    keys = {c.key for c in institution.constituencies}
    if set(settings.weights) != keys or set(settings.methods) != keys:
        raise RuleViolation("Give a weight and a counting method for every constituency.")
    if settings.candidate_order not in set(CandidateOrder):
        raise RuleViolation("Choose how candidates are ordered on the ballot.")
    if not 0 <= settings.reminder_days_before_close <= 20:
        raise RuleViolation("Reminders go from 0 (none) to 20 working days before the close.")
    preview_seats(institution, settings.seats, settings.weights, settings.apportionment, seed)
    try:
        check_timetable(settings.timetable, timetable_rules(institution))
    except TimetableError as error:
        raise RuleViolation(str(error)) from None
    if settings.returning_officer_id is not None:
        officer = db.session.get(User, settings.returning_officer_id)
        if officer is None or Role.returning_officer not in roles_in(officer, institution):
            raise RuleViolation(
                "The returning officer must hold the returning officer role at this institution."
            )


def _apply(election: Election, settings: ElectionSettings) -> None:
    institution = election.institution
    election.title = settings.title.strip()
    election.seats = settings.seats
    election.apportionment = settings.apportionment
    election.candidate_order = settings.candidate_order
    election.reminder_days_before_close = settings.reminder_days_before_close
    election.returning_officer_id = settings.returning_officer_id
    timetable = settings.timetable
    election.notice_of_election_on = timetable.notice_of_election_on
    election.nominations_close_on = timetable.nominations_close_on
    election.withdrawals_close_on = timetable.withdrawals_close_on
    election.poll_opens_on = timetable.poll_opens_on
    election.poll_closes_on = timetable.poll_closes_on
    seats = preview_seats(
        institution, settings.seats, settings.weights, settings.apportionment, election.seed
    )
    contests = {c.constituency_id: c for c in election.contests}
    for constituency in institution.constituencies:
        contest = contests.get(constituency.id)
        if contest is None:
            contest = Contest(constituency_id=constituency.id)
            election.contests.append(contest)
        contest.weight = settings.weights[constituency.key]
        contest.method = settings.methods[constituency.key]
        contest.seats = seats[constituency.key]


def settings_of(election: Election) -> ElectionSettings:
    """The election's current settings (for forms, and to fingerprint an approval)."""
    keys = {c.constituency_id: c.constituency.key for c in election.contests}
    return ElectionSettings(
        title=election.title,
        seats=election.seats,
        apportionment=election.apportionment,
        weights={keys[c.constituency_id]: c.weight for c in election.contests},
        methods={keys[c.constituency_id]: c.method for c in election.contests},
        timetable=Timetable(
            notice_of_election_on=election.notice_of_election_on,
            nominations_close_on=election.nominations_close_on,
            withdrawals_close_on=election.withdrawals_close_on,
            poll_opens_on=election.poll_opens_on,
            poll_closes_on=election.poll_closes_on,
        ),
        candidate_order=election.candidate_order,
        reminder_days_before_close=election.reminder_days_before_close,
        returning_officer_id=election.returning_officer_id,
    )


def settings_fingerprint(election: Election) -> str:
    """SHA-256 of the settings as canonical JSON: what the returning officer approves."""
    settings = settings_of(election)
    timetable = settings.timetable
    document = {
        "title": settings.title,
        "seats": settings.seats,
        "apportionment": settings.apportionment,
        "contests": {
            c.constituency.key: {
                "weight": rational(c.weight),
                "seats": c.seats,
                "method": c.method.value,
            }
            for c in election.contests
        },
        "timetable": {
            "notice_of_election": timetable.notice_of_election_on.isoformat(),
            "nominations_close": timetable.nominations_close_on.isoformat(),
            "withdrawals_close": timetable.withdrawals_close_on.isoformat(),
            "poll_opens": timetable.poll_opens_on.isoformat(),
            "poll_closes": timetable.poll_closes_on.isoformat(),
        },
        "candidate_order": settings.candidate_order.value,
        "reminder_days_before_close": settings.reminder_days_before_close,
        "returning_officer_id": settings.returning_officer_id or 0,
        "seed": election.seed,
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _settings_data(election: Election) -> dict[str, object]:
    """The settings as audit data: enough to see what changed from one event to the next."""
    return {
        "title": election.title,
        "seats": election.seats,
        "apportionment": election.apportionment,
        "contests": {
            c.constituency.key: {
                "weight": rational(c.weight),
                "seats": c.seats,
                "method": c.method.value,
            }
            for c in election.contests
        },
        "poll_closes_on": election.poll_closes_on.isoformat(),
        "settings_sha256": settings_fingerprint(election),
    }


def create_election(
    actor: Actor, institution: Institution, settings: ElectionSettings, *, seed: str | None = None
) -> Election:
    """Draft a board election with one contest per constituency.

    :param seed: the seed of every lot in the election (64 hex digits); random unless given
        (simulations give one, so that the same simulation gives the same result).

    :raises NotEligible: the actor is not the institution's secretary.
    :raises RuleViolation: a setting breaks a rule (the message names it).
    """
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can set up an election.")
    seed = seed or secrets.token_hex(32)
    _check_settings(institution, settings, seed)
    election = Election(
        institution=institution,
        state=ElectionState.draft,
        seed=seed,
        created_by=actor_label(actor),
    )
    _apply(election, settings)
    db.session.add(election)
    db.session.flush()
    record_event(
        actor,
        "election.created",
        institution=institution,
        subject=election,
        data=_settings_data(election),
    )
    return election


def lock_election(election: Election, *, shared: bool = False) -> Election:
    """Reload the election with its row locked, so two transitions cannot interleave.

    :param shared: a shared lock (FOR SHARE on PostgreSQL; SQLite's write transaction is
        already exclusive): work that only reads the state, such as casting, nominating or
        entering paper, runs side by side, while a transition waits for it and it sees the
        state left (``polls.locks``).
    """
    return lock_row(election, shared=shared)


def update_election(actor: Actor, election: Election, settings: ElectionSettings) -> bool:
    """Change a draft's settings, or an approved election's (it goes back to draft and
    needs a new approval). Return whether anything changed.

    :raises NotEligible: the actor is not the institution's secretary.
    :raises InvalidTransition: nominations have opened: the settings are fixed.
    :raises RuleViolation: a setting breaks a rule.
    """
    if not can_manage(actor, election.institution):
        raise NotEligible("Only the institution's secretary can change the election.")
    election = lock_election(election)
    if election.state not in {ElectionState.draft, ElectionState.approved}:
        raise InvalidTransition(
            "The election's settings are fixed once nominations have opened. Cancel it and "
            "set up another if they must change."
        )
    _check_settings(election.institution, settings, election.seed)
    before = settings_fingerprint(election)
    _apply(election, settings)
    db.session.flush()
    if settings_fingerprint(election) == before:
        return False
    withdrawn = election.state == ElectionState.approved
    if withdrawn:
        election.state = ElectionState.draft
        election.approved_at = None
        election.approved_settings = ""
    record_event(
        actor,
        "election.updated",
        institution=election.institution,
        subject=election,
        data={**_settings_data(election), "approval_withdrawn": withdrawn},
    )
    db.session.flush()
    return True


def _transition(election: Election, to: ElectionState) -> None:
    try:
        check_transition(election.state, to)
    except TransitionError as error:
        raise InvalidTransition(str(error)) from None
    election.state = to


def approve_election(actor: Actor, election: Election, *, today: date | None = None) -> None:
    """The returning officer approves the set-up: its settings are locked as approved.

    :raises NotEligible: the actor is not this election's returning officer.
    :raises InvalidTransition: the election is not a draft.
    :raises RuleViolation: the timetable no longer holds (its notice date has passed).
    """
    election = lock_election(election)
    if not election.is_returning_officer(actor):
        raise NotEligible("Only the election's returning officer can approve it.")
    if election.state != ElectionState.draft:
        raise InvalidTransition("Only a draft election can be approved.")
    if not election.officer_public_key:
        raise RuleViolation(
            "Register your signing key before you approve: run `assembly keys generate --out "
            "ro.key` on your own computer and register the line of ro.key.pub on the election's "
            "signing key page. You will countersign the result with it."
        )
    try:
        check_timetable(
            settings_of(election).timetable,
            timetable_rules(election.institution),
            today=today,
        )
    except TimetableError as error:
        raise RuleViolation(str(error)) from None
    _transition(election, ElectionState.approved)
    from assembly.records.operations import current_signing_key

    election.signing_key_id = current_signing_key(actor).id
    election.approved_at = utcnow()
    election.approved_settings = settings_fingerprint(election)
    db.session.flush()
    record_event(
        actor,
        "election.approved",
        institution=election.institution,
        subject=election,
        data={"settings_sha256": election.approved_settings},
    )


#: Until the poll opens the returning officer can register (or replace) their key: it is
#: printed in the notice of poll.
OFFICER_KEY_STATES = frozenset(
    {
        ElectionState.draft,
        ElectionState.approved,
        ElectionState.nominations_open,
        ElectionState.nominations_closed,
    }
)


def register_officer_key(actor: Actor, election: Election, public_key: str) -> bool:
    """The returning officer registers the public key they will countersign the record with
    (the line ``assembly keys generate`` wrote to the .pub file). Return whether it changed.

    :raises NotEligible: the actor is not this election's returning officer.
    :raises InvalidTransition: the poll has opened: the key is fixed.
    :raises RuleViolation: that is not an Ed25519 public key.
    """
    from assembly.records.operations import read_officer_key

    election = lock_election(election)
    if not election.is_returning_officer(actor):
        raise NotEligible("Only the election's returning officer can register their key.")
    if election.state not in OFFICER_KEY_STATES:
        raise InvalidTransition(
            "The poll has opened, so the returning officer's key is fixed: it was printed in "
            "the notice of poll."
        )
    text, key_fingerprint = read_officer_key(public_key)
    if text == election.officer_public_key:
        return False
    previous = election.officer_fingerprint
    election.officer_public_key = text
    election.officer_fingerprint = key_fingerprint
    db.session.flush()
    record_event(
        actor,
        "election.officer_key_registered",
        institution=election.institution,
        subject=election,
        data={"fingerprint": election.officer_fingerprint, "previous": previous},
    )
    return True


def cancel_election(actor: Actor, election: Election, reason: str) -> None:
    """Cancel an election that has not been declared, saying why (audited, shown to all).

    :raises NotEligible: the actor is neither the secretary nor the returning officer.
    :raises InvalidTransition: the election is declared or already cancelled.
    """
    election = lock_election(election)
    if not (can_manage(actor, election.institution) or election.is_returning_officer(actor)):
        raise NotEligible("Only the secretary or the returning officer can cancel the election.")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("Say why the election is cancelled: members will read it.")
    _transition(election, ElectionState.cancelled)
    election.cancelled_reason = reason[:2000]
    db.session.flush()
    record_event(
        actor,
        "election.cancelled",
        institution=election.institution,
        subject=election,
        data={"reason": election.cancelled_reason},
    )


def is_settings_locked(election: Election) -> bool:
    """Whether the settings can no longer be changed (nominations have opened)."""
    return is_locked(election.state) and election.state != ElectionState.approved


def weights_json(weights: dict[str, Fraction]) -> str:
    return json.dumps({k: rational(v) for k, v in sorted(weights.items())})


# -- the dated steps ------------------------------------------------------------------------


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
        query = query.outerjoin(RollMark, RollMark.roll_entry_id == RollEntry.id).where(
            RollMark.roll_entry_id.is_(None)
        )
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
    _transition(election, ElectionState.nominations_open)
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
    _transition(election, ElectionState.nominations_closed)
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
        _transition(election, ElectionState.declared)
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
    _transition(election, ElectionState.poll_open)
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
    _transition(election, ElectionState.poll_closed)
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
            _STEPS[due[0].target](actor, election)
            db.session.refresh(election)
            done.append((election, due[0].target))
    return done
