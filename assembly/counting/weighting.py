"""Constituency weighting for single-winner votes: each constituency's ballots together weigh
its share, so each ballot weighs ``W_c / N_c``.

``W_c`` is the constituency's weight divided by the sum of the weights of the constituencies
being combined; ``N_c`` is the number of valid ballots cast in it. A constituency in which
nobody voted contributes nothing (its share is recorded as unused). Every weight is an exact
``Fraction``.

Confirmation votes (``weight_confirmation``) weigh the same way, with two differences: a
constituency's papers are its yes and no votes (``N_c = yes_c + no_c``), and ``W_c`` is
normalised over the constituencies where someone voted yes or no, so that yes and no
together make one whole whenever anyone voted either. Abstentions are recorded, weighted
as the constituency's other papers, but never decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from assembly.counting.ballots import BallotError, Profile, Weight, build_profile

__all__ = [
    "WeightedProfile",
    "confirmation_per_ballot",
    "weight_confirmation",
    "weight_constituencies",
]


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


def confirmation_per_ballot(
    counts: Mapping[str, tuple[int, int, int]], weights: Mapping[str, Fraction | int]
) -> dict[str, Fraction]:
    """Each constituency's weight per paper in a confirmation vote: ``W_c / (yes_c + no_c)``,
    with ``W_c`` normalised over the constituencies where someone voted yes or no (0 in the
    others). ``counts`` holds each constituency's (yes, no, abstain); a constituency of
    ``weights`` missing from it had no papers.

    :raises BallotError: a constituency without a weight, a negative weight or count, or
        constituencies that voted whose weights are all 0.
    """
    unknown = sorted(set(counts) - set(weights))
    if unknown:
        raise BallotError(f"constituency {unknown[0]!r} has papers but no weight")
    exact = {k: Fraction(v) for k, v in weights.items()}
    if any(v < 0 for v in exact.values()):
        raise BallotError("weights must not be negative")
    tallies = {k: counts.get(k, (0, 0, 0)) for k in exact}
    if any(n < 0 for tally in tallies.values() for n in tally):
        raise BallotError("yes, no and abstain counts must not be negative")
    voted = [k for k, (yes, no, _) in tallies.items() if yes + no > 0]
    total_weight = sum((exact[k] for k in voted), Fraction(0))
    if voted and total_weight == 0:
        raise BallotError("every constituency that voted yes or no has weight 0")
    per_ballot = {k: Fraction(0) for k in sorted(exact)}
    for key in voted:
        yes, no, _ = tallies[key]
        per_ballot[key] = exact[key] / total_weight / (yes + no)
    return per_ballot


def weight_confirmation(
    counts: Mapping[str, tuple[int, int, int]], weights: Mapping[str, Fraction | int]
) -> tuple[Fraction, Fraction, Fraction]:
    """Weigh a confirmation vote's (yes, no, abstain) papers by constituency: each paper
    weighs ``confirmation_per_ballot``; the result is the weighted (yes, no, abstain).

    :raises BallotError: as ``confirmation_per_ballot``.
    """
    per_ballot = confirmation_per_ballot(counts, weights)
    yes = no = abstain = Fraction(0)
    for key, each in per_ballot.items():
        y, n, a = counts.get(key, (0, 0, 0))
        yes += y * each
        no += n * each
        abstain += a * each
    return yes, no, abstain
