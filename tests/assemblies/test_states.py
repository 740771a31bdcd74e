"""The annual assembly's state machine: its states, its refusal messages, and the operations
making only the moves in the table (the table itself, checked alongside the board election's,
is in tests/test_statetable.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from assembly.assemblies.models import Assembly
from assembly.assemblies.operations import declare_assembly
from assembly.assemblies.operations.transitions import transition
from assembly.assemblies.states import (
    FINAL_STATES,
    TRANSITIONS,
    AssemblyState,
    TransitionError,
    can_transition,
    check_transition,
)
from assembly.errors import InvalidTransition
from assembly.extensions import db
from tests.assemblies.helpers import HELD_ON, make_room

S = AssemblyState

# --- the table ------------------------------------------------------------------------------


def test_the_states_are_five_lower_case_values() -> None:
    """AssemblyState has the five stored states, each valued by its lower-case name, and a
    label for pages."""
    assert [state.value for state in AssemblyState] == [
        "scheduled",
        "noticed",
        "in_session",
        "declared",
        "cancelled",
    ]
    assert all(state.value == state.name for state in AssemblyState)
    assert [state.label for state in AssemblyState] == [
        "Scheduled",
        "Notice sent",
        "In session",
        "Declared",
        "Cancelled",
    ]


def test_a_refusal_says_what_can_be_done_instead() -> None:
    """The message names the current state, the refused one and the steps that can be taken
    from here, in order."""
    with pytest.raises(TransitionError) as caught:
        check_transition(S.scheduled, S.in_session)
    assert str(caught.value) == (
        'The assembly is "Scheduled", so it cannot become "In session"; from here you can '
        "only send the notice or cancel the assembly."
    )
    with pytest.raises(TransitionError) as caught:
        check_transition(S.noticed, S.declared)
    assert str(caught.value) == (
        'The assembly is "Notice sent", so it cannot become "Declared"; from here you can '
        "only open the assembly on its day or cancel the assembly."
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(AssemblyState), max_size=12))
def test_an_assembly_only_moves_forward_and_stops_at_a_final_state(
    wanted: list[AssemblyState],
) -> None:
    """Whatever moves are asked for, the ones the table allows never return an assembly to a
    state it has left, and no more than three of them take it from scheduled to a final
    state."""
    state = S.scheduled
    seen = [state]
    for target in wanted:
        if can_transition(state, target):
            state = target
            assert state not in seen
            seen.append(state)
        else:
            with pytest.raises(TransitionError):
                check_transition(state, target)
    assert len(seen) <= 4
    assert (state in FINAL_STATES) is (TRANSITIONS[state] == frozenset())


# --- the operations -------------------------------------------------------------------------


def test_the_operations_make_only_the_moves_in_the_table(app: Flask) -> None:
    """From scheduling to the declaration (the notice, opening on the day, declaring) the
    operations move an assembly scheduled -> noticed -> in_session -> declared, each a move
    the table allows."""
    moves: list[tuple[Any, Any]] = []

    def record(target: Assembly, value: Any, old: Any, initiator: Any) -> None:
        moves.append((old, value))

    event.listen(Assembly.state, "set", record, active_history=True)
    try:
        room = make_room("states-school", standing=0)
        declare_assembly(room.secretary, room.assembly, HELD_ON)
        db.session.commit()
    finally:
        event.remove(Assembly.state, "set", record)
    assert moves == [
        (S.scheduled, S.noticed),
        (S.noticed, S.in_session),
        (S.in_session, S.declared),
    ]
    assert all(can_transition(a, b) for a, b in moves)


def test_a_move_outside_the_table_is_refused_as_an_invalid_transition(app: Flask) -> None:
    """The operations' one way to change state refuses a declared assembly any further move
    with InvalidTransition (409) and the table's message, and leaves it declared."""
    room = make_room("final-school", standing=0)
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    with pytest.raises(InvalidTransition) as caught:
        transition(room.assembly, S.cancelled)
    assert caught.value.status == 409
    assert caught.value.message == 'The assembly is "Declared", so it cannot change any more.'
    assert room.assembly.state == S.declared
