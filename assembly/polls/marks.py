"""Reading a voter's marks: the numbers written next to candidates' names (a ranked ballot)
or the ticks (a ballot choosing up to a number of candidates), as a ranking of candidate ids,
or a message for the voter naming the box that is wrong. The same for a board election's
contest and an assembly's vote, on the web and in the fuzz tests."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Protocol

from assembly.errors import RuleViolation

__all__ = [
    "ContestRules",
    "CountMethod",
    "InvalidBallot",
    "OnBallot",
    "ranking_from_marks",
]

_NUMBER = re.compile(r"[0-9]{1,4}")


class CountMethod(enum.StrEnum):
    #: Single transferable vote (a ranked ballot): the default.
    stv = "stv"
    #: First past the post: each voter marks up to ``seats`` candidates.
    plurality = "plurality"


class InvalidBallot(RuleViolation):
    """The marks on a ballot cannot be read as a vote; ``field`` names the box concerned."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ContestRules(Protocol):
    """How a contest's ballot is marked (a Contest, or a row read while casting)."""

    @property
    def method(self) -> CountMethod: ...
    @property
    def seats(self) -> int: ...


class OnBallot(Protocol):
    """A candidate as the marks name them (a Candidate, or a row read while casting)."""

    @property
    def id(self) -> int: ...
    @property
    def ballot_name(self) -> str: ...


def _unknown() -> InvalidBallot:
    return InvalidBallot(
        "Your ballot named someone who is not a candidate in your contest. Go back to your "
        "ballot and mark it again."
    )


def _twice() -> InvalidBallot:
    return InvalidBallot(
        "Your ballot marked the same candidate twice. Go back to your ballot and mark it again."
    )


def _preferences(
    candidates: Sequence[OnBallot], preferences: Sequence[tuple[str, str]]
) -> list[int]:
    by_key = {str(c.id): c for c in candidates}
    numbered: dict[int, OnBallot] = {}
    marked: set[str] = set()
    for key, raw in preferences:
        candidate = by_key.get(key)
        if candidate is None:
            raise _unknown()
        if key in marked:
            raise _twice()
        marked.add(key)
        text = raw.strip()
        if not text:
            continue
        field = f"pref-{candidate.id}"
        if not _NUMBER.fullmatch(text):
            raise InvalidBallot(
                f"Write a whole number, such as 1, 2 or 3, next to {candidate.ballot_name}.",
                field,
            )
        number = int(text)
        if number == 0:
            raise InvalidBallot(
                "Number your choices from 1: write 1 next to your first choice.", field
            )
        if number in numbered:
            raise InvalidBallot(
                f"You wrote {number} next to more than one candidate "
                f"({numbered[number].ballot_name} and {candidate.ballot_name}). "
                "Give each number to one candidate only.",
                field,
            )
        numbered[number] = candidate
    if not numbered:
        first = f"pref-{candidates[0].id}" if candidates else ""
        raise InvalidBallot(
            "Write 1 next to the candidate you like best. You can then number as many others "
            "as you like, 2, 3 and so on.",
            first,
        )
    for expected in range(1, len(numbered) + 1):
        if expected not in numbered:
            later = min(n for n in numbered if n > expected)
            field = f"pref-{numbered[later].id}"
            if expected == 1:
                raise InvalidBallot("Start with 1: write 1 next to your first choice.", field)
            raise InvalidBallot(
                f"Number your choices 1, 2, 3 and so on without a gap: you wrote {later} "
                f"but no {expected}.",
                field,
            )
    return [numbered[n].id for n in sorted(numbered)]


def _choices(
    contest: ContestRules, candidates: Sequence[OnBallot], choices: Sequence[str]
) -> list[int]:
    by_key = {str(c.id): c for c in candidates}
    chosen: list[OnBallot] = []
    for key in choices:
        candidate = by_key.get(key.strip())
        if candidate is None:
            raise _unknown()
        if candidate in chosen:
            raise _twice()
        chosen.append(candidate)
    first = f"choice-{candidates[0].id}" if candidates else ""
    if not chosen:
        wanted = "a candidate" if contest.seats == 1 else f"up to {contest.seats} candidates"
        raise InvalidBallot(f"Choose {wanted} before you continue.", first)
    if len(chosen) > contest.seats:
        limit = "one candidate" if contest.seats == 1 else f"{contest.seats} candidates"
        raise InvalidBallot(
            f"You can choose at most {limit}: you chose {len(chosen)}. Untick "
            f"{len(chosen) - contest.seats}.",
            first,
        )
    return [c.id for c in chosen]


def ranking_from_marks(
    contest: ContestRules,
    candidates: Sequence[OnBallot],
    preferences: Sequence[tuple[str, str]],
    choices: Sequence[str],
) -> list[int]:
    """Read a voter's marks as a ranking of candidate ids, or say what is wrong with them.

    STV: ``preferences`` pairs a candidate's id (as sent) with the number written next to
    them; blanks are ignored, and the numbers must run 1, 2, 3 … without gaps or repeats.
    Plurality: ``choices`` are the ticked candidates' ids, at most ``contest.seats`` of them.

    :raises InvalidBallot: with a message for the voter and the box it is about.
    """
    if contest.method == CountMethod.stv:
        if choices:
            raise _unknown()
        return _preferences(candidates, preferences)
    if preferences:
        raise _unknown()
    return _choices(contest, candidates, choices)
