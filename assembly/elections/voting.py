"""Voting online: the ballot a voter sees, their marks checked, and casting in one transaction.

Secrecy (DESIGN §6): casting writes two rows that share nothing but the transaction — a roll
mark ("this roll entry has voted", keyed by the roll entry, so the database itself refuses a
second vote) and a ballot (a random id, a random tracker, the ranking, the contest and the
date). Nothing the server keeps links the two: no column, no audit event, no log line. The
tracker reaches the voter through their own browser's session cookie only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Executable, Select, bindparam, exists, func, select
from sqlalchemy.orm import joinedload

from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import SYSTEM, Actor
from assembly.auth.models import User
from assembly.clock import long_date
from assembly.clock import today as london_today
from assembly.elections.models import (
    Candidate,
    CandidateOrder,
    CandidateStatus,
    Contest,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.nominations import valid_candidates
from assembly.elections.states import ElectionState
from assembly.errors import InvalidTransition, NotEligible, NotFound, RuleViolation
from assembly.extensions import db, identity_of
from assembly.membership.models import Constituency, Institution, Person
from assembly.polls import queries as polls
from assembly.polls.casting import ANONYMOUS_VOTER, AlreadyVoted, mark_voted, store_ballot
from assembly.polls.marks import ranking_from_marks
from assembly.polls.models import Channel, RollMark
from assembly.records.operations import current_signing_key, sign_receipt
from assembly.records.record import ballot_hash

__all__ = [
    "POLL_STARTED",
    "Receipt",
    "Turnout",
    "ballot_candidates",
    "ballot_hash",
    "cast_ballot",
    "cast_marks",
    "check_contest_open",
    "check_poll_open",
    "count_turnout",
    "get_roll_entry",
    "has_voted",
    "list_trackers",
    "rotation",
]

#: The states in which the poll has opened: from then on its trackers are public.
POLL_STARTED = frozenset(
    {
        ElectionState.poll_open,
        ElectionState.poll_closed,
        ElectionState.counted,
        ElectionState.declared,
    }
)


@dataclass(frozen=True)
class Receipt:
    """What the voter keeps: the contest, their ballot's tracker and the ballot's hash."""

    contest_id: int
    tracker: str
    ballot_hash: str
    #: The receipt signed by the election key (``records.record.make_receipt``): the voter
    #: can download it and check it against the published record.
    signed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turnout:
    """A contest's roll and how many on it have voted so far."""

    contest: Contest
    roll_size: int
    voted: int

    @property
    def percent(self) -> str:
        """Display only: one decimal place, from exact integers."""
        if not self.roll_size:
            return "–"
        tenths = (self.voted * 1000 * 2 + self.roll_size) // (self.roll_size * 2)
        return f"{tenths // 10}.{tenths % 10}%"


# --- the voter's ballot ----------------------------------------------------------------------


def _roll_entries(email: str) -> Select[RollEntry]:
    """Roll entries of the people with this address, first on the roll first."""
    return (
        select(RollEntry)
        .join(Person, Person.id == RollEntry.person_id)
        .where(Person.email == email.strip().lower())
        .order_by(RollEntry.id)
    )


def get_roll_entry(election: Election, user: User) -> RollEntry | None:
    """The roll entry of ``user`` (matched by email) in one of ``election``'s contests.

    Should two people on the roll share an address, the first entry answers; such rows are
    a roster problem for the secretary, not something a voter can choose between.
    """
    email = getattr(user, "email", None)
    if not email:
        return None
    contests = select(Contest.id).where(Contest.election_id == election.id)
    return db.session.scalars(
        _roll_entries(email)
        .where(RollEntry.contest_id.in_(contests))
        .options(joinedload(RollEntry.contest))
        .limit(1)
    ).first()


def has_voted(entry: RollEntry) -> bool:
    """Whether the roll entry has been marked as voted (on any channel)."""
    return polls.has_voted(entry.contest.poll_id, entry.person_id)


def rotation(seed: str, roll_entry_id: int, size: int) -> int:
    """How many places a voter's ballot is rotated: SHA-256 of the election's seed and the roll
    entry, so the same voter always sees the same order and nothing random is stored."""
    if size <= 1:
        return 0
    digest = hashlib.sha256(f"assembly ballot order\n{seed}\n{roll_entry_id}".encode()).digest()
    return int.from_bytes(digest, "big") % size


