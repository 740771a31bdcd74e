"""The board election state machine: its states, its refusal messages, locking, and the
transitions a timer makes on the timetable's dates (the table itself, checked alongside the
assembly's, is in tests/test_statetable.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.elections.states import (
    DATED_STEPS,
    DatedStep,
    ElectionState,
    TransitionError,
    can_transition,
    check_transition,
    due_transitions,
    is_locked,
)
from assembly.elections.timetable import STEPS, Timetable, TimetableRules, suggest_timetable

S = ElectionState
ONE_DAY = timedelta(days=1)

#: Poll closes Tuesday 20 July 2027: notice 24 May, nominations 10 June, withdrawals 15 June,
#: poll opens 29 June.
JULY_2027 = suggest_timetable(date(2027, 7, 20))


def pairs(steps: list[DatedStep]) -> list[tuple[ElectionState, ElectionState]]:
    return [(step.source, step.target) for step in steps]


# --- the table ------------------------------------------------------------------------------


def test_the_states_are_nine_lower_case_values() -> None:
    """ElectionState has the nine agreed states, each valued by its lower-case name."""
    assert [state.value for state in ElectionState] == [
        "draft",
        "approved",
        "nominations_open",
        "nominations_closed",
        "poll_open",
        "poll_closed",
        "counted",
        "declared",
        "cancelled",
    ]
    assert all(state.value == state.name for state in ElectionState)
    assert S.nominations_open.label == "nominations open"


def test_a_refusal_says_which_moves_are_allowed_instead() -> None:
    """The message names the current state, the refused one and the allowed ones, in order."""
    with pytest.raises(TransitionError) as caught:
        check_transition(S.nominations_open, S.counted)
    assert str(caught.value) == (
        'The election is "nominations open", so it cannot become "counted"; it can only '
        'become "nominations closed" or "cancelled".'
    )


def test_an_uncontested_election_is_declared_when_nominations_close() -> None:
    """From nominations closed an election may skip the poll and be declared."""
    assert can_transition(S.nominations_closed, S.declared)
    assert not can_transition(S.nominations_open, S.declared)


def test_settings_are_locked_from_approval_on() -> None:
    """Only a draft's settings can be changed; an approved election must go back to draft."""
    assert not is_locked(S.draft)
    assert all(is_locked(state) for state in ElectionState if state is not S.draft)
    assert can_transition(S.approved, S.draft)
    assert not can_transition(S.nominations_open, S.draft)


# --- the timer ------------------------------------------------------------------------------


def test_the_dated_steps_are_allowed_moves_on_timetable_dates() -> None:
    """Each timed transition is in the table, is dated by a timetable field, and they come in
    timetable order, each starting where the last ended."""
    assert pairs(list(DATED_STEPS)) == [
        (S.approved, S.nominations_open),
        (S.nominations_open, S.nominations_closed),
        (S.nominations_closed, S.poll_open),
        (S.poll_open, S.poll_closed),
    ]
    assert [step.field for step in DATED_STEPS] == [
        "notice_of_election_on",
        "nominations_close_on",
        "poll_opens_on",
        "poll_closes_on",
    ]
    assert all(step.field in STEPS for step in DATED_STEPS)
    assert all(can_transition(step.source, step.target) for step in DATED_STEPS)
    assert [step.at_end_of_day for step in DATED_STEPS] == [False, True, False, True]


@pytest.mark.parametrize(
    ("state", "today", "expected"),
    [
        (S.approved, date(2027, 5, 23), []),
        (S.approved, date(2027, 5, 24), [(S.approved, S.nominations_open)]),
        (S.nominations_open, date(2027, 6, 10), []),  # nominations close at the end of the day
        (S.nominations_open, date(2027, 6, 11), [(S.nominations_open, S.nominations_closed)]),
        (S.nominations_closed, date(2027, 6, 28), []),
        (S.nominations_closed, date(2027, 6, 29), [(S.nominations_closed, S.poll_open)]),
        (S.poll_open, date(2027, 7, 20), []),  # the poll closes at the end of the day
        (S.poll_open, date(2027, 7, 21), [(S.poll_open, S.poll_closed)]),
        (S.poll_closed, date(2027, 12, 31), []),  # counting is not the timer's
    ],
)
def test_the_timer_makes_each_step_on_its_date(
    state: ElectionState, today: date, expected: list[tuple[ElectionState, ElectionState]]
) -> None:
    """Nominations open on the notice date and the poll on its opening date; nominations and
    the poll close at the end of their closing dates."""
    assert pairs(due_transitions(state, JULY_2027, today)) == expected


