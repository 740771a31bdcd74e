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
from assembly.counting.results import CountResult, Number, Stage

__all__ = ["StvCount", "check_countable", "stv_result"]


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