def ballot_candidates(election: Election, entry: RollEntry) -> list[Candidate]:
    """The valid candidates of the entry's contest in the order this voter sees them:
    alphabetical by family name then given name, or that order rotated for this voter."""
    # The same order as the statement of candidates (accents and case ignored).
    candidates = valid_candidates(entry.contest)
    if election.candidate_order == CandidateOrder.rotated:
        shift = rotation(election.seed, entry.id, len(candidates))
        candidates = candidates[shift:] + candidates[:shift]
    return candidates


class PollDates(Protocol):
    """An election's state and polling dates (an Election, or a row read while casting)."""

    @property
    def state(self) -> ElectionState: ...
    @property
    def poll_opens_on(self) -> date: ...
    @property
    def poll_closes_on(self) -> date: ...


def check_poll_open(election: PollDates, today: date) -> None:
    """Refuse unless the poll is open: the election's state, and its dates too, in case the
    timer has not run yet today.

    :raises InvalidTransition: saying when the poll opens, or that it has closed.
    """
    if election.state == ElectionState.cancelled:
        raise InvalidTransition("The election was cancelled, so there is no vote.")
    if election.state not in POLL_STARTED or (
        election.state == ElectionState.poll_open and today < election.poll_opens_on
    ):
        raise InvalidTransition(
            f"The poll opens on {long_date(election.poll_opens_on)}. Come back then to vote."
        )
    if election.state != ElectionState.poll_open or today > election.poll_closes_on:
        raise InvalidTransition(
            f"The poll closed at the end of {long_date(election.poll_closes_on)}, so no more "
            "votes can be cast."
        )


def check_contest_open(election: Election, contest: Contest, today: date) -> None:
    """Refuse unless the poll is open and this contest has one (an uncontested contest's
    candidates are elected unopposed, without a poll).

    :raises InvalidTransition: saying why there is no vote now.
    """
    check_poll_open(election, today)
    if contest.is_uncontested:
        raise InvalidTransition(_uncontested(contest.constituency.name))


def _uncontested(constituency: str) -> str:
    return f"There is no vote in {constituency}: its candidates are elected unopposed."


# --- casting ---------------------------------------------------------------------------------


def _check_ranking(paper: _Paper, valid: set[int], ranking: Sequence[int]) -> list[int]:
    ids = list(ranking)
    if not ids:
        raise RuleViolation("A ballot needs at least one choice.")
    if len(set(ids)) != len(ids):
        raise RuleViolation("A ballot names each candidate at most once.")
    if not set(ids) <= valid:
        raise RuleViolation(
            "The ballot names someone who is not a valid candidate in this contest."
        )
    if paper.method == CountMethod.plurality:
        if len(ids) > paper.seats:
            raise RuleViolation(f"A ballot in this contest chooses at most {paper.seats}.")
        # Stored in id order, not the order shown: with rotated ballots the shown order
        # depends on the roll entry, and the ballot must carry nothing derived from it.
        ids.sort()
    return ids


@dataclass(frozen=True)
class _Paper:
    """A voter's ballot paper as casting reads it, with the election's row share-locked."""

    state: ElectionState
    poll_opens_on: date
    poll_closes_on: date
    institution_id: int
    contest_id: int
    poll_id: int
    method: CountMethod
    seats: int
    is_uncontested: bool
    constituency: str
    person_id: int
    institution: str
    election_id: int
    signing_key_id: int | None


@dataclass(frozen=True)
class _Choice:
    id: int
    ballot_name: str


