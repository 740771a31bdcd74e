"""What casting is the same for every poll: the tracker a voter keeps, the anonymous actor
the audit log names for a cast, and the refusal of a second vote.

Secrecy (DESIGN §6): a cast writes a roll mark and a ballot that share nothing but the
transaction; the audit event names the poll and an anonymous voter, nothing else.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import date

from assembly.auth.actors import SystemActor
from assembly.errors import Conflict
from assembly.extensions import db, insert_or_ignore
from assembly.polls.models import Ballot, Channel, RollMark
from assembly.records.record import TRACKER_ALPHABET

__all__ = [
    "ANONYMOUS_VOTER",
    "TRACKER_ALPHABET",
    "AlreadyVoted",
    "mark_voted",
    "new_tracker",
    "store_ballot",
]

#: Four groups of four: 80 random bits, short enough to copy down ("K7QM-2XHD-…").
TRACKER_GROUPS = 4
TRACKER_GROUP_SIZE = 4

#: Who the audit log says cast a ballot: nobody in particular.
ANONYMOUS_VOTER = SystemActor("anonymous voter")


class AlreadyVoted(Conflict):
    """This voter has voted in this poll already: online, on paper, or in another browser."""

    title = "You have already voted"


def new_tracker() -> str:
    """A fresh random tracker: four groups of four unambiguous characters."""
    characters = "".join(
        secrets.choice(TRACKER_ALPHABET) for _ in range(TRACKER_GROUPS * TRACKER_GROUP_SIZE)
    )
    return "-".join(
        characters[i : i + TRACKER_GROUP_SIZE]
        for i in range(0, TRACKER_GROUPS * TRACKER_GROUP_SIZE, TRACKER_GROUP_SIZE)
    )


def mark_voted(poll_id: int, person_id: int, channel: Channel) -> bool:
    """Write the roll mark "this person has voted in this poll"; False when it was written
    already (a vote a moment ago in another browser, or a paper), and then nothing is.

    A Core statement on the session's connection: casting runs it while it holds the write
    lock, and the ORM's unit of work would cost more than the insert.
    """
    connection = db.session.connection()
    marked = connection.execute(
        insert_or_ignore(RollMark.__table__, connection.dialect.name),
        {"poll_id": poll_id, "person_id": person_id, "channel": channel},
    )
    return bool(marked.rowcount == 1)


def store_ballot(
    poll_id: int,
    *,
    ranking: Sequence[int] = (),
    choice: str = "",
    constituency: str = "",
    channel: Channel,
    day: date,
    batch_id: int | None = None,
    tracker: str | None = None,
) -> str:
    """Store one ballot with a fresh random id and tracker (or the ``tracker`` given: an
    opened row's), and return the tracker. The voter's roll mark is the caller's, in the same
    transaction (``mark_voted``)."""
    connection = db.session.connection()
    store = insert_or_ignore(Ballot.__table__, connection.dialect.name)
    ballot = {
        "poll_id": poll_id,
        "constituency": constituency,
        "ranking": json.dumps(list(ranking), separators=(",", ":")),
        "choice": choice,
        "channel": channel,
        "cast_on": day,
        "batch_id": batch_id,
    }
    if tracker is not None:
        stored = connection.execute(
            store, {**ballot, "id": secrets.token_hex(16), "tracker": tracker}
        )
        if stored.rowcount != 1:
            raise Conflict(f"A ballot with the tracker {tracker} is stored already.")
        return tracker
    while True:
        # 80 random bits: a tracker already taken is all but impossible, and then skipped.
        fresh = new_tracker()
        stored = connection.execute(
            store, {**ballot, "id": secrets.token_hex(16), "tracker": fresh}
        )
        if stored.rowcount == 1:
            return fresh
