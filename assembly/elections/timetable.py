"""The board election timetable and its rules, after the NHS foundation trust Model Election
Rules 2014 (MER), Part 2.

- MER r.2 (timetable): the notice of election is published not later than the 40th day
  before the day of the close of the poll; nomination forms are delivered not later than the
  28th; notices of withdrawal not later than the 25th; the notice of the poll (when we open
  the poll and issue voting information) not later than the 15th. An institution may set its
  own numbers (``TimetableRules``); the MER numbers are the defaults.
- MER r.3 (computation of time): Saturdays, Sundays, Christmas Day, Good Friday, bank
  holidays in England and Wales and days appointed for public thanksgiving or mourning are
  disregarded, and are not days for any proceedings up to the completion of the poll. So
  every period is counted in *working days*, and every date in the timetable must itself be
  a working day. Bank holidays (with Christmas Day, Good Friday and proclaimed days such as a
  state funeral) come from the ``holidays`` package's calendar for England; a day proclaimed
  after the installed version was released is not known to it.

How days are counted. "Not later than the Nth working day before the close of the poll"
counts back from the close: the 1st working day before it is the last working day before
that day, the 2nd the one before that, and so on. A date meets the rule exactly when at least
N working days lie in ``[date, close of poll)`` — from the date itself up to, but not
including, the close. ``working_days_between(start, end)`` counts exactly that, so a rule of
N is ``working_days_between(step_date, poll_closes_on) >= N``.

The poll closes at the end of ``poll_closes_on`` (Europe/London). The count and the
declaration are events recorded when they happen, not deadlines, so they have no date here.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

import holidays

from assembly.clock import long_date

__all__ = [
    "MODEL_ELECTION_RULES",
    "STEPS",
    "STEP_LABELS",
    "ProblemKind",
    "Timetable",
    "TimetableError",
    "TimetableProblem",
    "TimetableRules",
    "TimetableRulesError",
    "bank_holiday",
    "check_timetable",
    "is_working_day",
    "non_working_reason",
    "suggest_timetable",
    "timetable_problems",
    "working_day_before",
    "working_day_on_or_before",
    "working_days_between",
]

_ONE_DAY = timedelta(days=1)
_MER = "Model Election Rules 2014"
_OWN_RULES = "the institution's election rules"

#: The timetable's dates, in the order they must come.
STEPS = (
    "notice_of_election_on",
    "nominations_close_on",
    "withdrawals_close_on",
    "poll_opens_on",
    "poll_closes_on",
)

#: What each date is called on pages and in messages.
STEP_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "notice_of_election_on": "the notice of election",
        "nominations_close_on": "the close of nominations",
        "withdrawals_close_on": "the close of withdrawals",
        "poll_opens_on": "the opening of the poll",
        "poll_closes_on": "the close of the poll",
    }
)


# -- working days ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _bank_holidays(year: int) -> Mapping[date, str]:
    """England and Wales bank holidays of ``year`` (with Christmas Day and Good Friday)."""
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return MappingProxyType(dict(calendar.items()))


def bank_holiday(day: date) -> str | None:
    """Return the name of the bank holiday on ``day`` in England and Wales, or None."""
    return _bank_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Return whether ``day`` counts for the timetable (MER r.3): not a weekend or bank holiday."""
    return day.weekday() < 5 and bank_holiday(day) is None


def non_working_reason(day: date) -> str | None:
    """Say why ``day`` is not a working day ("a Saturday", "Good Friday, a bank holiday"), or
    return None if it is one."""
    name = bank_holiday(day)
    if name is not None:
        return f"{name}, a bank holiday"
    if day.weekday() >= 5:
        return f"a {day:%A}"
    return None


def working_days_between(start: date, end: date) -> int:
    """Count the working days from ``start`` up to, but not including, ``end``.

    ``working_days_between(d, d)`` is 0; a working day ``d`` gives
    ``working_days_between(d, d + 1 day) == 1``. The count is negative when ``end`` comes
    before ``start``, so that ``between(a, b) + between(b, c) == between(a, c)``.
    """
    if end < start:
        return -working_days_between(end, start)
    weeks, extra = divmod((end - start).days, 7)
    # Every whole week holds five weekdays; the odd days at the end are checked one by one.
    weekdays = weeks * 5 + sum(1 for i in range(extra) if (start.weekday() + i) % 7 < 5)
    holidays_on_weekdays = sum(
        1
        for year in range(start.year, end.year + 1)
        for day in _bank_holidays(year)
        if start <= day < end and day.weekday() < 5
    )
    return weekdays - holidays_on_weekdays


