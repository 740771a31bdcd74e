"""First-past-the-post, block vote, and confirmation votes.

First-past-the-post and block vote: each paper counts once for each of the first ``seats``
candidates it names (one for first-past-the-post); the ``seats`` candidates with the most
votes are elected. A tie for the last seat is decided by lot.

Confirmation: a single candidate is confirmed or not by yes / no / abstain papers. It is
carried when yes is more than ``threshold`` of the yes and no votes together (by default one
half, that is yes > no); abstentions are recorded but do not count either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from assembly.counting.ballots import BallotError, Profile, Weight
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, Number, Stage, TieBreak, number

__all__ = ["ConfirmationResult", "count_confirmation", "count_plurality"]


def count_plurality(profile: Profile, seats: int = 1, *, seed: str | None = None) -> CountResult:
    """Elect the ``seats`` candidates named on the most papers.

    :raises BallotError: no seats.
    :raises LotNeeded: the last seat is tied and no seed was given.
    """
    if seats < 1:
        raise BallotError("the number of seats must be at least 1")
    lots = Lots.from_hex(seed)
    ids = [c.id for c in profile.candidates]
    n = len(ids)
    zero: Number = 0
    totals: list[Number] = [zero] * n
    for ranking, weight in profile.rankings:
        for index in ranking[:seats]:
            totals[index] += weight
    standing = [c for c in range(n) if c not in profile.withdrawn]
    order = sorted(standing, key=lambda c: -totals[c])
    elected = order[:seats]
    ties: list[TieBreak] = []
    if len(order) > seats:
        boundary = totals[order[seats - 1]]
        level = [c for c in order if totals[c] == boundary]
        inside = [c for c in elected if totals[c] == boundary]
        if len(level) > len(inside):
            keep = [c for c in elected if totals[c] != boundary]
            pool = list(level)
            for _ in range(len(inside)):
                chosen_id = lots.choose("last seat", [ids[c] for c in pool])
                chosen = next(c for c in pool if ids[c] == chosen_id)
                ties.append(TieBreak("last seat", tuple(ids[c] for c in level), chosen_id))
                keep.append(chosen)
                pool.remove(chosen)
            elected = keep
    method = "fptp" if seats == 1 else "block"
    stage = Stage(
        number=1,
        action="first-preferences" if seats == 1 else "votes",
        candidate=None,
        totals=tuple(totals),
        changes=tuple(totals),
        non_transferable=zero,
        elected=tuple(ids[c] for c in elected),
        tie_breaks=tuple(ties),
    )
    return CountResult(
        method=method,
        rules=method,
        rules_version="1",
        candidates=profile.candidates,
        seats=seats,
        valid=profile.valid,
        blank=profile.blank,
        quota=None,
        scale=1,
        stages=(stage,),
        elected=tuple(ids[c] for c in elected),
        excluded=(),
        unfilled=max(0, seats - len(elected)),
        lots=lots.to_dict(),
        withdrawn=tuple(ids[c] for c in sorted(profile.withdrawn)),
    )


@dataclass(frozen=True)
class ConfirmationResult:
    """A confirmation vote: the counts, the threshold, and whether it was carried."""

    candidate: str
    yes: Weight
    no: Weight
    abstain: Weight
    threshold: Fraction
    carried: bool
    rules: str = "confirmation"
    rules_version: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "confirmation",
            "rules": self.rules,
            "rules_version": self.rules_version,
            "candidate": self.candidate,
            "yes": number(self.yes),
            "no": number(self.no),
            "abstain": number(self.abstain),
            "threshold": number(self.threshold),
            "carried": self.carried,
        }


def count_confirmation(
    candidate: str,
    yes: Weight,
    no: Weight,
    abstain: Weight = 0,
    *,
    threshold: Fraction = Fraction(1, 2),
) -> ConfirmationResult:
    """Decide a confirmation vote: carried when yes > threshold × (yes + no).

    :raises BallotError: a negative count, or a threshold outside [0, 1).
    """
    for label, value in (("yes", yes), ("no", no), ("abstain", abstain)):
        if value < 0:
            raise BallotError(f"the {label} count must not be negative")
    threshold = Fraction(threshold)
    if not 0 <= threshold < 1:
        raise BallotError("the threshold must be at least 0 and less than 1")
    carried = yes > threshold * (yes + no)
    return ConfirmationResult(candidate, yes, no, abstain, threshold, carried)
