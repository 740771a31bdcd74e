"""Results of a count: frozen dataclasses with a canonical JSON form.

Numbers are never floats. A count declares its ``scale``: STV values are integers in units of
1/100000 of a vote (``scale`` 100000); other counts use ``scale`` 1, with exact fractions
(from constituency weighting) written as ``"n/d"`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from assembly.counting.ballots import Candidate
from assembly.counting.canonical import canonical_bytes

__all__ = ["CountResult", "Number", "Stage", "TieBreak", "number"]

Number = int | Fraction


def number(value: Number | None) -> int | str | None:
    """Write a number for JSON: an integer as itself, a fraction as ``"n/d"``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if value.denominator == 1:
        return value.numerator
    return f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class TieBreak:
    """How a tie was broken: by an earlier stage (``stage`` set) or by lot."""

    purpose: str
    candidates: tuple[str, ...]
    chosen: str
    stage: int | None = None

    @property
    def by_lot(self) -> bool:
        return self.stage is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "candidates": list(self.candidates),
            "chosen": self.chosen,
            "decided_by": "lot" if self.stage is None else f"stage {self.stage}",
        }


@dataclass(frozen=True)
class Stage:
    """One stage of a count: what was transferred, and everyone's total afterwards."""

    number: int
    #: ``first-preferences``, ``surplus`` or ``exclusion``.
    action: str
    #: Whose surplus was transferred, or who was excluded.
    candidate: str | None
    #: Each candidate's total at the end of the stage, in candidate order.
    totals: tuple[Number, ...]
    #: What each candidate gained (or lost) in this stage.
    changes: tuple[Number, ...]
    #: Value no longer with any candidate, cumulative: exhausted papers plus, under STV, the
    #: fractions lost when transfer values are truncated.
    non_transferable: Number
    #: Of that, the fractions lost to truncation (STV only), cumulative.
    lost_to_rounding: Number = 0
    #: For a surplus: the surplus and the candidate's total it was taken from.
    surplus: Number | None = None
    transferred_from_total: Number | None = None
    elected: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    tie_breaks: tuple[TieBreak, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self, candidates: tuple[Candidate, ...]) -> dict[str, Any]:
        return {
            "number": self.number,
            "action": self.action,
            "candidate": self.candidate,
            "totals": {c.id: number(v) for c, v in zip(candidates, self.totals, strict=True)},
            "changes": {c.id: number(v) for c, v in zip(candidates, self.changes, strict=True)},
            "non_transferable": number(self.non_transferable),
            "lost_to_rounding": number(self.lost_to_rounding),
            "surplus": number(self.surplus),
            "transferred_from_total": number(self.transferred_from_total),
            "elected": list(self.elected),
            "excluded": list(self.excluded),
            "tie_breaks": [t.to_dict() for t in self.tie_breaks],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CountResult:
    """The whole count: rule set, quota, every stage, who was elected in order, every lot."""

    method: str
    rules: str
    rules_version: str
    candidates: tuple[Candidate, ...]
    seats: int
    valid: Number
    blank: Number
    quota: Number | None
    scale: int
    stages: tuple[Stage, ...]
    #: Candidate ids in order of election.
    elected: tuple[str, ...]
    excluded: tuple[str, ...]
    #: Seats left unfilled (fewer candidates than seats).
    unfilled: int
    lots: dict[str, Any]
    withdrawn: tuple[str, ...] = ()

    def name(self, candidate_id: str) -> str:
        return next(c.name for c in self.candidates if c.id == candidate_id)

    @property
    def elected_names(self) -> list[str]:
        return [self.name(c) for c in self.elected]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rules": self.rules,
            "rules_version": self.rules_version,
            "scale": self.scale,
            "candidates": [{"id": c.id, "name": c.name} for c in self.candidates],
            "withdrawn": list(self.withdrawn),
            "seats": self.seats,
            "valid": number(self.valid),
            "blank": number(self.blank),
            "quota": number(self.quota),
            "elected": self.elected_names,
            "elected_ids": list(self.elected),
            "excluded_ids": list(self.excluded),
            "unfilled": self.unfilled,
            "stages": [s.to_dict(self.candidates) for s in self.stages],
            "lots": self.lots,
        }

    def to_json(self) -> bytes:
        """Return the canonical JSON bytes of this result."""
        return canonical_bytes(self.to_dict())
