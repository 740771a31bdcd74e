"""A state machine's table of allowed moves and the check that refuses any other, with a
message saying what can be done instead: the machinery the board election's states
(``elections.states``) and the assembly's (``assemblies.states``) share. Each of those keeps
its own enum, forward moves and words; this module imports the standard library only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

__all__ = ["StateTable", "TransitionError"]


class _State(Protocol):
    """A state that can name itself on pages and in messages."""

    @property
    def label(self) -> str: ...


S = TypeVar("S", bound=_State)


class TransitionError(ValueError, Generic[S]):
    """A move to a state that cannot be reached from where it is; each state machine raises
    its own subclass."""

    def __init__(self, source: S, target: S, message: str) -> None:
        self.source = source
        self.target = target
        super().__init__(message)


class StateTable(Generic[S]):
    """The moves allowed between the states of one machine: each state's forward moves, and
    from any state not yet final, the cancelled state.

    :param states: every state, in the order messages list them.
    :param forward: each state that is not final → the states it moves on to.
    :param noun: what is in the state, for messages: "election".
    :param offer: the allowed moves from here (never none) → the end of a refusal,
        "it can only become …".
    :param error: the machine's ``TransitionError`` subclass, raised on a refusal.
    """

    def __init__(
        self,
        states: Iterable[S],
        forward: Mapping[S, frozenset[S]],
        *,
        final: frozenset[S],
        cancelled: S,
        noun: str,
        offer: Callable[[list[S]], str],
        error: type[TransitionError[S]],
    ) -> None:
        self._order = list(states)
        self._noun = noun
        self._offer = offer
        self._error = error
        #: The states each state may move to; any state not yet final may also be cancelled.
        self.transitions: Mapping[S, frozenset[S]] = MappingProxyType(
            {
                state: (frozenset() if state in final else forward[state] | frozenset({cancelled}))
                for state in self._order
            }
        )

    def can_transition(self, source: S, target: S) -> bool:
        """Return whether something in ``source`` may move to ``target``."""
        return target in self.transitions[source]

    def check_transition(self, source: S, target: S) -> None:
        """Allow the move from ``source`` to ``target``, or refuse it.

        :raises TransitionError: the machine's own, with a message saying what can be done
            instead.
        """
        if not self.can_transition(source, target):
            raise self._error(source, target, self._refusal(source, target))

    def _refusal(self, source: S, target: S) -> str:
        allowed = sorted(self.transitions[source], key=self._order.index)
        if source == target:
            return f'The {self._noun} is already "{source.label}".'
        if not allowed:
            return f'The {self._noun} is "{source.label}", so it cannot change any more.'
        return (
            f'The {self._noun} is "{source.label}", so it cannot become "{target.label}"; '
            f"{self._offer(allowed)}."
        )
