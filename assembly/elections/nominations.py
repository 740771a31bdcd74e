"""Nominations: members stand in their own constituency's contest, the returning officer
decides each nomination, candidates withdraw, and the valid candidates are listed.

The rules, as this service applies them:

- A member stands only in the contest of the constituency of their current membership of
  the institution (found through the address they signed in with), while nominations are
  open: until the end of the close of nominations date (Europe/London). One nomination per
  person per contest, which the database also enforces.
- A nomination gives the name for the ballot paper, a plain-text statement of at most
  ``MAX_STATEMENT_WORDS`` words (words are counted between whitespace), a declaration that
  the candidate is eligible to stand, and their declared interests ("None" is an answer).
- The election's returning officer marks each nomination valid or invalid, an invalid one
  with a reason the candidate reads: while nominations are open and after they close, until
  the poll opens. Until then a decision may be changed, say when a mistake comes to light;
  each decision is audited and the candidate is told each time.
- A candidate may withdraw until the end of the close of withdrawals date. **A withdrawal
  is final**: the nomination cannot come back, and its author cannot stand again in that
  contest, even while nominations are still open. The one row per person and contest keeps
  the record of what happened, and no one can drop out and back in to move on the ballot or
  to unsettle other candidates.

Every operation takes the actor, checks the rules, flushes, writes an audit event, queues
any notice and never commits.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.models import User
from assembly.clock import LONDON, long_date, utcnow
from assembly.clock import today as london_today
from assembly.elections.models import Candidate, CandidateStatus, Contest, Election
from assembly.elections.operations import lock_election
from assembly.elections.states import ElectionState
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Membership, Person
from assembly.membership.queries import list_memberships_for_email
from assembly.notices.operations import queue_notice
from assembly.urls import external_url

__all__ = [
    "MAX_BALLOT_NAME_CHARACTERS",
    "MAX_INTERESTS_CHARACTERS",
    "MAX_REASON_CHARACTERS",
    "MAX_STATEMENT_CHARACTERS",
    "MAX_STATEMENT_WORDS",
    "NominationRefused",
    "can_decide_now",
    "can_nominate_now",
    "can_withdraw_now",
    "contest_for_member",
    "count_undecided",
    "count_words",
    "decide_nomination",
    "get_nomination",
    "is_published",
    "is_statement_published",
    "list_current_elections",
    "list_nominations",
    "member_of",
    "nominate_candidate",
    "valid_candidates",
    "withdraw_nomination",
]

MAX_STATEMENT_WORDS = 250
#: Generous for 250 words; it stops a wall of text with few spaces passing as a few "words".
MAX_STATEMENT_CHARACTERS = 3000
MAX_BALLOT_NAME_CHARACTERS = 200
MAX_INTERESTS_CHARACTERS = 2000
MAX_REASON_CHARACTERS = 2000

_S = ElectionState

#: From the notice of election on, members see the election and what they can do in it.
_NOTICED = frozenset(
    {
        _S.nominations_open,
        _S.nominations_closed,
        _S.poll_open,
        _S.poll_closed,
        _S.counted,
        _S.declared,
    }
)
#: The statement of candidates is published when nominations close.
_STATEMENT_PUBLISHED = _NOTICED - {_S.nominations_open}
#: The returning officer decides, and candidates withdraw, in these states (and dates).
_NOMINATION_STATES = frozenset({_S.nominations_open, _S.nominations_closed})


class NominationRefused(RuleViolation):
    """A detail of a nomination or a decision breaks a rule; ``field`` names the detail, so
    a form can show the message beside it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# -- reads ----------------------------------------------------------------------------------


def is_published(election: Election) -> bool:
    """Return whether members and the public may see the election: its notice is out (a
    cancelled election, once its notice date has come)."""
    if election.state in _NOTICED:
        return True
    return (
        election.state == _S.cancelled
        and election.approved_at is not None
        and london_today() >= election.notice_of_election_on
    )


def is_statement_published(election: Election) -> bool:
    """Return whether the statement of candidates is public: from the close of nominations."""
    return election.state in _STATEMENT_PUBLISHED


def member_of(election: Election, user: object) -> Membership | None:
    """Return ``user``'s current membership of the election's institution, or None.

    A member is linked to their person by the address they signed in with.
    """
    email = getattr(user, "email", None)
    if not email:
        return None
    for membership in list_memberships_for_email(email.lower()):
        if membership.is_current and membership.institution_id == election.institution_id:
            return membership
    return None


