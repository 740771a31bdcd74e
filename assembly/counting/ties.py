"""Breaking ties between candidates: by a preceding stage, then by lot.

SSI 2007/42 Sch. 1 r.49(2)–(3) (equal surpluses) and r.51(2) (equal lowest candidates): regard
is had to the most recent preceding stage at which the tied candidates had unequal votes; if
they were equal at every stage, the returning officer decides by lot. The Northern Ireland
rules (SI 1985/454 Sch. rr.50(1), 51(13)), and the NHS Model Election Rules 2014 taken from
them, look instead to the *earliest* preceding stage at which they were unequal
(``earliest=True``).

With three or more tied candidates, the stage that separates some of them may leave several
still level; the search then goes on (backwards, or forwards for ``earliest``) among those
still level, and a lot decides only between candidates who were equal at every preceding
stage.
"""

from __future__ import annotations

from collections.abc import Sequence

from assembly.counting.lots import Lots
from assembly.counting.results import Number, TieBreak

__all__ = ["break_tie", "narrow", "settle"]

#: A point of the count at which totals are compared: the stage it belongs to, and everyone's
#: totals there.
Point = tuple[int, Sequence[Number]]


def narrow(
    tied: Sequence[int], points: Sequence[Point], *, highest: bool, earliest: bool
) -> tuple[list[int], int | None]:
    """Keep those of ``tied`` with the highest (or lowest) votes at the most recent (or the
    earliest) point at which they were unequal, going on among those still level; return
    those left and the stage of the last point that separated any (None if none did)."""
    group = list(tied)
    decided_at: int | None = None
    for stage, totals in points if earliest else reversed(points):
        values = {c: totals[c] for c in group}
        if len(set(values.values())) == 1:
            continue
        best = max(values.values()) if highest else min(values.values())
        group = [c for c in group if values[c] == best]
        decided_at = stage
        if len(group) == 1:
            break
    return group, decided_at


def settle(
    tied: Sequence[int],
    group: Sequence[int],
    decided_at: int | None,
    *,
    purpose: str,
    lots: Lots,
    ids: Sequence[str],
) -> tuple[int, TieBreak]:
    """The one candidate ``narrow`` left, or a lot among ``group``; and the tie as recorded."""
    if len(group) == 1:
        chosen = group[0]
        stage = decided_at
    else:
        chosen_id = lots.choose(purpose, [ids[c] for c in group])
        chosen = next(c for c in group if ids[c] == chosen_id)
        stage = None
    return chosen, TieBreak(
        purpose=purpose,
        candidates=tuple(ids[c] for c in tied),
        chosen=ids[chosen],
        stage=stage,
    )


def break_tie(
    tied: Sequence[int],
    history: Sequence[Sequence[Number]],
    *,
    highest: bool,
    purpose: str,
    lots: Lots,
    ids: Sequence[str],
    earliest: bool = False,
) -> tuple[int, TieBreak]:
    """Choose one of ``tied`` (candidate indexes): the highest or the lowest.

    ``history`` holds everyone's totals at the end of each stage so far, the current stage
    last (where the candidates are tied); only the stages before it are consulted, the most
    recent first, or the earliest first if ``earliest``.
    """
    points = [(index + 1, totals) for index, totals in enumerate(history[:-1])]
    group, decided_at = narrow(tied, points, highest=highest, earliest=earliest)
    return settle(tied, group, decided_at, purpose=purpose, lots=lots, ids=ids)
