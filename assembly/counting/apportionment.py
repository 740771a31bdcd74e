"""Apportioning board seats to constituencies by weight, exactly.

Largest remainder (Hamilton; the default): each constituency's exact quota is
``seats × weight ÷ total weight``; each gets the whole part of its quota, and the seats left
go one each to the largest remainders. Sainte-Laguë: seats are given one at a time to the
constituency with the highest ``weight ÷ (2s + 1)``, where ``s`` is the seats it has so far.
Everything is a ``Fraction``; a tie for the last seat(s) is decided by lot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from assembly.counting.lots import Lots
from assembly.counting.results import number

__all__ = ["METHODS", "Apportionment", "ApportionmentError", "apportion"]

METHODS = ("largest-remainder", "sainte-lague")


class ApportionmentError(ValueError):
    """The seats or weights cannot be apportioned."""


@dataclass(frozen=True)
class Apportionment:
    method: str
    seats: int
    weights: dict[str, Fraction]
    #: Each constituency's exact share of the seats (largest remainder) or of the weight.
    quotas: dict[str, Fraction]
    seats_by_key: dict[str, int]
    lots: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "seats": self.seats,
            "weights": {k: number(v) for k, v in self.weights.items()},
            "quotas": {k: number(v) for k, v in self.quotas.items()},
            "allocation": dict(self.seats_by_key),
            "lots": self.lots,
        }


def _check(weights: Mapping[str, Fraction | int], seats: int) -> dict[str, Fraction]:
    if seats < 0:
        raise ApportionmentError("the number of seats must not be negative")
    if not weights:
        raise ApportionmentError("there are no constituencies to share the seats")
    exact = {key: Fraction(value) for key, value in weights.items()}
    if any(value < 0 for value in exact.values()):
        raise ApportionmentError("weights must not be negative")
    if sum(exact.values()) == 0:
        raise ApportionmentError("at least one weight must be more than 0")
    return exact


def _award(lots: Lots, candidates: list[str], count: int, purpose: str) -> list[str]:
    """Choose ``count`` of ``candidates`` by successive draws."""
    chosen: list[str] = []
    pool = list(candidates)
    for _ in range(count):
        pick = lots.choose(purpose, pool)
        chosen.append(pick)
        pool.remove(pick)
    return chosen


def apportion(
    weights: Mapping[str, Fraction | int],
    seats: int,
    *,
    method: str = "largest-remainder",
    seed: str | None = None,
) -> Apportionment:
    """Share ``seats`` among the keys of ``weights`` in proportion to them.

    :raises ApportionmentError: bad seats, weights or method.
    :raises LotNeeded: a tie for the last seat needs a lot and no seed was given.
    """
    exact = _check(weights, seats)
    lots = Lots.from_hex(seed)
    total = sum(exact.values())
    keys = sorted(exact)
    if method == "largest-remainder":
        quotas = {k: seats * exact[k] / total for k in keys}
        allocation = {k: int(quotas[k]) for k in keys}  # floor: quotas are non-negative
        left = seats - sum(allocation.values())
        remainders = {k: quotas[k] - allocation[k] for k in keys}
        ranked = sorted(keys, key=lambda k: -remainders[k])
        while left > 0:
            best = remainders[ranked[0]]
            level = [k for k in ranked if remainders[k] == best]
            winners = (
                level if len(level) <= left else _award(lots, level, left, "largest remainder")
            )
            for k in winners:
                allocation[k] += 1
            left -= len(winners)
            ranked = [k for k in ranked if k not in level]
    elif method == "sainte-lague":
        quotas = {k: exact[k] / total for k in keys}
        allocation = dict.fromkeys(keys, 0)
        left = seats
        while left > 0:
            priority = {k: exact[k] / (2 * allocation[k] + 1) for k in keys}
            best = max(priority.values())
            level = [k for k in keys if priority[k] == best]
            winners = level if len(level) <= left else _award(lots, level, left, "next seat")
            for k in winners:
                allocation[k] += 1
            left -= len(winners)
    else:
        raise ApportionmentError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    return Apportionment(method, seats, exact, quotas, allocation, lots.to_dict())