def contest_for_member(election: Election, user: object) -> Contest | None:
    """Return the contest ``user`` may stand in: their current constituency's in
    ``election``; None if they are not a current member of its institution (or the
    election has no contest for their constituency)."""
    membership = member_of(election, user)
    if membership is None:
        return None
    return next(
        (c for c in election.contests if c.constituency_id == membership.constituency_id), None
    )


def get_nomination(contest: Contest, person_id: int) -> Candidate | None:
    """Return the person's nomination in ``contest`` (whatever its status), or None."""
    return db.session.scalars(
        select(Candidate).where(
            Candidate.contest_id == contest.id, Candidate.person_id == person_id
        )
    ).first()


def _plain(text: str) -> str:
    """Fold case and accents, so that "Ørsted", "orsted" and "Orsted" sort together."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Ø", "O").replace("ø", "o"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _alphabetical(candidates: list[Candidate]) -> list[Candidate]:
    # Sorted here, not in SQL: SQLite's lower() folds ASCII only, so the order would differ
    # between SQLite and PostgreSQL.
    return sorted(
        candidates,
        key=lambda c: (_plain(c.person.family_name), _plain(c.person.given_name), c.id),
    )


def valid_candidates(contest: Contest) -> list[Candidate]:
    """Return the contest's valid candidates, alphabetical by family name, then given name
    (accents and case ignored; equal names in order of nomination)."""
    return _alphabetical(
        list(
            db.session.scalars(
                select(Candidate)
                .join(Person, Person.id == Candidate.person_id)
                .options(contains_eager(Candidate.person))
                .where(
                    Candidate.contest_id == contest.id,
                    Candidate.status == CandidateStatus.valid,
                )
            )
        )
    )


def list_nominations(election: Election) -> list[tuple[Contest, list[Candidate]]]:
    """Return each contest with all its nominations (every status), alphabetical."""
    by_contest: dict[int, list[Candidate]] = {c.id: [] for c in election.contests}
    for candidate in db.session.scalars(
        select(Candidate)
        .join(Person, Person.id == Candidate.person_id)
        .options(contains_eager(Candidate.person))
        .where(Candidate.contest_id.in_(list(by_contest)))
    ):
        by_contest[candidate.contest_id].append(candidate)
    return [(c, _alphabetical(by_contest[c.id])) for c in election.contests]


def list_current_elections(institution_id: int) -> list[Election]:
    """Return the institution's elections whose notice is out and that are not yet over
    (declared or cancelled), soonest close of poll first: the ones a member can act in."""
    return list(
        db.session.scalars(
            select(Election)
            .where(
                Election.institution_id == institution_id,
                Election.state.in_(_NOTICED - {_S.declared}),
            )
            .order_by(Election.poll_closes_on, Election.id)
        )
    )


def count_undecided(election: Election) -> int:
    """Count the election's nominations still waiting for the returning officer."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Candidate)
            .join(Contest, Contest.id == Candidate.contest_id)
            .where(
                Contest.election_id == election.id,
                Candidate.status == CandidateStatus.nominated,
            )
        )
        or 0
    )


def count_words(text: str) -> int:
    """Count the words of ``text``: the runs of characters between whitespace."""
    return len(text.split())


def can_nominate_now(election: Election, today: date) -> bool:
    """Return whether nominations are open on ``today`` (Europe/London)."""
    return election.state == _S.nominations_open and today <= election.nominations_close_on


def can_decide_now(election: Election, today: date) -> bool:
    """Return whether the returning officer may decide nominations on ``today``."""
    return election.state in _NOMINATION_STATES and today < election.poll_opens_on


def can_withdraw_now(election: Election, today: date) -> bool:
    """Return whether a candidate may withdraw on ``today`` (Europe/London)."""
    return election.state in _NOMINATION_STATES and today <= election.withdrawals_close_on


# -- operations -----------------------------------------------------------------------------