def working_day_before(day: date, n: int) -> date:
    """Return the ``n``th working day before ``day``: for ``n == 1`` the last working day
    before it; ``n == 0`` gives ``day`` itself.

    :raises ValueError: if ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"cannot count {n} working days back")
    for _ in range(n):
        day -= _ONE_DAY
        while not is_working_day(day):
            day -= _ONE_DAY
    return day


def working_day_on_or_before(day: date) -> date:
    """Return ``day`` if it is a working day, else the last working day before it."""
    while not is_working_day(day):
        day -= _ONE_DAY
    return day


# -- the timetable and its rules ------------------------------------------------------------


@dataclass(frozen=True)
class Timetable:
    """The dates of one board election; check them with ``check_timetable``."""

    #: The notice of election is published and nominations open.
    notice_of_election_on: date
    #: The last day on which nominations are accepted.
    nominations_close_on: date
    #: The last day on which a candidate may withdraw.
    withdrawals_close_on: date
    #: The poll opens and voting information goes out (MER: the notice of the poll).
    poll_opens_on: date
    #: The poll closes at the end of this day (Europe/London).
    poll_closes_on: date

    def steps(self) -> tuple[tuple[str, date], ...]:
        """Return each step's field name and date, in timetable order."""
        return tuple((name, getattr(self, name)) for name in STEPS)


class TimetableRulesError(ValueError):
    """The working-day rules an institution chose cannot be used."""


@dataclass(frozen=True)
class TimetableRules:
    """The least number of working days before the close of the poll for each step.

    The defaults are the Model Election Rules 2014 (r.2). Each number is 0 or more, and they
    decrease strictly from the notice of election to the opening of the poll. A poll that
    opens 0 working days before it closes opens on the day it closes.

    :raises TimetableRulesError: if a number is negative or the numbers do not decrease.
    """

    #: Least working days before the close of the poll for the notice of election.
    notice: int = 40
    #: … for the close of nominations.
    nominations: int = 28
    #: … for the close of withdrawals.
    withdrawals: int = 25
    #: … for the opening of the poll.
    poll_opens: int = 15

    def __post_init__(self) -> None:
        named = list(zip(STEPS[:4], self.as_tuple(), strict=True))
        for step, value in named:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"working days for {STEP_LABELS[step]} must be a whole number")
            if value < 0:
                raise TimetableRulesError(
                    f"The working days before the close of the poll for {STEP_LABELS[step]} "
                    f"must be 0 or more, not {value}."
                )
        for (earlier, more), (later, fewer) in itertools.pairwise(named):
            if fewer >= more:
                raise TimetableRulesError(
                    f"{_capital(STEP_LABELS[later])} must be fewer working days before the "
                    f"close of the poll than {STEP_LABELS[earlier]}: {fewer} is not fewer "
                    f"than {more}."
                )

    def as_tuple(self) -> tuple[int, int, int, int]:
        """Return the four numbers, from the notice of election to the opening of the poll."""
        return (self.notice, self.nominations, self.withdrawals, self.poll_opens)

    def minimum_for(self, step: str) -> int:
        """Return the least working days before the close of the poll for ``step``."""
        return dict(zip(STEPS[:4], self.as_tuple(), strict=True))[step]


#: The Model Election Rules 2014, r.2: 40, 28, 25 and 15 working days.
MODEL_ELECTION_RULES = TimetableRules()

#: What each step's minimum gap says, in words a secretary can act on.
_GAP_RULES: Mapping[str, str] = MappingProxyType(
    {
        "notice_of_election_on": (
            "The notice of election must be published at least {n} before the poll closes"
        ),
        "nominations_close_on": "Nominations must close at least {n} before the poll closes",
        "withdrawals_close_on": "Withdrawals must close at least {n} before the poll closes",
        "poll_opens_on": "The poll must open at least {n} before it closes",
    }
)


# -- problems -------------------------------------------------------------------------------


class ProblemKind(StrEnum):
    #: Two dates are the wrong way round.
    order = "order"
    #: A step is too close to the close of the poll.
    too_late = "too_late"
    #: A date falls on a weekend or bank holiday.
    not_a_working_day = "not_a_working_day"
    #: The notice of election would be published before today.
    in_the_past = "in_the_past"


@dataclass(frozen=True)
class TimetableProblem:
    """One rule a timetable breaks, with a message a secretary can act on."""

    #: The timetable field the problem belongs to (where a form shows it).
    field: str
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return self.message


