"""The board election's states, the transitions allowed between them, and the ones a timer
makes on the timetable's dates.

::

    draft <-> approved -> nominations_open -> nominations_closed -> poll_open -> poll_closed
                                                     |                               |
                                                     |                            counted
                                                     |                               |
                                                     +-- (all uncontested) ----> declared

    and any state before declared -> cancelled

- The secretary drafts the election and the returning officer approves it. Approved settings
  are locked: changing them takes the election back to ``draft``, to be approved again.
- Nominations open on the notice of election date and close at the end of the close of
  nominations date; the poll opens on its opening date and closes at the end of its closing
  date (Europe/London). A timer makes these four transitions (``DATED_STEPS``,
  ``due_transitions``); the people make the others.
- When every contest is uncontested, the election is declared when nominations close,
  without a poll, as the Model Election Rules 2014 provide.
- Any election not yet declared may be cancelled. ``declared`` and ``cancelled`` are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import assembly.statetable as statetable
from assembly.elections.timetable import Timetable

__all__ = [
    "DATED_STEPS",
    "FINAL_STATES",
    "TRANSITIONS",
    "DatedStep",
    "ElectionState",
    "TransitionError",
    "can_transition",
    "check_transition",
    "due_transitions",
    "is_locked",
]


class ElectionState(StrEnum):
    draft = "draft"
    approved = "approved"
    nominations_open = "nominations_open"
    nominations_closed = "nominations_closed"
    poll_open = "poll_open"
    poll_closed = "poll_closed"
    counted = "counted"
    declared = "declared"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """The state in words, for pages and messages: "nominations open"."""
        return self.value.replace("_", " ")


_S = ElectionState

#: Once here, an election never changes state again.
FINAL_STATES = frozenset({_S.declared, _S.cancelled})

_FORWARD: dict[ElectionState, frozenset[ElectionState]] = {
    _S.draft: frozenset({_S.approved}),
    # A change after approval returns the election to draft, to be approved again.
    _S.approved: frozenset({_S.draft, _S.nominations_open}),
    _S.nominations_open: frozenset({_S.nominations_closed}),
    # Declared straight away when every contest is uncontested.
    _S.nominations_closed: frozenset({_S.poll_open, _S.declared}),
    _S.poll_open: frozenset({_S.poll_closed}),
    _S.poll_closed: frozenset({_S.counted}),
    _S.counted: frozenset({_S.declared}),
}


class TransitionError(statetable.TransitionError[ElectionState]):
    """An election was asked to move to a state it cannot reach from where it is."""


_TABLE = statetable.StateTable(
    ElectionState,
    _FORWARD,
    final=FINAL_STATES,
    cancelled=_S.cancelled,
    noun="election",
    offer=lambda allowed: "it can only become " + " or ".join(f'"{s.label}"' for s in allowed),
    error=TransitionError,
)

#: The states each state may move to; any state not yet final may also be cancelled.
TRANSITIONS: Mapping[ElectionState, frozenset[ElectionState]] = _TABLE.transitions
#: Return whether an election in ``source`` may move to ``target``.
can_transition = _TABLE.can_transition
#: Allow the move from ``source`` to ``target``, or raise ``TransitionError`` with a message
#: saying which moves are allowed instead.
check_transition = _TABLE.check_transition


def is_locked(state: ElectionState) -> bool:
    """Return whether the election's settings are locked: from approval on, they are."""
    return state is not ElectionState.draft


@dataclass(frozen=True)
class DatedStep:
    """A transition a timer makes on a date of the timetable."""

    source: ElectionState
    target: ElectionState
    #: The ``Timetable`` field that gives the date.
    field: str
    #: True: at the end of that day (so due from the next day); False: at its start.
    at_end_of_day: bool

    def due_on(self, timetable: Timetable) -> date:
        """Return the first date on which the transition is due."""
        day: date = getattr(timetable, self.field)
        return day + timedelta(days=1) if self.at_end_of_day else day

    def is_due(self, timetable: Timetable, today: date) -> bool:
        """Return whether the transition is due on ``today`` (or was due before it)."""
        return today >= self.due_on(timetable)


#: The timer's transitions, in the order they happen.
DATED_STEPS = (
    DatedStep(_S.approved, _S.nominations_open, "notice_of_election_on", at_end_of_day=False),
    DatedStep(
        _S.nominations_open, _S.nominations_closed, "nominations_close_on", at_end_of_day=True
    ),
    DatedStep(_S.nominations_closed, _S.poll_open, "poll_opens_on", at_end_of_day=False),
    DatedStep(_S.poll_open, _S.poll_closed, "poll_closes_on", at_end_of_day=True),
)


def due_transitions(state: ElectionState, timetable: Timetable, today: date) -> list[DatedStep]:
    """Return the transitions a timer should make now, in order, from ``state`` on ``today``
    (Europe/London); an empty list when none is due.

    Each step starts where the one before it ends, so after making them all, calling again
    with the new state returns nothing. If a transition may lead elsewhere (closing
    nominations may declare an uncontested election), make one step at a time and call again.
    """
    due: list[DatedStep] = []
    for step in DATED_STEPS:
        if step.source == state and step.is_due(timetable, today):
            due.append(step)
            state = step.target
    return due