def _lock_candidate(candidate: Candidate) -> Candidate:
    return db.session.scalars(
        select(Candidate)
        .where(Candidate.id == candidate.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _check_nominations_open(election: Election, today: date) -> None:
    if can_nominate_now(election, today):
        return
    if election.state == _S.cancelled:
        raise InvalidTransition(f"{election.title} was cancelled, so it takes no nominations.")
    if election.state in {_S.draft, _S.approved}:
        raise InvalidTransition(
            f"Nominations for {election.title} have not opened yet. They open on "
            f"{long_date(election.notice_of_election_on)}."
        )
    raise InvalidTransition(
        f"Nominations for {election.title} closed at the end of "
        f"{long_date(election.nominations_close_on)}, so no more can be made."
    )


def _clean(text: str) -> str:
    """Plain text as stored: Windows line ends made plain, outer whitespace trimmed."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _check_details(
    ballot_name: str, statement: str, declares_eligible: bool, interests: str
) -> None:
    if not ballot_name:
        raise NominationRefused(
            "Enter your name as it should appear on the ballot paper.", "ballot_name"
        )
    if len(ballot_name) > MAX_BALLOT_NAME_CHARACTERS:
        raise NominationRefused(
            f"Your name on the ballot paper can be at most {MAX_BALLOT_NAME_CHARACTERS} "
            "characters long.",
            "ballot_name",
        )
    words = count_words(statement)
    if words > MAX_STATEMENT_WORDS:
        over = words - MAX_STATEMENT_WORDS
        raise NominationRefused(
            f"Your statement has {words} words; it can have at most {MAX_STATEMENT_WORDS}. "
            f"Remove {over} word{'s' if over != 1 else ''}.",
            "statement",
        )
    if len(statement) > MAX_STATEMENT_CHARACTERS:
        raise NominationRefused(
            f"Your statement is {len(statement)} characters long; it can be at most "
            f"{MAX_STATEMENT_CHARACTERS}.",
            "statement",
        )
    if not declares_eligible:
        raise NominationRefused(
            "Confirm that you are eligible to stand: you cannot be nominated without it.",
            "declares_eligible",
        )
    if not interests:
        raise NominationRefused(
            'Declare your interests. If you have none, write "None".', "interests"
        )
    if len(interests) > MAX_INTERESTS_CHARACTERS:
        raise NominationRefused(
            f"Your declared interests can be at most {MAX_INTERESTS_CHARACTERS} characters long.",
            "interests",
        )


def nominate_candidate(
    actor: Actor,
    contest: Contest,
    *,
    ballot_name: str,
    statement: str,
    declares_eligible: bool,
    interests: str,
    today: date | None = None,
) -> Candidate:
    """Nominate the actor, a member, as a candidate in their own constituency's ``contest``.

    :raises NotEligible: the actor is not a current member of the institution, or belongs to
        another constituency.
    :raises InvalidTransition: nominations are not open (or no longer).
    :raises Conflict: the actor has already been nominated in this contest (a withdrawn
        nomination counts: a withdrawal is final).
    :raises NominationRefused: a detail breaks a rule (``field`` says which).
    """
    today = today or london_today()
    if not isinstance(actor, User):
        raise NotEligible("Only a member signed in as themselves can stand as a candidate.")
    election = lock_election(contest.election, shared=True)
    institution = election.institution
    membership = member_of(election, actor)
    if membership is None:
        raise NotEligible(
            f"You are not a current member of {institution.name} with the address "
            f"{actor.email}, so you cannot stand in its elections."
        )
    if membership.constituency_id != contest.constituency_id:
        raise NotEligible(
            f"You are a member in the {membership.constituency.name} constituency, so you can "
            f"stand only in its contest, not in {contest.constituency.name}."
        )
    _check_nominations_open(election, today)
    existing = get_nomination(contest, membership.person_id)
    if existing is not None:
        _refuse_second(existing)
    ballot_name = " ".join(ballot_name.split())
    statement, interests = _clean(statement), _clean(interests)
    _check_details(ballot_name, statement, declares_eligible, interests)
    candidate = Candidate(
        contest_id=contest.id,
        person_id=membership.person_id,
        ballot_name=ballot_name,
        statement=statement,
        declares_eligible=True,
        interests=interests,
        status=CandidateStatus.nominated,
    )
    try:
        with db.session.begin_nested():
            db.session.add(candidate)
    except IntegrityError:
        # Another request for the same person got there first (the check above was before it).
        raise Conflict(
            f"You have already been nominated in {contest.constituency.name}: see your "
            "nomination on the election's page."
        ) from None
    record_event(
        actor,
        "candidate.nominated",
        institution=institution,
        subject=candidate,
        data={
            "election_id": election.id,
            "contest_id": contest.id,
            "constituency": contest.constituency.key,
            "person_id": membership.person_id,
            "ballot_name": ballot_name,
            "statement_words": count_words(statement),
        },
    )
    return candidate


def _refuse_second(existing: Candidate) -> None:
    if existing.status == CandidateStatus.withdrawn:
        raise Conflict(
            f"You withdrew your nomination on {long_date(_date_of(existing.withdrawn_at))}. "
            "A withdrawal is final: you cannot stand again in this election."
        )
    raise Conflict(
        "You have already been nominated in this election: one nomination per person. See "
        "it, or withdraw it, on the election's page."
    )


def _date_of(moment: datetime | None) -> date | None:
    """The Europe/London date of a stored moment."""
    return moment.astimezone(LONDON).date() if moment is not None else None


def decide_nomination(
    actor: Actor,
    candidate: Candidate,
    *,
    valid: bool,
    reason: str = "",
    today: date | None = None,
) -> bool:
    """The returning officer marks a nomination valid, or invalid with a reason; the
    candidate is told by a notice. Return whether anything changed (the same decision again
    changes nothing and sends nothing).

    :raises NotEligible: the actor is not the election's returning officer.
    :raises InvalidTransition: the poll has opened (or nominations have not), or the
        candidate has withdrawn.
    :raises NominationRefused: an invalid nomination needs a reason (``field`` "reason").
    """
    today = today or london_today()
    election = lock_election(candidate.contest.election, shared=True)
    if not election.is_returning_officer(actor):
        raise NotEligible("Only the election's returning officer can decide nominations.")
    if not can_decide_now(election, today):
        if election.state == _S.cancelled:
            raise InvalidTransition(f"{election.title} was cancelled.")
        if election.state in {_S.draft, _S.approved}:
            raise InvalidTransition("Nominations have not opened yet.")
        raise InvalidTransition(
            f"The poll opened on {long_date(election.poll_opens_on)}, so nominations can no "
            "longer be decided."
        )
    candidate = _lock_candidate(candidate)
    if candidate.status == CandidateStatus.withdrawn:
        raise InvalidTransition(
            f"{candidate.ballot_name} withdrew their nomination on "
            f"{long_date(_date_of(candidate.withdrawn_at))}, so there is nothing to decide."
        )
    reason = "" if valid else _clean(reason)
    if not valid and not reason:
        raise NominationRefused(
            "Say why the nomination is invalid: the candidate will read it.", "reason"
        )
    if len(reason) > MAX_REASON_CHARACTERS:
        raise NominationRefused(
            f"The reason can be at most {MAX_REASON_CHARACTERS} characters long.", "reason"
        )
    status = CandidateStatus.valid if valid else CandidateStatus.invalid
    if candidate.status == status and candidate.reason == reason:
        return False
    previous = candidate.status
    candidate.status = status
    candidate.reason = reason
    candidate.decided_at = utcnow()
    db.session.flush()
    contest = candidate.contest
    record_event(
        actor,
        "candidate.validated" if valid else "candidate.invalidated",
        institution=election.institution,
        subject=candidate,
        data={
            "election_id": election.id,
            "contest_id": contest.id,
            "ballot_name": candidate.ballot_name,
            "previous_status": previous.value,
            "reason": reason,
        },
    )
    email = candidate.person.email
    if email:
        verdict = "is valid" if valid else "is not valid"
        queue_notice(
            "nomination_decided",
            email,
            f"Your nomination in {election.title} {verdict}",
            "nomination_decided",
            institution=election.institution,
            election=election,
            contest=contest,
            candidate=candidate,
            is_valid=valid,
            page_url=external_url(
                "elections.nomination",
                slug=election.institution.slug,
                election_id=election.id,
            ),
            withdrawals_close_on=long_date(election.withdrawals_close_on),
        )
    return True


def withdraw_nomination(actor: Actor, candidate: Candidate, *, today: date | None = None) -> None:
    """The candidate withdraws their nomination, for good (see the module's docstring).

    :raises NotEligible: the actor is not the candidate.
    :raises InvalidTransition: withdrawals have closed.
    :raises Conflict: the nomination is already withdrawn.
    """
    today = today or london_today()
    election = lock_election(candidate.contest.election, shared=True)
    email = getattr(actor, "email", None)
    if not isinstance(actor, User) or not email or email.lower() != candidate.person.email:
        raise NotEligible("Only the candidate can withdraw their nomination.")
    if not can_withdraw_now(election, today):
        if election.state == _S.cancelled:
            raise InvalidTransition(f"{election.title} was cancelled.")
        raise InvalidTransition(
            f"Withdrawals closed at the end of {long_date(election.withdrawals_close_on)}, "
            "so your nomination can no longer be withdrawn."
        )
    candidate = _lock_candidate(candidate)
    if candidate.status == CandidateStatus.withdrawn:
        raise Conflict(
            f"You already withdrew this nomination on "
            f"{long_date(_date_of(candidate.withdrawn_at))}."
        )
    previous = candidate.status
    candidate.status = CandidateStatus.withdrawn
    candidate.withdrawn_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "candidate.withdrawn",
        institution=election.institution,
        subject=candidate,
        data={
            "election_id": election.id,
            "contest_id": candidate.contest_id,
            "ballot_name": candidate.ballot_name,
            "previous_status": previous.value,
        },
    )
