"""The election timetable: working days on the England and Wales calendar, the Model Election
Rules' minimum gaps and their messages, the order of the dates, an institution's own rules,
and suggested timetables.

Expected dates are counted by hand from the 2027 and 2028 calendars: Good Friday 26 March
and Easter Monday 29 March 2027; the spring bank holiday 31 May 2027; Christmas Day and
Boxing Day 2027 fall on a weekend, so Monday 27 and Tuesday 28 December are bank holidays,
and New Year's Day 2028 is a Saturday, so Monday 3 January 2028 is one.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.elections import states as states_module
from assembly.elections import timetable as timetable_module
from assembly.elections.timetable import (
    MODEL_ELECTION_RULES,
    STEP_LABELS,
    STEPS,
    ProblemKind,
    Timetable,
    TimetableError,
    TimetableProblem,
    TimetableRules,
    TimetableRulesError,
    check_timetable,
    is_working_day,
    non_working_reason,
    suggest_timetable,
    timetable_problems,
    working_day_before,
    working_day_on_or_before,
    working_days_between,
)

ONE_DAY = timedelta(days=1)

#: A timetable closing on Tuesday 20 July 2027 with every step on the last day the Model
#: Election Rules allow: 24 May is the 40th working day before (31 May is a bank holiday),
#: 10 June the 28th, 15 June the 25th and 29 June the 15th.
JULY_2027 = Timetable(
    notice_of_election_on=date(2027, 5, 24),
    nominations_close_on=date(2027, 6, 10),
    withdrawals_close_on=date(2027, 6, 15),
    poll_opens_on=date(2027, 6, 29),
    poll_closes_on=date(2027, 7, 20),
)


def kinds(problems: list[TimetableProblem]) -> list[tuple[str, ProblemKind]]:
    return [(problem.field, problem.kind) for problem in problems]


def next_working_day(day: date) -> date:
    day += ONE_DAY
    while not is_working_day(day):
        day += ONE_DAY
    return day


# --- working days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2027, 3, 25), True),  # Maundy Thursday is an ordinary working day
        (date(2027, 3, 26), False),  # Good Friday
        (date(2027, 3, 27), False),  # Saturday
        (date(2027, 3, 28), False),  # Easter Sunday
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2027, 3, 30), True),
        (date(2027, 5, 31), False),  # spring bank holiday
        (date(2027, 12, 24), True),  # Christmas Eve is not disregarded by the MER
        (date(2027, 12, 27), False),  # substitute for Christmas Day (a Saturday)
        (date(2027, 12, 28), False),  # substitute for Boxing Day (a Sunday)
        (date(2027, 12, 29), True),
        (date(2028, 1, 3), False),  # substitute for New Year's Day (a Saturday)
        (date(2022, 9, 19), False),  # the state funeral of Queen Elizabeth II
    ],
)
def test_weekends_and_england_bank_holidays_are_not_working_days(day: date, working: bool) -> None:
    """Weekends, bank holidays in England and Wales (with their substitute days and proclaimed
    days) are not working days; every other day is."""
    assert is_working_day(day) is working
    assert (non_working_reason(day) is None) is working


def test_a_non_working_day_is_explained_by_its_holiday_or_its_weekday() -> None:
    """The reason names the bank holiday, or the day of the week for a weekend."""
    assert non_working_reason(date(2027, 3, 26)) == "Good Friday, a bank holiday"
    assert non_working_reason(date(2027, 3, 27)) == "a Saturday"
    assert "Christmas Day" in (non_working_reason(date(2027, 12, 27)) or "")
    assert "Boxing Day" in (non_working_reason(date(2027, 12, 28)) or "")


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (date(2027, 6, 7), date(2027, 6, 7), 0),  # the same day: nothing in between
        (date(2027, 6, 7), date(2027, 6, 8), 1),  # the start day counts
        (date(2027, 6, 7), date(2027, 6, 14), 5),  # Monday to Monday
        (date(2027, 6, 11), date(2027, 6, 12), 1),  # Friday to Saturday: the Friday
        (date(2027, 6, 12), date(2027, 6, 14), 0),  # a weekend holds no working day
        (date(2027, 3, 25), date(2027, 4, 1), 3),  # over Easter: Thu 25, Tue 30, Wed 31
        (date(2027, 12, 24), date(2028, 1, 5), 5),  # 24, 29, 30, 31 Dec and 4 Jan
        (date(2027, 4, 1), date(2027, 3, 25), -3),  # backwards: the same count, negated
    ],
)
def test_working_days_count_from_the_start_up_to_but_not_including_the_end(
    start: date, end: date, count: int
) -> None:
    """working_days_between counts working days in [start, end), negated when end < start."""
    assert working_days_between(start, end) == count


dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=300, deadline=None)
@given(dates, st.integers(min_value=0, max_value=800))
def test_working_days_between_agrees_with_a_day_by_day_count(start: date, span: int) -> None:
    """The week-and-holiday arithmetic gives the same count as testing each day in turn."""
    end = start + timedelta(days=span)
    expected = sum(is_working_day(start + timedelta(days=i)) for i in range(span))
    assert working_days_between(start, end) == expected


@settings(max_examples=300, deadline=None)
@given(dates, dates, dates)
def test_working_days_between_adds_up_and_reverses(a: date, b: date, c: date) -> None:
    """Counts add over consecutive spans and change sign when the ends swap."""
    assert working_days_between(a, b) + working_days_between(b, c) == working_days_between(a, c)
    assert working_days_between(a, b) == -working_days_between(b, a)


@settings(max_examples=300, deadline=None)
@given(dates, st.integers(min_value=1, max_value=80))
def test_the_nth_working_day_before_is_exactly_n_working_days_before(day: date, n: int) -> None:
    """working_day_before(day, n) is a working day with exactly n working days from it to day,
    and the next working day after it has only n - 1."""
    found = working_day_before(day, n)
    assert is_working_day(found)
    assert working_days_between(found, day) == n
    assert working_days_between(next_working_day(found), day) == n - 1


def test_zero_working_days_before_a_day_is_the_day_and_a_negative_count_is_refused() -> None:
    """Counting back 0 working days stays on the day; counting back -1 is an error."""
    assert working_day_before(date(2027, 3, 27), 0) == date(2027, 3, 27)
    with pytest.raises(ValueError, match="-1"):
        working_day_before(date(2027, 3, 27), -1)


def test_counting_back_matches_a_published_english_statutory_timetable() -> None:
    """The count is the one English returning officers use: for the local elections of
    Thursday 2 May 2019 (Easter in between), the 25th working day before was 26 March
    (notice of election) and the 19th was 3 April (close of nominations)."""
    assert working_day_before(date(2019, 5, 2), 25) == date(2019, 3, 26)
    assert working_day_before(date(2019, 5, 2), 19) == date(2019, 4, 3)


def test_the_last_working_day_on_or_before_skips_back_over_holidays() -> None:
    """A working day is its own answer; Easter Monday 2027 goes back to Maundy Thursday."""
    assert working_day_on_or_before(date(2027, 3, 30)) == date(2027, 3, 30)
    assert working_day_on_or_before(date(2027, 3, 29)) == date(2027, 3, 25)


# --- the rules ------------------------------------------------------------------------------


def test_the_model_election_rules_are_the_defaults() -> None:
    """Without settings, the rules are MER r.2: 40, 28, 25 and 15 working days."""
    assert TimetableRules() == MODEL_ELECTION_RULES
    assert MODEL_ELECTION_RULES.as_tuple() == (40, 28, 25, 15)


def test_a_timetable_on_the_last_allowed_days_passes() -> None:
    """Every step exactly its minimum number of working days before the close is allowed."""
    assert timetable_problems(JULY_2027) == []
    assert [working_days_between(day, JULY_2027.poll_closes_on) for _, day in JULY_2027.steps()][
        :4
    ] == [40, 28, 25, 15]


@pytest.mark.parametrize(
    ("poll_opens_on", "working_days", "allowed"),
    [
        (date(2027, 3, 24), 16, True),  # N + 1
        (date(2027, 3, 25), 15, True),  # N: Maundy Thursday, the 15th working day before
        (date(2027, 3, 26), 14, False),  # Good Friday counts as the next working day
        (date(2027, 3, 29), 14, False),  # Easter Monday likewise
        (date(2027, 3, 30), 14, False),  # N - 1
    ],
)
def test_the_poll_opening_boundary_over_easter_2027(
    poll_opens_on: date, working_days: int, allowed: bool
) -> None:
    """For a poll closing on Monday 19 April 2027, the poll opens by Thursday 25 March: the
    Easter bank holidays are not counted."""
    timetable = dataclasses.replace(
        suggest_timetable(date(2027, 4, 19)), poll_opens_on=poll_opens_on
    )
    assert working_days_between(poll_opens_on, date(2027, 4, 19)) == working_days
    too_late = ("poll_opens_on", ProblemKind.too_late) in kinds(timetable_problems(timetable))
    assert too_late is not allowed


@pytest.mark.parametrize(
    ("step", "day", "working_days", "allowed"),
    [
        ("nominations_close_on", date(2027, 12, 23), 29, True),  # N + 1
        ("nominations_close_on", date(2027, 12, 24), 28, True),  # N
        ("nominations_close_on", date(2027, 12, 27), 27, False),  # bank holiday: as the 29th
        ("nominations_close_on", date(2027, 12, 28), 27, False),  # bank holiday: as the 29th
        ("nominations_close_on", date(2027, 12, 29), 27, False),  # N - 1
        ("withdrawals_close_on", date(2027, 12, 30), 26, True),  # N + 1
        ("withdrawals_close_on", date(2027, 12, 31), 25, True),  # N
        ("withdrawals_close_on", date(2028, 1, 3), 24, False),  # bank holiday: as the 4th
        ("withdrawals_close_on", date(2028, 1, 4), 24, False),  # N - 1
    ],
)
def test_the_nomination_and_withdrawal_boundaries_over_christmas_2027(
    step: str, day: date, working_days: int, allowed: bool
) -> None:
    """For a poll closing on Monday 7 February 2028, nominations close by Friday 24 December
    and withdrawals by Friday 31 December 2027: the substitute bank holidays are not counted."""
    timetable = dataclasses.replace(suggest_timetable(date(2028, 2, 7)), **{step: day})
    assert working_days_between(day, date(2028, 2, 7)) == working_days
    too_late = (step, ProblemKind.too_late) in kinds(timetable_problems(timetable))
    assert too_late is not allowed


@pytest.mark.parametrize(
    ("step", "day", "message"),
    [
        (
            "notice_of_election_on",
            date(2027, 5, 25),
            "The notice of election must be published at least 40 working days before the poll "
            "closes (Model Election Rules 2014, r.2): 25 May 2027 is only 39 working days "
            "before 20 July 2027; the latest it can be is 24 May 2027.",
        ),
        (
            "nominations_close_on",
            date(2027, 6, 14),
            "Nominations must close at least 28 working days before the poll closes (Model "
            "Election Rules 2014, r.2): 14 June 2027 is only 26 working days before 20 July "
            "2027; the latest it can be is 10 June 2027.",
        ),
        (
            "withdrawals_close_on",
            date(2027, 6, 16),
            "Withdrawals must close at least 25 working days before the poll closes (Model "
            "Election Rules 2014, r.2): 16 June 2027 is only 24 working days before 20 July "
            "2027; the latest it can be is 15 June 2027.",
        ),
        (
            "poll_opens_on",
            date(2027, 6, 30),
            "The poll must open at least 15 working days before it closes (Model Election "
            "Rules 2014, r.2): 30 June 2027 is only 14 working days before 20 July 2027; the "
            "latest it can be is 29 June 2027.",
        ),
    ],
)
def test_each_minimum_gap_is_reported_with_the_rule_and_the_latest_date(
    step: str, day: date, message: str
) -> None:
    """A step too close to the close of the poll gives one problem on that step, citing the
    rule, the count found and the latest date that would do."""
    problems = timetable_problems(dataclasses.replace(JULY_2027, **{step: day}))
    assert problems == [TimetableProblem(step, ProblemKind.too_late, message)]
    assert str(problems[0]) == message


def test_a_poll_opening_the_day_it_closes_is_too_late_under_the_model_rules() -> None:
    """An opening on the closing day is not out of order, but is 15 working days too late."""
    problems = timetable_problems(dataclasses.replace(JULY_2027, poll_opens_on=date(2027, 7, 20)))
    assert kinds(problems) == [("poll_opens_on", ProblemKind.too_late)]
    assert "20 July 2027 is the day the poll closes; the latest it can be is 29 June 2027." in (
        problems[0].message
    )


def test_a_step_on_a_weekend_just_before_the_close_is_less_than_a_working_day_before() -> None:
    """A Saturday before a Monday close has no working day in between, and says so."""
    rules = TimetableRules(40, 28, 25, 1)
    timetable = dataclasses.replace(
        suggest_timetable(date(2027, 7, 19), rules), poll_opens_on=date(2027, 7, 17)
    )
    messages = [problem.message for problem in timetable_problems(timetable, rules)]
    assert any(
        "17 July 2027 is not even 1 working day before 19 July 2027; the latest it can be is "
        "16 July 2027." in message
        for message in messages
    )


# --- order, working days and the past -------------------------------------------------------


def test_dates_out_of_order_name_the_two_steps() -> None:
    """Withdrawals closing before nominations close is reported on the later step, naming
    both dates."""
    timetable = dataclasses.replace(
        JULY_2027, nominations_close_on=date(2027, 6, 9), withdrawals_close_on=date(2027, 6, 8)
    )
    assert timetable_problems(timetable) == [
        TimetableProblem(
            "withdrawals_close_on",
            ProblemKind.order,
            "The close of withdrawals (8 June 2027) must come after the close of nominations "
            "(9 June 2027).",
        )
    ]


def test_two_steps_on_one_day_are_out_of_order() -> None:
    """Nominations cannot close on the day the notice of election is published."""
    rules = TimetableRules(40, 10, 5, 1)
    timetable = dataclasses.replace(JULY_2027, nominations_close_on=date(2027, 5, 24))
    assert kinds(timetable_problems(timetable, rules)) == [
        ("nominations_close_on", ProblemKind.order)
    ]


def test_a_poll_closing_before_it_opens_is_out_of_order() -> None:
    """The close of the poll must come on or after its opening."""
    timetable = dataclasses.replace(
        JULY_2027, poll_opens_on=date(2027, 7, 21), poll_closes_on=date(2027, 7, 20)
    )
    problems = timetable_problems(timetable)
    assert (
        TimetableProblem(
            "poll_closes_on",
            ProblemKind.order,
            "The close of the poll (20 July 2027) must come on or after the opening of the poll "
            "(21 July 2027).",
        )
        in problems
    )


def test_a_one_day_poll_is_allowed_when_the_rules_allow_zero_working_days() -> None:
    """With 0 working days for the opening, a poll may open and close on the same day."""
    rules = TimetableRules(40, 28, 25, 0)
    timetable = suggest_timetable(date(2027, 7, 20), rules)
    assert timetable.poll_opens_on == timetable.poll_closes_on == date(2027, 7, 20)
    assert timetable_problems(timetable, rules) == []


def test_a_date_on_a_bank_holiday_is_refused_with_its_name() -> None:
    """A close of poll on Monday 27 December 2027 is refused under MER r.3, naming the
    holiday."""
    timetable = suggest_timetable(date(2028, 2, 7))
    problems = timetable_problems(dataclasses.replace(timetable, poll_closes_on=date(2027, 12, 27)))
    bank_holiday = [p for p in problems if p.kind is ProblemKind.not_a_working_day]
    assert len(bank_holiday) == 1
    assert bank_holiday[0].field == "poll_closes_on"
    assert bank_holiday[0].message.startswith(
        "The close of the poll is on 27 December 2027, which is Christmas Day"
    )
    assert bank_holiday[0].message.endswith(
        "a bank holiday; every date in the timetable must be a working day "
        "(Model Election Rules 2014, r.3)."
    )


def test_a_date_on_a_weekend_is_refused() -> None:
    """A notice of election on a Saturday is refused, saying it is a Saturday."""
    problems = timetable_problems(
        dataclasses.replace(JULY_2027, notice_of_election_on=date(2027, 5, 22))
    )
    assert problems == [
        TimetableProblem(
            "notice_of_election_on",
            ProblemKind.not_a_working_day,
            "The notice of election is on 22 May 2027, which is a Saturday; every date in the "
            "timetable must be a working day (Model Election Rules 2014, r.3).",
        )
    ]


def test_a_notice_in_the_past_is_refused_only_when_today_is_given() -> None:
    """The notice of election may be published today but not before it; without today the
    check is skipped."""
    assert timetable_problems(JULY_2027) == []
    assert timetable_problems(JULY_2027, today=date(2027, 5, 24)) == []
    assert timetable_problems(JULY_2027, today=date(2027, 5, 25)) == [
        TimetableProblem(
            "notice_of_election_on",
            ProblemKind.in_the_past,
            "The notice of election cannot be published in the past: 24 May 2027 is before "
            "today, 25 May 2027.",
        )
    ]


def test_problems_come_in_timetable_order() -> None:
    """Problems on several steps are listed from the notice of election to the close."""
    timetable = dataclasses.replace(
        JULY_2027, poll_opens_on=date(2027, 7, 3), notice_of_election_on=date(2027, 6, 1)
    )
    fields = [problem.field for problem in timetable_problems(timetable, today=date(2027, 6, 2))]
    assert fields == sorted(fields, key=STEPS.index)
    assert set(fields) == {"notice_of_election_on", "poll_opens_on"}


def test_check_timetable_raises_a_value_error_carrying_every_problem() -> None:
    """check_timetable passes a good timetable and raises TimetableError, a ValueError holding
    the problems, for a bad one."""
    check_timetable(JULY_2027)
    bad = dataclasses.replace(JULY_2027, nominations_close_on=date(2027, 6, 14))
    with pytest.raises(TimetableError) as caught:
        check_timetable(bad, today=date(2027, 5, 25))
    assert isinstance(caught.value, ValueError)
    assert caught.value.problems == tuple(timetable_problems(bad, today=date(2027, 5, 25)))
    assert [p.kind for p in caught.value.problems] == [
        ProblemKind.in_the_past,
        ProblemKind.too_late,
    ]
    assert "14 June 2027 is only 26 working days" in str(caught.value)


# --- an institution's own rules -------------------------------------------------------------


def test_an_institution_can_set_its_own_numbers() -> None:
    """A shorter timetable fails the Model Election Rules but meets an institution's own
    rules, and a breach of a changed number cites the institution's rules."""
    rules = TimetableRules(
        notice=20,
        nominations=12,
        withdrawals=10,
        poll_opens=5,
    )
    short = suggest_timetable(date(2027, 7, 20), rules)
    assert timetable_problems(short, rules) == []
    assert len(timetable_problems(short)) == 4
    late = dataclasses.replace(
        short, nominations_close_on=next_working_day(short.nominations_close_on)
    )
    (problem,) = timetable_problems(late, rules)
    assert problem.message.startswith(
        "Nominations must close at least 12 working days before the poll closes "
        "(the institution's election rules): "
    )


