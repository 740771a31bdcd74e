"""The annual assembly's states and the transitions allowed between them.

::

    scheduled -> noticed -> in_session -> declared

    and any state before declared -> cancelled

- The secretary schedules the assembly (``scheduled``) and sends its notice to every member
  (``noticed``); a timer sends it on the last day that still gives the clear days' notice.
- On the day, the secretary or the returning officer opens the doors (``in_session``):
  tellers check members in and the room votes.
- The result is declared in the room (``declared``): a leader, or none; a reconvened assembly
  is a new one, scheduled afresh.
- An assembly not yet declared may be cancelled, as a board election may (queued notices of a
  cancelled assembly are not sent); no page or command cancels one yet. ``declared`` and
  ``cancelled`` are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import assembly.statetable as statetable

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "AssemblyState",
    "TransitionError",
    "can_transition",
    "check_transition",
]


class AssemblyState(StrEnum):
    #: Date, venue and agenda set; notice not sent yet.
    scheduled = "scheduled"
    #: Notice sent to every member; leader candidates apply.
    noticed = "noticed"
    #: The day: the doors are open and tellers check members in.
    in_session = "in_session"
    #: The result is declared (a leader, or none).
    declared = "declared"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {
            "scheduled": "Scheduled",
            "noticed": "Notice sent",
            "in_session": "In session",
            "declared": "Declared",
            "cancelled": "Cancelled",
        }[self.value]


_S = AssemblyState

#: Once here, an assembly never changes state again.
FINAL_STATES = frozenset({_S.declared, _S.cancelled})

_FORWARD: dict[AssemblyState, frozenset[AssemblyState]] = {
    _S.scheduled: frozenset({_S.noticed}),
    _S.noticed: frozenset({_S.in_session}),
    _S.in_session: frozenset({_S.declared}),
}

#: What the secretary (or the returning officer) does to make each move, for messages.
_STEPS = {
    _S.noticed: "send the notice",
    _S.in_session: "open the assembly on its day",
    _S.declared: "declare the result",
    _S.cancelled: "cancel the assembly",
}


class TransitionError(statetable.TransitionError[AssemblyState]):
    """An assembly was asked to move to a state it cannot reach from where it is."""


_TABLE = statetable.StateTable(
    AssemblyState,
    _FORWARD,
    final=FINAL_STATES,
    cancelled=_S.cancelled,
    noun="assembly",
    offer=lambda allowed: "from here you can only " + " or ".join(_STEPS[s] for s in allowed),
    error=TransitionError,
)

#: The states each state may move to; any state not yet final may also be cancelled.
TRANSITIONS: Mapping[AssemblyState, frozenset[AssemblyState]] = _TABLE.transitions
#: Return whether an assembly in ``source`` may move to ``target``.
can_transition = _TABLE.can_transition
#: Allow the move from ``source`` to ``target``, or raise ``TransitionError`` with a message
#: saying what can be done instead.
check_transition = _TABLE.check_transition
