"""Constituency weighting for single-winner votes: each constituency's ballots together weigh
its share, so each ballot weighs ``W_c / N_c``.

``W_c`` is the constituency's weight divided by the sum of the weights of the constituencies
being combined; ``N_c`` is the number of valid ballots cast in it. A constituency in which
nobody voted contributes nothing (its share is recorded as unused). Every weight is an exact
``Fraction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from assembly.counting.ballots import BallotError, Profile, Weight, build_profile

__all__ = ["WeightedProfile", "weight_constituencies"]


@dataclass(frozen=True)
class WeightedProfile:
    profile: Profile
    #: Each constituency's weight per ballot, ``W_c / N_c`` (0 where nobody voted).
    per_ballot: dict[str, Fraction]
    #: The share of constituencies in which nobody voted.
    unused_share: Fraction


def weight_constituencies(
    profiles: Mapping[str, Profile], weights: Mapping[str, Fraction | int]
) -> WeightedProfile:
    """Combine each constituency's ballots into one profile weighted by constituency.

    :raises BallotError: the constituencies' candidates differ, a weight is missing or
        negative, or the weights sum to zero.
    """
    if set(profiles) != set(weights):
        raise BallotError("every constituency needs both ballots and a weight")
    exact = {k: Fraction(v) for k, v in weights.items()}
    if any(v < 0 for v in exact.values()) or sum(exact.values()) == 0:
        raise BallotError("weights must not be negative and must not all be 0")
    candidate_lists = {p.candidates for p in profiles.values()}
    if len(candidate_lists) != 1:
        raise BallotError("every constituency must vote on the same candidates")
    (candidates,) = candidate_lists
    total_weight = sum(exact.values())
    combined: dict[tuple[int, ...], Weight] = {}
    per_ballot: dict[str, Fraction] = {}
    unused = Fraction(0)
    blank: Weight = 0
    for key in sorted(profiles):
        profile = profiles[key]
        share = exact[key] / total_weight
        papers = profile.valid
        if papers == 0:
            per_ballot[key] = Fraction(0)
            unused += share
            continue
        each = share / papers
        per_ballot[key] = each
        blank += profile.blank * each
        for ranking, count in profile.rankings:
            combined[ranking] = combined.get(ranking, 0) + count * each
    profile = build_profile(candidates, combined)
    return WeightedProfile(
        Profile(profile.candidates, profile.rankings, blank, profile.withdrawn),
        per_ballot,
        unused,
    )