def test_a_number_the_institution_kept_still_cites_the_model_election_rules() -> None:
    """Only the numbers that differ from the Model Election Rules are cited as the
    institution's."""
    rules = TimetableRules(45, 28, 25, 15)
    late = dataclasses.replace(JULY_2027, nominations_close_on=date(2027, 6, 11))
    messages = [problem.message for problem in timetable_problems(late, rules)]
    assert any("45 working days before the poll closes (the institution's" in m for m in messages)
    assert any(
        "28 working days before the poll closes (Model Election Rules" in m for m in messages
    )


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        (
            (40, 28, 25, -1),
            "The working days before the close of the poll for the opening of the poll must "
            "be 0 or more, not -1.",
        ),
        (
            (40, 28, 28, 15),
            "The close of withdrawals must be fewer working days before the close of the poll "
            "than the close of nominations: 28 is not fewer than 28.",
        ),
        (
            (20, 28, 25, 15),
            "The close of nominations must be fewer working days before the close of the poll "
            "than the notice of election: 28 is not fewer than 20.",
        ),
        (
            (40, 28, 10, 15),
            "The opening of the poll must be fewer working days before the close of the poll "
            "than the close of withdrawals: 15 is not fewer than 10.",
        ),
    ],
)
def test_rules_must_be_non_negative_and_decreasing(
    numbers: tuple[int, int, int, int], message: str
) -> None:
    """Negative numbers, or numbers that do not decrease from the notice to the opening of
    the poll, are refused with a message saying which."""
    with pytest.raises(TimetableRulesError) as caught:
        TimetableRules(*numbers)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_rules_must_be_whole_numbers() -> None:
    """A number of working days that is not an int (or is a bool) is a TypeError."""
    with pytest.raises(TypeError):
        TimetableRules(40, 28, 25, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TimetableRules(40, 28, 25, True)


def test_zero_is_allowed_for_the_opening_of_the_poll() -> None:
    """The smallest rules allowed are 3, 2, 1 and 0 working days."""
    assert TimetableRules(3, 2, 1, 0).as_tuple() == (3, 2, 1, 0)


# --- suggested timetables -------------------------------------------------------------------


def test_the_suggested_timetable_over_easter_2027() -> None:
    """For a close on Monday 19 April 2027, the latest dates are 18 February, 8 March,
    11 March and 25 March (Maundy Thursday)."""
    assert suggest_timetable(date(2027, 4, 19)) == Timetable(
        notice_of_election_on=date(2027, 2, 18),
        nominations_close_on=date(2027, 3, 8),
        withdrawals_close_on=date(2027, 3, 11),
        poll_opens_on=date(2027, 3, 25),
        poll_closes_on=date(2027, 4, 19),
    )


def test_the_suggested_timetable_over_christmas_2027() -> None:
    """For a close on Monday 7 February 2028, the latest dates are 8 December, 24 December
    and 31 December 2027 and 17 January 2028."""
    assert suggest_timetable(date(2028, 2, 7)) == Timetable(
        notice_of_election_on=date(2027, 12, 8),
        nominations_close_on=date(2027, 12, 24),
        withdrawals_close_on=date(2027, 12, 31),
        poll_opens_on=date(2028, 1, 17),
        poll_closes_on=date(2028, 2, 7),
    )


def test_a_close_on_a_holiday_moves_to_the_last_working_day_before_it() -> None:
    """Asked to close on Christmas Day or its substitute in 2027, the poll closes on Friday
    24 December instead."""
    assert suggest_timetable(date(2027, 12, 25)).poll_closes_on == date(2027, 12, 24)
    assert suggest_timetable(date(2027, 12, 28)).poll_closes_on == date(2027, 12, 24)


@st.composite
def timetable_rules(draw: st.DrawFn) -> TimetableRules:
    numbers = draw(st.lists(st.integers(0, 70), min_size=4, max_size=4, unique=True))
    return TimetableRules(*sorted(numbers, reverse=True))


@settings(max_examples=300, deadline=None)
@given(dates, st.one_of(st.just(MODEL_ELECTION_RULES), timetable_rules()))
def test_suggested_timetables_meet_every_rule_and_are_the_latest(
    poll_closes_on: date, rules: TimetableRules
) -> None:
    """A suggested timetable has no problems (even published today), and moving any
    step to the next working day breaks that step's rule."""
    suggested = suggest_timetable(poll_closes_on, rules)
    assert timetable_problems(suggested, rules, today=suggested.notice_of_election_on) == []
    assert suggested.poll_closes_on <= poll_closes_on
    for step, minimum in zip(STEPS, rules.as_tuple(), strict=False):
        if minimum == 0:
            continue
        later = dataclasses.replace(suggested, **{step: next_working_day(getattr(suggested, step))})
        assert (step, ProblemKind.too_late) in kinds(timetable_problems(later, rules))


# --- shape of the module --------------------------------------------------------------------


def test_timetable_steps_are_in_order_and_labelled() -> None:
    """steps() lists the five dates in timetable order, and each has a label."""
    assert [name for name, _ in JULY_2027.steps()] == list(STEPS)
    assert [day for _, day in JULY_2027.steps()] == sorted(day for _, day in JULY_2027.steps())
    assert set(STEP_LABELS) == set(STEPS) == {f.name for f in dataclasses.fields(Timetable)}


@pytest.mark.parametrize("module", [timetable_module, states_module], ids=["timetable", "states"])
def test_the_election_core_modules_are_pure(module: ModuleType) -> None:
    """timetable.py and states.py import only the standard library, holidays and other pure
    modules: no Flask, no database."""
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    allowed = {
        "__future__",
        "holidays",
        "assembly.clock",
        "assembly.elections.timetable",
        "assembly.statetable",
    }
    for name in names:
        assert name.split(".")[0] in sys.stdlib_module_names or name in allowed, name
