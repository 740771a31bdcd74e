"""Counting a vote in the room with the same pure function the verifier recounts it with
(``assembly.records.record.count_assembly_vote``): a confirmation, IRV, or one exhaustive
round, with constituency weighting when the assembly has it on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assembly.assemblies.models import Vote, VoteKind
from assembly.assemblies.queries import vote_candidates
from assembly.extensions import db
from assembly.membership.models import Constituency
from assembly.polls import record as polls
from assembly.records.canonical import rational
from assembly.records.record import count_assembly_vote
from assembly.records.record import vote_seed as record_vote_seed

__all__ = ["ballot_items", "count_vote", "vote_seed", "weighting_of"]

METHODS = {VoteKind.confirmation: "confirmation", VoteKind.irv: "irv", VoteKind.round: "round"}


def vote_seed(vote: Vote) -> str:
    """The vote's own seed, derived from the assembly's (committed before any vote)."""
    return record_vote_seed(vote.assembly.seed, vote.id)


def weighting_of(vote: Vote) -> dict[str, Any] | None:
    """The record's ``weighting`` of the vote: every constituency of the institution with its
    weight, or None when the assembly counts one member, one vote."""
    assembly = vote.assembly
    if not assembly.weighting:
        return None
    constituencies = db.session.scalars(
        select(Constituency)
        .where(Constituency.institution_id == assembly.institution_id)
        .order_by(Constituency.precedence, Constituency.id)
    )
    return {
        "constituencies": [
            {"key": c.key, "name": c.name, "weight": rational(c.weight)} for c in constituencies
        ]
    }


def ballot_items(vote: Vote) -> list[dict[str, Any]]:
    """The vote's ballots as the record lists them, sorted by tracker."""
    return polls.ballot_items(
        vote.poll_id,
        choices=vote.kind == VoteKind.confirmation,
        weighted=bool(vote.assembly.weighting),
    )


def count_vote(vote: Vote) -> tuple[dict[str, Any], int | None, int | None]:
    """Count the vote: (the count as the record holds it, the elected candidate's id, the
    excluded candidate's id)."""
    candidates = [(c.id, c.ballot_name) for c in _candidates(vote)]
    result, elected, excluded = count_assembly_vote(
        METHODS[vote.kind], candidates, ballot_items(vote), weighting_of(vote), vote_seed(vote)
    )
    return (
        result,
        elected[0] if elected else None,
        excluded[0] if excluded else None,
    )


def _candidates(vote: Vote) -> list[Any]:
    return vote_candidates(vote)
