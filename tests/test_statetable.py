"""The state-table machinery both state machines share (``assembly.statetable``), proved on
each: the board election's table (``elections.states``) and the assembly's
(``assemblies.states``) allow exactly their agreed moves and refuse the rest alike."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType

import pytest

from assembly.assemblies import states as assembly_states
from assembly.elections import states as election_states

A = assembly_states.AssemblyState
E = election_states.ElectionState


@dataclass(frozen=True)
class Machine:
    """One state machine, and the moves its design allows, written out by hand rather than
    read from the table."""

    name: str
    states: ModuleType
    enum: type[StrEnum]
    allowed: frozenset[tuple[StrEnum, StrEnum]]
    #: What the machine's messages call the thing in the state.
    noun: str


ASSEMBLY = Machine(
    "assembly",
    assembly_states,
    A,
    frozenset(
        {
            (A.scheduled, A.noticed),
            (A.noticed, A.in_session),
            (A.in_session, A.declared),
            (A.scheduled, A.cancelled),
            (A.noticed, A.cancelled),
            (A.in_session, A.cancelled),
        }
    ),
    "assembly",
)
ELECTION = Machine(
    "election",
    election_states,
    E,
    frozenset(
        {
            (E.draft, E.approved),
            (E.approved, E.draft),
            (E.approved, E.nominations_open),
            (E.nominations_open, E.nominations_closed),
            (E.nominations_closed, E.poll_open),
            (E.nominations_closed, E.declared),
            (E.poll_open, E.poll_closed),
            (E.poll_closed, E.counted),
            (E.counted, E.declared),
        }
        | {
            (state, E.cancelled)
            for state in (
                E.draft,
                E.approved,
                E.nominations_open,
                E.nominations_closed,
                E.poll_open,
                E.poll_closed,
                E.counted,
            )
        }
    ),
    "election",
)
MACHINES = [ASSEMBLY, ELECTION]
MOVES = [
    (machine, source, target)
    for machine in MACHINES
    for source, target in itertools.product(machine.enum, repeat=2)
]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda machine: machine.name)
def test_the_table_holds_exactly_the_agreed_transitions(machine: Machine) -> None:
    """TRANSITIONS lists every state and allows exactly the moves of the design."""
    transitions = machine.states.TRANSITIONS
    assert set(transitions) == set(machine.enum)
    assert {(a, b) for a, targets in transitions.items() for b in targets} == machine.allowed


@pytest.mark.parametrize(
    ("machine", "source", "target"),
    MOVES,
    ids=[f"{machine.name}-{source}-{target}" for machine, source, target in MOVES],
)
def test_each_move_is_allowed_or_refused_as_the_table_says(
    machine: Machine, source: StrEnum, target: StrEnum
) -> None:
    """can_transition and check_transition allow the moves in the table and refuse all
    others with the machine's TransitionError (a ValueError) naming both states."""
    states = machine.states
    allowed = (source, target) in machine.allowed
    assert states.can_transition(source, target) is allowed
    if allowed:
        states.check_transition(source, target)
    else:
        with pytest.raises(states.TransitionError) as caught:
            states.check_transition(source, target)
        assert isinstance(caught.value, ValueError)
        assert (caught.value.source, caught.value.target) == (source, target)
        assert f'"{source.label}"' in str(caught.value)


@pytest.mark.parametrize(
    ("machine", "still"),
    [(ASSEMBLY, A.in_session), (ELECTION, E.poll_open)],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_a_final_or_unchanged_state_has_its_own_message(machine: Machine, still: StrEnum) -> None:
    """A declared one cannot change any more; moving to the same state says it is already
    there."""
    states, noun = machine.states, machine.noun
    declared = machine.enum("declared")
    with pytest.raises(states.TransitionError) as caught:
        states.check_transition(declared, machine.enum("cancelled"))
    assert str(caught.value) == (f'The {noun} is "{declared.label}", so it cannot change any more.')
    with pytest.raises(states.TransitionError) as caught:
        states.check_transition(still, still)
    assert str(caught.value) == f'The {noun} is already "{still.label}".'


@pytest.mark.parametrize("machine", MACHINES, ids=lambda machine: machine.name)
def test_anything_not_yet_declared_can_be_cancelled(machine: Machine) -> None:
    """Every state but declared and cancelled can move to cancelled; those two are final."""
    states = machine.states
    cancelled = machine.enum("cancelled")
    assert {machine.enum("declared"), cancelled} == states.FINAL_STATES
    for state in machine.enum:
        assert states.can_transition(state, cancelled) is (state not in states.FINAL_STATES)
        assert (states.TRANSITIONS[state] == frozenset()) is (state in states.FINAL_STATES)
