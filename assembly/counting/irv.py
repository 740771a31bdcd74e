"""Instant-runoff voting: one seat, won by a majority of the votes still in the count.

IRV is STV for one seat, counted with exact values and without surplus transfers: at each
stage a candidate with more than half of the continuing votes (the votes of papers that
still show a preference for a continuing candidate) is elected; otherwise the candidate with
the fewest votes is excluded and their papers pass on at the value at which they were
received. Ties for exclusion are decided as under the Scottish rules (SSI 2007/42 Sch. 1
r.51(2)): the most recent preceding stage at which the candidates differed, then by lot.

Papers may carry exact fractional weights (constituency weighting), so every value is an
``int`` or a ``Fraction`` and nothing is ever rounded.
"""

from __future__ import annotations

from fractions import Fraction

from assembly.counting.ballots import BallotError, Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, Number, Stage, TieBreak
from assembly.counting.ties import break_tie

__all__ = ["RULES", "RULES_VERSION", "count_irv"]

RULES = "irv-majority"
RULES_VERSION = "1"


def count_irv(profile: Profile, *, seed: str | None = None) -> CountResult:
    """Count ``profile`` for one seat by instant runoff.

    :raises LotNeeded: a tie for exclusion needs a lot and no seed was given.
    """
    if not profile.rankings:
        raise BallotError("there are no valid ballots to count")
    lots = Lots.from_hex(seed)
    ids = [c.id for c in profile.candidates]
    n = len(ids)
    continuing = [i not in profile.withdrawn for i in range(n)]
    zero: Number = 0
    totals: list[Number] = [zero] * n
    piles: list[list[tuple[tuple[int, ...], int, Number]]] = [[] for _ in range(n)]
    for ranking, weight in profile.rankings:
        piles[ranking[0]].append((ranking, 0, weight))
        totals[ranking[0]] += weight
    history: list[list[Number]] = []
    stages: list[Stage] = []
    exhausted: Number = 0
    excluded: list[int] = []
    elected: list[int] = []
    before: list[Number] = [zero] * n
    action: str = "first-preferences"
    subject: str | None = None
    ties: list[TieBreak] = []
    while True:
        history.append(list(totals))
        live = [c for c in range(n) if continuing[c]]
        live_total = sum((totals[c] for c in live), zero)
        notes: list[str] = []
        winner = next((c for c in live if 2 * totals[c] > live_total), None)
        if winner is None and len(live) == 1:
            winner = live[0]
        if winner is not None:
            elected.append(winner)
            continuing[winner] = False
            share = Fraction(totals[winner]) / live_total if live_total else Fraction(1)
            notes.append(
                f"{ids[winner]} has a majority of continuing votes "
                f"({share.numerator}/{share.denominator})"
            )
        stages.append(
            Stage(
                number=len(stages) + 1,
                action=action,
                candidate=subject,
                totals=tuple(totals),
                changes=tuple(a - b for a, b in zip(totals, before, strict=True)),
                non_transferable=exhausted,
                elected=tuple(ids[c] for c in elected[-1:]) if winner is not None else (),
                excluded=(subject,) if action == "exclusion" and subject else (),
                tie_breaks=tuple(ties),
                notes=tuple(notes),
            )
        )
        if winner is not None or not live:
            break
        ties = []
        lowest = min(totals[c] for c in live)
        tied = [c for c in live if totals[c] == lowest]
        if len(tied) == 1:
            loser = tied[0]
        else:
            loser, record = break_tie(
                tied, history, highest=False, purpose="exclusion", lots=lots, ids=ids
            )
            ties.append(record)
        before = list(totals)
        continuing[loser] = False
        excluded.append(loser)
        for ranking, position, weight in piles[loser]:
            for k in range(position + 1, len(ranking)):
                if continuing[ranking[k]]:
                    piles[ranking[k]].append((ranking, k, weight))
                    totals[ranking[k]] += weight
                    break
            else:
                exhausted += weight
        piles[loser] = []
        totals[loser] = zero
        action, subject = "exclusion", ids[loser]
    return CountResult(
        method="irv",
        rules=RULES,
        rules_version=RULES_VERSION,
        candidates=profile.candidates,
        seats=1,
        valid=profile.valid,
        blank=profile.blank,
        quota=None,
        scale=1,
        stages=tuple(stages),
        elected=tuple(ids[c] for c in elected),
        excluded=tuple(ids[c] for c in excluded),
        unfilled=1 - len(elected),
        lots=lots.to_dict(),
        withdrawn=tuple(ids[c] for c in sorted(profile.withdrawn)),
    )
