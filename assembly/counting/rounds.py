"""One round of an exhaustive ballot: the assembly's way of electing one person by show of
papers, round after round.

Each paper names one candidate. A candidate with more than half of the valid votes is
elected. Otherwise exactly one candidate is excluded — the one with the fewest votes — and
the members vote again on those left, as a new, separate count. A tie for fewest is decided
by lot from the vote's seed (``lots``; the same draw as every other count, context
``exclusion``): a round has no earlier stage to look back to, so the rule of SSI 2007/42
Sch. 1 r.51(2) goes straight to the lot.

Papers may carry exact fractional weights (constituency weighting, ``weighting``), so every
value is an ``int`` or a ``Fraction`` and nothing is rounded.
"""

from __future__ import annotations

from fractions import Fraction

from assembly.counting.ballots import BallotError, Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, Number, Stage, TieBreak
from assembly.counting.ties import break_tie

__all__ = ["RULES", "RULES_VERSION", "count_round"]

RULES = "exhaustive-round"
RULES_VERSION = "1"


def count_round(profile: Profile, *, seed: str | None = None) -> CountResult:
    """Count one round of an exhaustive ballot: elect a candidate with a majority, or
    exclude the one with the fewest votes.

    :raises BallotError: no valid ballots, or a ballot that names more than one candidate.
    :raises LotNeeded: the fewest votes are tied and no seed was given.
    """
    if not profile.rankings:
        raise BallotError("there are no valid ballots to count")
    for ranking, _ in profile.rankings:
        if len(ranking) != 1:
            raise BallotError(
                f"a round's ballot chooses one candidate, not {len(ranking)} "
                f"({', '.join(profile.candidates[i].name for i in ranking)})"
            )
    lots = Lots.from_hex(seed)
    ids = [c.id for c in profile.candidates]
    n = len(ids)
    zero: Number = 0
    totals: list[Number] = [zero] * n
    for ranking, weight in profile.rankings:
        totals[ranking[0]] += weight
    live = [c for c in range(n) if c not in profile.withdrawn]
    valid = sum((totals[c] for c in live), zero)
    winner = next((c for c in live if 2 * totals[c] > valid), None)
    ties: list[TieBreak] = []
    notes: list[str] = []
    loser: int | None = None
    if winner is not None:
        share = Fraction(totals[winner]) / valid
        notes.append(
            f"{ids[winner]} has a majority of the valid votes "
            f"({share.numerator}/{share.denominator})"
        )
    else:
        lowest = min(totals[c] for c in live)
        tied = [c for c in live if totals[c] == lowest]
        if len(tied) == 1:
            loser = tied[0]
            notes.append(f"no candidate has a majority: {ids[loser]} has the fewest votes")
        else:
            loser, record = break_tie(
                tied, [totals], highest=False, purpose="exclusion", lots=lots, ids=ids
            )
            ties.append(record)
            notes.append(
                f"no candidate has a majority: {', '.join(ids[c] for c in tied)} have the "
                f"fewest votes; the lot excludes {ids[loser]}"
            )
    stage = Stage(
        number=1,
        action="votes",
        candidate=None,
        totals=tuple(totals),
        changes=tuple(totals),
        non_transferable=zero,
        elected=(ids[winner],) if winner is not None else (),
        excluded=(ids[loser],) if loser is not None else (),
        tie_breaks=tuple(ties),
        notes=tuple(notes),
    )
    return CountResult(
        method="round",
        rules=RULES,
        rules_version=RULES_VERSION,
        candidates=profile.candidates,
        seats=1,
        valid=profile.valid,
        blank=profile.blank,
        quota=None,
        scale=1,
        stages=(stage,),
        elected=(ids[winner],) if winner is not None else (),
        excluded=(ids[loser],) if loser is not None else (),
        unfilled=0 if winner is not None else 1,
        lots=lots.to_dict(),
        withdrawn=tuple(ids[c] for c in sorted(profile.withdrawn)),
    )