class TimetableError(ValueError):
    """A timetable breaks one or more rules; ``problems`` lists them."""

    def __init__(self, problems: Iterable[TimetableProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(problem.message for problem in self.problems))


def check_timetable(
    timetable: Timetable,
    rules: TimetableRules = MODEL_ELECTION_RULES,
    *,
    today: date | None = None,
) -> None:
    """Check ``timetable`` against ``rules``, as ``timetable_problems`` does.

    :raises TimetableError: carrying every problem found, if there is any.
    """
    problems = timetable_problems(timetable, rules, today=today)
    if problems:
        raise TimetableError(problems)


def timetable_problems(
    timetable: Timetable,
    rules: TimetableRules = MODEL_ELECTION_RULES,
    *,
    today: date | None = None,
) -> list[TimetableProblem]:
    """Return every rule ``timetable`` breaks (an empty list if none), in timetable order.

    Checks that the dates come in order, that each is a working day (MER r.3), that each
    step is at least its number of working days before the close of the poll (MER r.2 or the
    institution's ``rules``) and, when ``today`` is given, that the notice of election is not
    in the past.
    """
    problems: list[TimetableProblem] = []
    steps = timetable.steps()
    close = timetable.poll_closes_on

    for (earlier, earlier_on), (later, later_on) in itertools.pairwise(steps):
        # The poll may open and close on one day (a one-day poll); every other step is later.
        same_day_allowed = later == "poll_closes_on"
        if later_on < earlier_on or (later_on == earlier_on and not same_day_allowed):
            word = "on or after" if same_day_allowed else "after"
            problems.append(
                TimetableProblem(
                    later,
                    ProblemKind.order,
                    f"{_capital(STEP_LABELS[later])} ({long_date(later_on)}) must come {word} "
                    f"{STEP_LABELS[earlier]} ({long_date(earlier_on)}).",
                )
            )

    if today is not None and timetable.notice_of_election_on < today:
        problems.append(
            TimetableProblem(
                "notice_of_election_on",
                ProblemKind.in_the_past,
                f"The notice of election cannot be published in the past: "
                f"{long_date(timetable.notice_of_election_on)} is before today, "
                f"{long_date(today)}.",
            )
        )

    for step, step_on in steps:
        reason = non_working_reason(step_on)
        if reason is not None:
            problems.append(
                TimetableProblem(
                    step,
                    ProblemKind.not_a_working_day,
                    f"{_capital(STEP_LABELS[step])} is on {long_date(step_on)}, which is "
                    f"{reason}; every date in the timetable must be a working day "
                    f"({_MER}, r.3).",
                )
            )

    for step, step_on in steps[:4]:
        needed = rules.minimum_for(step)
        if step_on > close:
            continue  # the dates are out of order, which is reported above
        have = working_days_between(step_on, close)
        if have < needed:
            source = _MER + ", r.2" if needed == MODEL_ELECTION_RULES.minimum_for(step) else None
            if step_on == close:
                found = f"{long_date(step_on)} is the day the poll closes"
            elif have == 0:
                found = f"{long_date(step_on)} is not even 1 working day before {long_date(close)}"
            else:
                found = (
                    f"{long_date(step_on)} is only {_working_days(have)} before {long_date(close)}"
                )
            latest = working_day_before(close, needed)
            problems.append(
                TimetableProblem(
                    step,
                    ProblemKind.too_late,
                    _GAP_RULES[step].format(n=_working_days(needed))
                    + f" ({source or _OWN_RULES}): {found}; the latest it can be is "
                    f"{long_date(latest)}.",
                )
            )

    order = {step: index for index, step in enumerate(STEPS)}
    problems.sort(key=lambda problem: order[problem.field])
    return problems


def suggest_timetable(
    poll_closes_on: date, rules: TimetableRules = MODEL_ELECTION_RULES
) -> Timetable:
    """Return the latest timetable that closes the poll on ``poll_closes_on`` and meets
    ``rules``: each step on the last working day its rule allows.

    A close of poll on a weekend or bank holiday moves to the last working day before it.
    A poll that may open 0 working days before it closes opens on the day it closes.
    """
    close = working_day_on_or_before(poll_closes_on)
    notice, nominations, withdrawals, poll_opens = (
        working_day_before(close, n) for n in rules.as_tuple()
    )
    return Timetable(
        notice_of_election_on=notice,
        nominations_close_on=nominations,
        withdrawals_close_on=withdrawals,
        poll_opens_on=poll_opens,
        poll_closes_on=close,
    )


def _working_days(n: int) -> str:
    return "1 working day" if n == 1 else f"{n} working days"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