# Casting's statements, built once: each cast runs them with its own parameters while it holds
# the write lock (on SQLite every cast queues for it), so they are Core statements on ids.
# FOR SHARE (PostgreSQL; SQLite's write transaction is exclusive already) lets casts run side
# by side, while closing the poll, which locks the election's row for update, waits for them,
# and they see it closed afterwards.
_PAPER = (
    select(
        Election.state,
        Election.poll_opens_on,
        Election.poll_closes_on,
        Election.institution_id,
        Contest.id,
        Contest.poll_id,
        Contest.method,
        Contest.seats,
        Contest.is_uncontested,
        Constituency.name,
        RollEntry.person_id,
        Institution.slug,
        Election.id,
        Election.signing_key_id,
    )
    .select_from(RollEntry)
    # "+ 0" keeps SQLite, which has no statistics to know better, from walking the contest's
    # whole roll: it finds the voter's entries from the user (users → people by email →
    # roll_entries by person), a few rows whatever the size of the roll.
    .join(Contest, Contest.id == RollEntry.contest_id + 0)
    .join(Election, Election.id == Contest.election_id)
    .join(Constituency, Constituency.id == Contest.constituency_id)
    .join(Person, Person.id == RollEntry.person_id)
    .join(User, User.email == Person.email)
    .join(Institution, Institution.id == Election.institution_id)
    # The account is checked here, not before: the web's cast does not read it first
    # (``account_checked_by_view``).
    .where(
        Election.id == bindparam("election_id"),
        User.id == bindparam("user_id"),
        User.is_disabled.is_(False),
    )
    .order_by(RollEntry.id)
    .limit(1)
    .with_for_update(read=True, of=Election)
)
_PAPER_IN_CONTEST = _PAPER.where(Contest.id == bindparam("contest_id"))
_PAPER_AT = _PAPER.where(Institution.slug == bindparam("slug"))
_ELECTION = select(
    Election.state, Election.poll_opens_on, Election.poll_closes_on, Election.title
).where(Election.id == bindparam("election_id"))
_CANDIDATES = select(Candidate.id, Candidate.ballot_name).where(
    Candidate.contest_id == bindparam("contest_id"), Candidate.status == CandidateStatus.valid
)


def _read_paper(
    statement: Executable, params: dict[str, object], day: date, contest_id: int | None = None
) -> _Paper:
    """The voter's paper; or why there is none for them: the poll is not open, the contest is
    not the election's, or they are not on its roll (in that order, as the pages say it)."""
    # On the connection: a Core statement through the session costs the ORM's row handling.
    row = db.session.connection().execute(statement, params).one_or_none()
    if row is not None:
        paper = _Paper(*row)
        check_poll_open(paper, day)
        if paper.is_uncontested:
            raise InvalidTransition(_uncontested(paper.constituency))
        return paper
    election = db.session.execute(_ELECTION, params).one_or_none()
    if election is None:
        raise NotFound("There is no such election.")
    if db.session.scalar(select(User.is_disabled).where(User.id == params["user_id"])):
        raise NotEligible("This sign-in account is disabled, so it cannot vote.")
    check_poll_open(election, day)
    if contest_id is not None and not db.session.scalar(
        select(
            exists().where(Contest.id == contest_id, Contest.election_id == params["election_id"])
        )
    ):
        raise RuleViolation("That contest is not part of this election.")
    raise NotEligible(f"You are not on the roll for {election.title}.")


def _store(paper: _Paper, ids: list[int], day: date) -> Receipt:
    """Mark the roll entry as voted and store the ballot; refuse a second vote."""
    # The roll mark's primary key is the poll and the person: a second mark, from another
    # browser a moment ago or from a paper batch, is not written, and that is the answer.
    if not mark_voted(paper.poll_id, paper.person_id, Channel.online):
        raise AlreadyVoted("You have already voted in this election.")
    tracker = store_ballot(paper.poll_id, ranking=ids, channel=Channel.online, day=day)
    # The event names the contest only, and an anonymous actor: it tells the log that a ballot
    # was cast in this contest at this moment, and nothing about whose or which. Ballots have
    # random ids and only a date, so the log's order and times cannot be matched to them. (The
    # order in which the database stored rows is visible to its administrator only, like the
    # web server's log of requests; this event adds nothing to what those already show.)
    record_event(
        ANONYMOUS_VOTER,
        "ballot.cast",
        institution=paper.institution_id,
        subject=Ref("contest", paper.contest_id),
    )
    digest = ballot_hash(paper.contest_id, tracker, ids)
    receipt = {
        "institution": paper.institution,
        "election": paper.election_id,
        "contest": paper.contest_id,
        "tracker": tracker,
        "ballot_hash": digest,
        "cast_on": day.isoformat(),
    }
    key_id = paper.signing_key_id or current_signing_key(SYSTEM).id
    return Receipt(
        contest_id=paper.contest_id,
        tracker=tracker,
        ballot_hash=digest,
        signed=sign_receipt(key_id, receipt),
    )