def test_a_late_timer_catches_up_in_order() -> None:
    """An approved election first seen after its close of poll goes through every dated step,
    in order."""
    assert pairs(due_transitions(S.approved, JULY_2027, date(2027, 7, 21))) == pairs(
        list(DATED_STEPS)
    )


@pytest.mark.parametrize(
    "state", [S.draft, S.counted, S.declared, S.cancelled], ids=lambda state: str(state)
)
def test_the_timer_never_moves_a_draft_or_a_finished_count(state: ElectionState) -> None:
    """A draft waits for approval, and counting, declaring and cancelling are done by people,
    however late it is."""
    assert due_transitions(state, JULY_2027, date(2030, 1, 1)) == []


def test_a_one_day_poll_opens_at_the_start_and_closes_at_the_end_of_its_day() -> None:
    """A poll opening and closing on one day is open on that day and closed from the next."""
    timetable = suggest_timetable(date(2027, 7, 20), TimetableRules(40, 28, 25, 0))
    assert pairs(due_transitions(S.nominations_closed, timetable, date(2027, 7, 20))) == [
        (S.nominations_closed, S.poll_open)
    ]
    assert pairs(due_transitions(S.nominations_closed, timetable, date(2027, 7, 21))) == [
        (S.nominations_closed, S.poll_open),
        (S.poll_open, S.poll_closed),
    ]


def test_a_dated_step_is_due_from_its_date() -> None:
    """due_on gives the first day a step is due: the date itself, or the day after it."""
    opening, closing = DATED_STEPS[0], DATED_STEPS[1]
    assert opening.due_on(JULY_2027) == date(2027, 5, 24)
    assert closing.due_on(JULY_2027) == date(2027, 6, 11)
    assert closing.is_due(JULY_2027, date(2027, 6, 11))
    assert not closing.is_due(JULY_2027, date(2027, 6, 10))


closes = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
rules = st.one_of(
    st.just(TimetableRules()),
    st.lists(st.integers(0, 50), min_size=4, max_size=4, unique=True).map(
        lambda numbers: TimetableRules(*sorted(numbers, reverse=True))
    ),
)


@st.composite
def election_days(draw: st.DrawFn) -> tuple[Timetable, date, date]:
    """A valid timetable and two days from a little before its notice to after its close."""
    timetable = suggest_timetable(draw(closes), draw(rules))
    first = timetable.notice_of_election_on - timedelta(days=5)
    last = timetable.poll_closes_on + timedelta(days=5)
    days = st.dates(min_value=first, max_value=last)
    earlier, later = sorted((draw(days), draw(days)))
    return timetable, earlier, later


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ElectionState), election_days())
def test_due_transitions_chain_without_skipping_and_are_idempotent(
    state: ElectionState, case: tuple[Timetable, date, date]
) -> None:
    """The due steps start at the current state, each is an allowed move starting where the
    last ended, each is due, and once they are made nothing more is due that day."""
    timetable, today, _ = case
    due = due_transitions(state, timetable, today)
    current = state
    for step in due:
        assert step.source == current
        check_transition(step.source, step.target)
        assert step.is_due(timetable, today)
        current = step.target
    assert due_transitions(current, timetable, today) == []


@settings(max_examples=300, deadline=None)
@given(election_days())
def test_a_daily_timer_and_a_late_timer_reach_the_same_state(
    case: tuple[Timetable, date, date],
) -> None:
    """Running the timer every day or only once, later, leaves the election in the same
    state, and what is due earlier is always the start of what is due later."""
    timetable, earlier, later = case
    state = S.approved
    day = earlier
    while day <= later:
        for step in due_transitions(state, timetable, day):
            state = step.target
        day += ONE_DAY
    caught_up = S.approved
    for step in due_transitions(S.approved, timetable, later):
        caught_up = step.target
    assert state == caught_up
    sooner = due_transitions(S.approved, timetable, earlier)
    assert due_transitions(S.approved, timetable, later)[: len(sooner)] == sooner
