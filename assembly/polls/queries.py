"""What is read of a poll: who has voted (how many, and whether one person has), its ballots
as the record lists them, its trackers, and the paper batches still waiting."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select

from assembly.extensions import db
from assembly.polls.models import Ballot, BatchStatus, Channel, PaperBatch, RollMark

__all__ = [
    "StoredBallot",
    "ballots_of",
    "has_voted",
    "list_trackers",
    "rankings_of",
    "turnout",
    "waiting_batches",
]


@dataclass(frozen=True)
class StoredBallot:
    """One ballot as the record lists it."""

    tracker: str
    constituency: str
    ranking: list[int]
    choice: str
    channel: Channel


def has_voted(poll_id: int, person_id: int) -> bool:
    """Whether the person is marked as having voted in the poll (on any channel)."""
    return bool(
        db.session.scalar(
            select(exists().where(RollMark.poll_id == poll_id, RollMark.person_id == person_id))
        )
    )


def turnout(poll_id: int) -> int:
    """How many are marked as having voted in the poll (online or on paper)."""
    query = select(func.count()).select_from(RollMark).where(RollMark.poll_id == poll_id)
    return int(db.session.scalar(query) or 0)


def ballots_of(poll_id: int) -> list[StoredBallot]:
    """The poll's ballots, sorted by tracker: by code point, here, since a database's
    collation might order the dashes differently."""
    rows = db.session.execute(
        select(
            Ballot.tracker, Ballot.constituency, Ballot.ranking, Ballot.choice, Ballot.channel
        ).where(Ballot.poll_id == poll_id)
    ).all()
    return sorted(
        (
            StoredBallot(tracker, constituency, json.loads(ranking), choice, Channel(channel))
            for tracker, constituency, ranking, choice, channel in rows
        ),
        key=lambda ballot: ballot.tracker,
    )


def rankings_of(poll_id: int) -> list[list[int]]:
    """The poll's rankings, in no particular order: what a count reads."""
    return [
        json.loads(ranking)
        for (ranking,) in db.session.execute(
            select(Ballot.ranking).where(Ballot.poll_id == poll_id)
        )
    ]


def list_trackers(poll_id: int) -> Select[str]:
    """The trackers of the poll's ballots so far, sorted: no contents, no times."""
    return select(Ballot.tracker).where(Ballot.poll_id == poll_id).order_by(Ballot.tracker)


def waiting_batches(poll_ids: Collection[int]) -> int:
    """Paper batches of these polls waiting for their second entry."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(PaperBatch)
            .where(
                PaperBatch.poll_id.in_(list(poll_ids)),
                PaperBatch.status == BatchStatus.first_entered,
            )
        )
        or 0
    )
