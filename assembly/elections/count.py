"""Counting a closed poll with the counting core, and declaring the result.

Each contested contest's ballots are read into a profile (candidates in ballot order:
alphabetical by family name, with ids ``c<candidate id>``) and counted by its method — STV
(Scottish rules) or first past the post — with lots drawn from the election's seed, fixed
when the election was approved. The count's whole result (every stage, every lot) is kept as
canonical JSON, one row per contest (a database constraint), so the result page, the BLT
download and the published record all show the same thing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.counting import Candidate as CountCandidate
from assembly.counting import Profile, build_profile, count_by_rules, count_plurality
from assembly.counting.canonical import canonical_bytes
from assembly.elections.e2e import open_contests
from assembly.elections.models import (
    Candidate,
    Contest,
    ContestResult,
    CountMethod,
    Election,
)
from assembly.elections.nominations import valid_candidates
from assembly.elections.operations import lock_election, members_to_notify
from assembly.elections.record import get_record, issue_record
from assembly.elections.states import ElectionState
from assembly.errors import InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.notices.operations import queue_bulk_notices
from assembly.polls.queries import rankings_of, turnout, waiting_batches
from assembly.records.record import contest_seed, election_seed_sha256

__all__ = [
    "ContestCount",
    "ballot_candidates",
    "contest_profile",
    "count_election",
    "declare_election",
    "read_result",
    "seed_commitment",
]


def ballot_candidates(contest: Contest) -> list[Candidate]:
    """The contest's valid candidates in ballot order (alphabetical by family name): the
    order of the count, the BLT file and the record, whatever order a voter saw."""
    return valid_candidates(contest)


def contest_profile(contest: Contest) -> Profile:
    """The contest's ballots as a counting profile (rankings aggregated; order forgotten)."""
    candidates = ballot_candidates(contest)
    index = {c.id: position for position, c in enumerate(candidates)}
    rankings: Counter[tuple[int, ...]] = Counter()
    for ranking in _stored_rankings(contest):
        rankings[tuple(index[candidate_id] for candidate_id in ranking)] += 1
    weights: dict[tuple[int, ...], int] = dict(rankings)
    return build_profile([CountCandidate(f"c{c.id}", c.ballot_name) for c in candidates], weights)


def _stored_rankings(contest: Contest) -> Iterator[list[int]]:
    """The contest's rankings: from the ballots table, or once the ballots were purged under
    the retention rule, from the signed record, which keeps every one."""
    if contest.election.ballots_purged_at is None:
        yield from rankings_of(contest.poll_id)
        return
    row = get_record(contest.election)
    if row is None:
        return
    body = json.loads(row.document)["body"]
    for recorded in body["contests"]:
        if recorded["id"] == contest.id:
            for item in recorded["ballots"]["items"]:
                yield item["ranking"]


def seed_commitment(election: Election) -> str:
    """SHA-256 of the election's seed, which is fixed when the set-up is approved: shown on
    the election's page and printed on the notices before the poll opens, and carried in the
    record beside the seed, so that nobody can choose the seed once the votes are known."""
    return election_seed_sha256(election.seed)


def _check_officer(actor: Actor, election: Election, what: str) -> None:
    if not election.is_returning_officer(actor):
        raise NotEligible(f"Only the election's returning officer can {what}.")


def count_election(actor: Actor, election: Election) -> dict[str, list[str]]:
    """Count every contested contest of a closed poll; return the elected names per
    constituency key.

    :raises NotEligible: the actor is not the election's returning officer.
    :raises InvalidTransition: the poll is not closed, or a paper batch awaits its second entry.
    """
    _check_officer(actor, election, "count the votes")
    election = lock_election(election)
    if election.state != ElectionState.poll_closed:
        raise InvalidTransition("The votes are counted once the poll has closed.")
    waiting = waiting_batches([contest.poll_id for contest in election.contests])
    if waiting:
        raise InvalidTransition(
            f"{waiting} paper batch(es) wait for their second entry: finish or reject them first."
        )
    # An end-to-end poll's opened rankings become ballots, counted with the others.
    opened = open_contests(election)
    elected: dict[str, list[str]] = {}
    summary: dict[str, dict[str, Any]] = {}
    for contest in election.contests:
        if contest.is_uncontested:
            continue
        profile = contest_profile(contest)
        seed = contest_seed(election.seed, contest.id)
        if contest.method == CountMethod.stv:
            result = count_by_rules(profile, contest.seats, contest.rules, seed=seed)
        else:
            result = count_plurality(profile, contest.seats, seed=seed)
        ballots = int(result.valid) + int(result.blank)
        db.session.add(
            ContestResult(
                contest_id=contest.id,
                result=canonical_bytes(result.to_dict()).decode(),
                elected=json.dumps([int(c[1:]) for c in result.elected]),
                ballots_counted=ballots,
                voted=_voted(contest),
            )
        )
        elected[contest.constituency.key] = result.elected_names
        summary[contest.constituency.key] = {
            "ballots": ballots,
            "elected": list(result.elected),
            "result_sha256": hashlib.sha256(result.to_json()).hexdigest(),
            **({"opened": opened[contest.id]} if contest.id in opened else {}),
        }
    election.state = ElectionState.counted
    db.session.flush()
    record_event(
        actor,
        "election.counted",
        institution=election.institution,
        subject=election,
        data={"contests": summary},
    )
    issue_record(actor, election)
    return elected