def _voter(actor: Actor) -> int:
    if not isinstance(actor, User):
        raise NotEligible("Only a member signed in as themselves can vote online.")
    return int(identity_of(actor))


def cast_ballot(
    actor: Actor,
    election: Election,
    contest: Contest,
    ranking: Sequence[int],
    *,
    today: date | None = None,
) -> Receipt:
    """Cast the actor's vote in ``contest``: mark their roll entry as voted and store an
    anonymous ballot, together. Call it in a transaction begun with ``begin_writing()``.

    Everything is checked here, inside the writing transaction, whatever the caller read
    before; the election and contest are taken by their ids (they may be expired by
    ``begin_writing()``'s rollback, and are not loaded again).

    :param ranking: candidate ids, first preference first (plurality: the chosen ones).
    :raises NotEligible: the actor is not on this contest's roll.
    :raises InvalidTransition: the poll is not open.
    :raises RuleViolation: the ranking names someone who is not a valid candidate here.
    :raises AlreadyVoted: the actor's roll entry has voted, even a moment ago elsewhere.
    """
    day = today or london_today()
    params = {
        "election_id": identity_of(election),
        "contest_id": identity_of(contest),
        "user_id": _voter(actor),
    }
    paper = _read_paper(_PAPER_IN_CONTEST, params, day, params["contest_id"])
    valid = set(db.session.scalars(_CANDIDATES, {"contest_id": paper.contest_id}))
    return _store(paper, _check_ranking(paper, valid, ranking), day)


def cast_marks(
    actor: Actor,
    slug: str,
    election_id: int,
    marks: tuple[Sequence[tuple[str, str]], Sequence[str]],
    *,
    today: date | None = None,
) -> Receipt:
    """Cast the ballot a voter marked on the web (``forms.ballot_marks``), in the election
    named as its page's address names it (institution's slug, election's id): read their
    ballot paper, read the marks, store the vote. Call it in a transaction begun with
    ``begin_writing()``: the web's cast reads nothing before, so that the few statements a
    vote takes are all there is and the write lock is held briefly.

    :raises NotFound: no such election at that institution.
    :raises InvalidBallot: the marks are not a vote (the message for the voter).
    :raises: as ``cast_ballot``.
    """
    day = today or london_today()
    params = {"slug": slug, "election_id": election_id, "user_id": _voter(actor)}
    paper = _read_paper(_PAPER_AT, params, day)
    found = db.session.connection().execute(_CANDIDATES, {"contest_id": paper.contest_id})
    candidates = [_Choice(*row) for row in found]
    ranking = ranking_from_marks(paper, candidates, *marks)
    return _store(paper, _check_ranking(paper, {c.id for c in candidates}, ranking), day)


# --- public and officers' views of the poll ------------------------------------------------


def list_trackers(contest: Contest) -> Select[str]:
    """The trackers of the contest's ballots so far, sorted: no contents, no times."""
    return polls.list_trackers(contest.poll_id)


def count_turnout(election: Election) -> list[Turnout]:
    """Each contest's roll size and how many on it have voted (online or on paper)."""
    roll: dict[int, int] = dict(
        db.session.execute(
            select(RollEntry.contest_id, func.count())
            .join(Contest, Contest.id == RollEntry.contest_id)
            .where(Contest.election_id == election.id)
            .group_by(RollEntry.contest_id)
        ).all()
    )
    voted: dict[int, int] = dict(
        db.session.execute(
            select(RollEntry.contest_id, func.count())
            .join(Contest, Contest.id == RollEntry.contest_id)
            .join(
                RollMark,
                (RollMark.poll_id == Contest.poll_id) & (RollMark.person_id == RollEntry.person_id),
            )
            .where(Contest.election_id == election.id)
            .group_by(RollEntry.contest_id)
        ).all()
    )
    return [
        Turnout(contest=c, roll_size=roll.get(c.id, 0), voted=voted.get(c.id, 0))
        for c in election.contests
    ]
