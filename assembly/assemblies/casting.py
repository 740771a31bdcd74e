"""What every ballot cast at an assembly checks first, on the phone in today's mode or
encrypted (``operations.voting``, ``e2e``): the vote's share lock, that it is open, and that
the attendee may vote in it."""

from __future__ import annotations

from assembly.assemblies.models import Attendance, Vote, VoteState
from assembly.assemblies.queries import eligible_to_vote
from assembly.errors import InvalidTransition, NotEligible
from assembly.polls.locks import lock_row

__all__ = ["lock_for_casting"]


def lock_for_casting(vote: Vote, attendance: Attendance) -> Vote:
    """The vote, under its share lock, once it is open to this attendee's ballot.

    Shared: phones cast side by side, while closing the vote waits for them, and a cast
    after the close sees the vote closed (``polls.locks``).

    :raises InvalidTransition: the vote is closed.
    :raises NotEligible: the attendee is not at this assembly, or arrived after the vote
        opened where late arrivals do not vote in it.
    """
    vote = lock_row(vote, shared=True)
    if vote.state != VoteState.open:
        raise InvalidTransition("This vote is closed.")
    if attendance.assembly_id != vote.assembly_id:
        raise NotEligible("You are not checked in at this assembly.")
    if not eligible_to_vote(vote, attendance):
        raise NotEligible(
            "You checked in after this vote opened, and at this assembly late arrivals do "
            "not vote in a vote already open."
        )
    return vote
