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
from types import MappingProxyType

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

#: The states each state may move to; any state not yet final may also be cancelled.
TRANSITIONS: Mapping[AssemblyState, frozenset[AssemblyState]] = MappingProxyType(
    {
        state: (
            frozenset()
            if state in FINAL_STATES
            else _FORWARD[state] | frozenset({AssemblyState.cancelled})
        )
        for state in AssemblyState
    }
)

#: What the secretary (or the returning officer) does to make each move, for messages.
_STEPS = {
    _S.noticed: "send the notice",
    _S.in_session: "open the assembly on its day",
    _S.declared: "declare the result",
    _S.cancelled: "cancel the assembly",
}


class TransitionError(ValueError):
    """An assembly was asked to move to a state it cannot reach from where it is."""

    def __init__(self, source: AssemblyState, target: AssemblyState) -> None:
        self.source = source
        self.target = target
        allowed = sorted(TRANSITIONS[source], key=list(AssemblyState).index)
        if source == target:
            message = f'The assembly is already "{source.label}".'
        elif not allowed:
            message = f'The assembly is "{source.label}", so it cannot change any more.'
        else:
            choices = " or ".join(_STEPS[state] for state in allowed)
            message = (
                f'The assembly is "{source.label}", so it cannot become "{target.label}"; '
                f"from here you can only {choices}."
            )
        super().__init__(message)


def can_transition(source: AssemblyState, target: AssemblyState) -> bool:
    """Return whether an assembly in ``source`` may move to ``target``."""
    return target in TRANSITIONS[source]


def check_transition(source: AssemblyState, target: AssemblyState) -> None:
    """Allow the move from ``source`` to ``target``, or refuse it.

    :raises TransitionError: with a message saying what can be done instead.
    """
    if not can_transition(source, target):
        raise TransitionError(source, target)
