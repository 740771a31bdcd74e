"""Setting up a board election: the secretary drafts it (seats, weights, methods, timetable),
the returning officer approves the settings and registers their key, and it may be cancelled.
The seats of each contest are apportioned from the weights by the counting core (ties by lot,
from the election's seed); the timetable is checked against the institution's rules (Model
Election Rules 2014 by default)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.auth.models import Role, User
from assembly.auth.permissions import can_manage, roles_in
from assembly.clock import utcnow
from assembly.counting.apportionment import METHODS, ApportionmentError, apportion
from assembly.counting.canonical import canonical_bytes, rational
from assembly.counting.rulesets import DEFAULT_RULES, RULE_SETS
from assembly.elections.models import (
    CandidateOrder,
    Contest,
    CountMethod,
    Election,
)
from assembly.elections.operations.transitions import lock_election, transition
from assembly.elections.states import (
    ElectionState,
    is_locked,
)
from assembly.elections.timetable import (
    Timetable,
    TimetableError,
    TimetableRules,
    check_timetable,
)
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution


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
    #: constituency key → STV rule set (``counting.rulesets``); the default where absent.
    rules: dict[str, str] = field(default_factory=dict)
    candidate_order: CandidateOrder = CandidateOrder.alphabetical
    reminder_days_before_close: int = 3
    returning_officer_id: int | None = None
    #: Online ballots encrypted in the voter's browser and opened by trustees
    #: (``elections.e2e``).
    e2e: bool = False


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
    for key, rules in settings.rules.items():
        if key not in keys or rules not in RULE_SETS:
            raise RuleViolation(
                f"Choose STV rules the count knows: {', '.join(sorted(RULE_SETS))}."
            )
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
    election.e2e = settings.e2e
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
        contest.rules = settings.rules.get(constituency.key, DEFAULT_RULES)
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
        rules={keys[c.constituency_id]: c.rules for c in election.contests},
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
        e2e=election.e2e,
    )


def _contest_settings(contest: Contest) -> dict[str, object]:
    """A contest's settings as approved and audited. The rule set is named only when it is
    not the default, so that the fingerprint of an election approved before rule sets were
    selectable is unchanged."""
    settings: dict[str, object] = {
        "weight": rational(contest.weight),
        "seats": contest.seats,
        "method": contest.method.value,
    }
    if contest.rules != DEFAULT_RULES:
        settings["rules"] = contest.rules
    return settings


def settings_fingerprint(election: Election) -> str:
    """SHA-256 of the settings as canonical JSON: what the returning officer approves."""
    settings = settings_of(election)
    timetable = settings.timetable
    document = {
        "title": settings.title,
        "seats": settings.seats,
        "apportionment": settings.apportionment,
        "contests": {c.constituency.key: _contest_settings(c) for c in election.contests},
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
        # Named only when set, so that the fingerprints of elections approved before the
        # setting existed are unchanged.
        **({"e2e": True} if settings.e2e else {}),
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _settings_data(election: Election) -> dict[str, object]:
    """The settings as audit data: enough to see what changed from one event to the next."""
    return {
        "title": election.title,
        "seats": election.seats,
        "apportionment": election.apportionment,
        "contests": {c.constituency.key: _contest_settings(c) for c in election.contests},
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
    transition(election, ElectionState.approved)
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
    transition(election, ElectionState.cancelled)
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
