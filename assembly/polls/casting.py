"""What casting is the same for every poll: the tracker a voter keeps, the anonymous actor
the audit log names for a cast, and the refusal of a second vote.

Secrecy (DESIGN §6): a cast writes a roll mark and a ballot that share nothing but the
transaction; the audit event names the poll and an anonymous voter, nothing else.
"""

from __future__ import annotations

import secrets

from assembly.auth.actors import SystemActor
from assembly.errors import Conflict

__all__ = [
    "ANONYMOUS_VOTER",
    "TRACKER_ALPHABET",
    "AlreadyVoted",
    "new_tracker",
]

#: Tracker characters: upper-case letters and digits without 0/O and 1/I, which people confuse.
TRACKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
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
