"""What every STV rule set's count shares: the profile it can count, and the result it gives.

Each rule set (``stv``, ``stv_mer2014``, ``stv_ers97``, ``stv_meek``) keeps its own steps;
these two are the same for all of them, so a rule set cannot drift from the others in what
it refuses or in the shape of its ``CountResult``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assembly.counting.ballots import BallotError, Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, Number, Stage, TieBreak

__all__ = ["StvCount", "TransferCount", "check_countable", "stv_result"]


def check_countable(profile: Profile, seats: int, *, whole_papers: bool = True) -> None:
    """Refuse what no STV count can take: no seats, or (where the rules count whole papers)
    weighted ballots.

    :raises BallotError: saying which.
    """
    if seats < 1:
        raise BallotError("the number of seats must be at least 1")
    if whole_papers and not profile.is_integral:
        raise BallotError("STV counts whole ballot papers; weighted ballots are for IRV")


class StvCount(Protocol):
    """A count in progress, as every rule set keeps it: candidates by index."""

    profile: Profile
    seats: int
    lots: Lots
    ids: list[str]
    stages: list[Stage]
    elected: list[int]
    excluded: list[int]

    @property
    def valid(self) -> Number: ...


def stv_result(
    count: StvCount, *, rules: str, version: str, quota: Number, scale: int
) -> CountResult:
    """The finished count as its ``CountResult``, named by its rule set."""
    ids: Sequence[str] = count.ids
    return CountResult(
        method="stv",
        rules=rules,
        rules_version=version,
        candidates=count.profile.candidates,
        seats=count.seats,
        valid=count.valid,
        blank=count.profile.blank,
        quota=quota,
        scale=scale,
        stages=tuple(count.stages),
        elected=tuple(ids[c] for c in count.elected),
        excluded=tuple(ids[c] for c in count.excluded),
        unfilled=count.seats - len(count.elected),
        lots=count.lots.to_dict(),
        withdrawn=tuple(ids[c] for c in sorted(count.profile.withdrawn)),
    )


class TransferCount:
    """What a count by transfers of whole papers keeps, whatever its rules (``stv``,
    ``stv_mer2014``, ``stv_ers97``): candidates by index, their totals in units of the rule
    set's scale, who is continuing, elected or excluded, the value no longer with anyone, and
    the stages so far. Each rule set adds its quota, its parcels and its own steps."""

    def __init__(self, profile: Profile, seats: int, lots: Lots) -> None:
        check_countable(profile, seats)
        self.profile = profile
        self.seats = seats
        self.lots = lots
        self.ids = [c.id for c in profile.candidates]
        self.n = len(self.ids)
        self.valid = int(profile.valid)
        self.totals = [0] * self.n
        self.continuing = [i not in profile.withdrawn for i in range(self.n)]
        self.elected: list[int] = []
        self.excluded: list[int] = []
        self.non_transferable = 0
        self.lost = 0
        self.stages: list[Stage] = []

    @property
    def vacancies(self) -> int:
        return self.seats - len(self.elected)

    def _continuing(self) -> list[int]:
        return [c for c in range(self.n) if self.continuing[c]]

    def _next_continuing(self, ranking: tuple[int, ...], position: int) -> tuple[int, int]:
        """The next preference after ``position`` for a continuing candidate, and its place
        in the ranking; (-1, -1) when there is none (the paper is exhausted)."""
        continuing = self.continuing
        for k in range(position + 1, len(ranking)):
            if continuing[ranking[k]]:
                return ranking[k], k
        return -1, -1

    def _add_stage(
        self,
        action: str,
        candidate: int | None,
        before: Sequence[int],
        *,
        surplus: int | None,
        from_total: int | None,
        elected: Sequence[int],
        excluded: tuple[str, ...],
        ties: Sequence[TieBreak],
        notes: Sequence[str],
    ) -> None:
        """Record the stage just made: everyone's totals now, and what changed since
        ``before``."""
        self.stages.append(
            Stage(
                number=len(self.stages) + 1,
                action=action,
                candidate=self.ids[candidate] if candidate is not None else None,
                totals=tuple(self.totals),
                changes=tuple(a - b for a, b in zip(self.totals, before, strict=True)),
                non_transferable=self.non_transferable,
                lost_to_rounding=self.lost,
                surplus=surplus,
                transferred_from_total=from_total,
                elected=tuple(self.ids[c] for c in elected),
                excluded=excluded,
                tie_breaks=tuple(ties),
                notes=tuple(notes),
            )
        )