def declare_election(actor: Actor, election: Election) -> int:
    """The returning officer declares the counted result; the declaration goes to every
    member. Return how many notices were queued.

    :raises NotEligible: the actor is not the election's returning officer.
    :raises InvalidTransition: the election has not been counted.
    """
    _check_officer(actor, election, "declare the result")
    election = lock_election(election)
    if election.state != ElectionState.counted:
        raise InvalidTransition("A result is declared once the votes are counted.")
    record = get_record(election)
    if record is None or not record.officer_signature:
        raise InvalidTransition(
            "The record must be countersigned before the result is declared: download it from "
            "the record page, sign it with `assembly record sign`, and upload the signature."
        )
    election.state = ElectionState.declared
    election.declared_at = utcnow()
    db.session.flush()
    queued = queue_bulk_notices(
        "declaration_of_result",
        "declaration_of_result",
        (
            (election.institution_id, email, {"election_id": election.id, "membership_id": mid})
            for mid, email in members_to_notify(election)
        ),
    )
    record_event(
        actor,
        "election.declared",
        institution=election.institution,
        subject=election,
        data={"notices": queued},
    )
    return queued


@dataclass(frozen=True)
class ContestCount:
    """A contest's stored result, ready for a page: names, stages, turnout."""

    contest: Contest
    result: dict[str, Any]
    elected: list[str]
    roll: int
    ballots: int
    voted: int

    @property
    def scale(self) -> int:
        return int(self.result.get("scale", 1))

    def show(self, value: int | str | None) -> str:
        """A vote value as people read it: 5 decimal places under STV, whole otherwise."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value  # an exact fraction, "n/d"
        if self.scale == 1:
            return f"{value:,}"
        whole, part = divmod(value, self.scale)
        return f"{whole:,}.{part:0{len(str(self.scale)) - 1}d}"


def _voted(contest: Contest) -> int:
    """How many on the contest's roll are marked as having voted (online, or on paper)."""
    return turnout(contest.poll_id)


def _contest_count(contest: Contest, row: ContestResult) -> ContestCount:
    names = {c.id: c.ballot_name for c in contest.candidates}
    return ContestCount(
        contest=contest,
        result=json.loads(row.result),
        elected=[names[i] for i in json.loads(row.elected)],
        roll=contest.roll_size,
        ballots=row.ballots_counted,
        voted=row.voted,
    )


def read_result(contest: Contest) -> ContestCount | None:
    """The contest's stored count, or None before it is counted."""
    row = db.session.get(ContestResult, contest.id)
    return None if row is None else _contest_count(contest, row)


def read_results(election: Election) -> list[tuple[Contest, ContestCount | None]]:
    """Every contest of the election with its stored count (None if not counted), in two
    statements whatever the number of contests: their results, then their candidates."""
    contests = db.session.scalars(
        select(Contest)
        .where(Contest.election_id == election.id)
        .options(selectinload(Contest.candidates), joinedload(Contest.constituency))
        .order_by(Contest.id)
    ).all()
    rows = {
        row.contest_id: row
        for row in db.session.scalars(
            select(ContestResult).where(ContestResult.contest_id.in_([c.id for c in contests]))
        )
    }
    return [
        (contest, _contest_count(contest, rows[contest.id]) if contest.id in rows else None)
        for contest in contests
    ]
