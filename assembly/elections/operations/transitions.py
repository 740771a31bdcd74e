"""The election's row locked for a transition, and a transition checked against the state
table (``elections.states``)."""

from __future__ import annotations

from assembly.elections.models import (
    Election,
)
from assembly.elections.states import (
    ElectionState,
    TransitionError,
    check_transition,
)
from assembly.errors import InvalidTransition
from assembly.polls.locks import lock_row


def lock_election(election: Election, *, shared: bool = False) -> Election:
    """Reload the election with its row locked, so two transitions cannot interleave.

    :param shared: a shared lock (FOR SHARE on PostgreSQL; SQLite's write transaction is
        already exclusive): work that only reads the state, such as casting, nominating or
        entering paper, runs side by side, while a transition waits for it and it sees the
        state left (``polls.locks``).
    """
    return lock_row(election, shared=shared)


def transition(election: Election, to: ElectionState) -> None:
    try:
        check_transition(election.state, to)
    except TransitionError as error:
        raise InvalidTransition(str(error)) from None
    election.state = to
