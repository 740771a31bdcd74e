"""One round of an exhaustive ballot (count_round): a majority elects, otherwise the fewest is
excluded, a tie for fewest by lot; weighted rounds in exact fractions. And the weighting of
confirmation votes by constituency (weight_confirmation), exact."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import (
    BallotError,
    Candidate,
    LotNeeded,
    build_profile,
    confirmation_per_ballot,
    count_round,
    draw,
    weight_confirmation,
    weight_constituencies,
)
from assembly.counting.rounds import RULES, RULES_VERSION

SEED = "5e" * 32
ABC = [Candidate("a", "Ada"), Candidate("b", "Ben"), Candidate("c", "Cy")]


def papers(*counts: int) -> dict[tuple[int, ...], int]:
    """Single-choice ballots: ``counts[i]`` papers for candidate ``i``."""
    return {(i,): n for i, n in enumerate(counts) if n}


def test_a_majority_of_the_valid_votes_elects() -> None:
    """A candidate with more than half of the valid votes is elected in one stage."""
    result = count_round(build_profile(ABC, papers(6, 3, 2)), seed=SEED)
    assert result.elected == ("a",)
    assert result.excluded == ()
    assert result.unfilled == 0
    (stage,) = result.stages
    assert stage.totals == (6, 3, 2)
    assert stage.elected == ("a",)
    assert "a has a majority of the valid votes (6/11)" in stage.notes
    data = result.to_dict()
    assert (data["method"], data["rules"], data["rules_version"]) == ("round", RULES, "1")
    assert RULES == "exhaustive-round" and RULES_VERSION == "1"
    assert data["lots"]["draws"] == []


def test_exactly_half_is_no_majority_and_the_fewest_is_excluded() -> None:
    """Half of the votes is not more than half: nobody is elected, and only the candidate
    with the fewest votes is excluded."""
    result = count_round(build_profile(ABC, papers(5, 3, 2)), seed=SEED)
    assert result.elected == ()
    assert result.excluded == ("c",)
    assert result.unfilled == 1
    assert result.stages[0].excluded == ("c",)
    assert result.stages[0].tie_breaks == ()


def test_a_tie_for_fewest_is_decided_by_lot_from_the_seed() -> None:
    """Two candidates level at the bottom: one lot, drawn as every other (context
    "exclusion", options sorted), recorded in the stage and in the count's lots."""
    result = count_round(build_profile(ABC, papers(4, 2, 2)), seed=SEED)
    expected = draw(bytes.fromhex(SEED), "exclusion", ["b", "c"])
    assert result.excluded == (expected.chosen,)
    (tie,) = result.stages[0].tie_breaks
    assert (tie.purpose, tie.candidates, tie.chosen, tie.by_lot) == (
        "exclusion",
        ("b", "c"),
        expected.chosen,
        True,
    )
    (recorded,) = result.lots["draws"]
    assert recorded["digest"] == expected.digest
    assert recorded["counter"] == expected.counter
    assert count_round(build_profile(ABC, papers(4, 2, 2)), seed=SEED) == result


def test_a_tie_for_fewest_without_a_seed_asks_for_one() -> None:
    """No seed, no lot: the count stops and says who is tied."""
    with pytest.raises(LotNeeded, match="exclusion is tied between b, c"):
        count_round(build_profile(ABC, papers(4, 2, 2)))


def test_a_lone_candidate_is_elected_by_every_vote() -> None:
    """The last candidate standing has all of the valid votes, so a majority."""
    result = count_round(build_profile(ABC[:1], papers(4)), seed=SEED)
    assert result.elected == ("a",)


def test_withdrawn_candidates_are_neither_counted_nor_excluded() -> None:
    """A withdrawn candidate's papers are blank and they are never the one excluded."""
    profile = build_profile(ABC, papers(4, 3, 1), withdrawn=[2])
    result = count_round(profile, seed=SEED)
    assert result.valid == 7 and result.blank == 1
    assert result.elected == ("a",)
    assert result.withdrawn == ("c",)


@pytest.mark.parametrize(
    ("ballots", "message"),
    [
        ({(0, 1): 1, (0,): 2}, "a round's ballot chooses one candidate, not 2"),
        ({}, "there are no valid ballots to count"),
    ],
)
def test_a_round_refuses_what_it_cannot_count(
    ballots: dict[tuple[int, ...], int], message: str
) -> None:
    """A ballot choosing two candidates, or no valid ballots at all, is refused."""
    with pytest.raises(BallotError, match=message):
        count_round(build_profile(ABC, ballots), seed=SEED)


def test_a_weighted_round_is_exact() -> None:
    """Weighted by constituency, a third each, the candidate with fewer papers can have the
    majority: 61/120 against 59/120 (the example assembly's second round)."""
    candidates = ABC[:2]
    weighted = weight_constituencies(
        {
            "workers": build_profile(candidates, papers(12, 8)),
            "service-users": build_profile(candidates, papers(5, 10)),
            "community": build_profile(candidates, papers(13, 11)),
        },
        {"workers": Fraction(1, 3), "service-users": Fraction(1, 3), "community": Fraction(1, 3)},
    )
    result = count_round(weighted.profile, seed=SEED)
    assert result.stages[0].totals == (Fraction(59, 120), Fraction(61, 120))
    assert result.elected == ("b",)
    assert result.valid == 1
    assert result.to_dict()["stages"][0]["totals"] == {"a": "59/120", "b": "61/120"}
    assert weighted.per_ballot == {
        "workers": Fraction(1, 60),
        "service-users": Fraction(1, 45),
        "community": Fraction(1, 72),
    }


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=5).filter(any),
    st.binary(min_size=32, max_size=32),
)
def test_a_round_elects_a_majority_or_excludes_one_of_the_fewest(
    counts: list[int], seed: bytes
) -> None:
    """For any single-choice papers: exactly one candidate is elected (with more than half)
    or excluded (with the fewest), and the same seed gives the same round."""
    candidates = [Candidate(f"c{i}", f"Candidate {i}") for i in range(len(counts))]
    profile = build_profile(candidates, papers(*counts))
    result = count_round(profile, seed=seed.hex())
    total = sum(counts)
    assert len(result.elected) + len(result.excluded) == 1
    if result.elected:
        winner = profile.index_of(result.elected[0])
        assert 2 * counts[winner] > total
    else:
        assert all(2 * n <= total for n in counts)
        loser = profile.index_of(result.excluded[0])
        assert counts[loser] == min(counts)
        assert bool(result.stages[0].tie_breaks) == (counts.count(min(counts)) > 1)
    assert count_round(profile, seed=seed.hex()) == result


# -- confirmation votes weighted by constituency ---------------------------------------------------

THIRDS = {"workers": Fraction(1, 3), "users": Fraction(1, 3), "community": Fraction(1, 3)}


def test_weighted_confirmation_worked_example() -> None:
    """Workers 3 yes 1 no, users 2 no, community 1 yes, a third each: yes = 1/3·3/4 + 1/3·1
    = 7/12 and no = 1/3·1/4 + 1/3·1 = 5/12."""
    counts = {"workers": (3, 1, 0), "users": (0, 2, 0), "community": (1, 0, 0)}
    assert weight_confirmation(counts, THIRDS) == (Fraction(7, 12), Fraction(5, 12), 0)
    assert confirmation_per_ballot(counts, THIRDS) == {
        "workers": Fraction(1, 12),
        "users": Fraction(1, 6),
        "community": Fraction(1, 3),
    }


def test_abstentions_weigh_as_their_constituencys_papers_but_never_decide() -> None:
    """An abstention weighs W_c/(yes_c + no_c); a constituency of abstentions only weighs
    nothing, and the shares are normalised over those that voted yes or no."""
    counts = {"workers": (1, 1, 2), "users": (0, 0, 5), "community": (3, 0, 1)}
    yes, no, abstain = weight_confirmation(counts, THIRDS)
    # Only workers and community voted yes or no: a half each.
    assert (yes, no) == (Fraction(1, 4) + Fraction(1, 2), Fraction(1, 4))
    assert abstain == 2 * Fraction(1, 4) + Fraction(1, 6)
    assert confirmation_per_ballot(counts, THIRDS)["users"] == 0


def test_constituencies_without_papers_or_counts_weigh_nothing() -> None:
    """A constituency listed in the weights with no papers (absent from counts) is left
    out, and with no yes or no anywhere everything weighs 0."""
    assert weight_confirmation({"workers": (2, 1, 0)}, THIRDS) == (
        Fraction(2, 3),
        Fraction(1, 3),
        0,
    )
    assert weight_confirmation({}, THIRDS) == (0, 0, 0)
    assert weight_confirmation({"users": (0, 0, 3)}, THIRDS) == (0, 0, 0)


@pytest.mark.parametrize(
    ("counts", "weights", "message"),
    [
        ({"staff": (1, 0, 0)}, THIRDS, "constituency 'staff' has papers but no weight"),
        ({"users": (1, 0, 0)}, {**THIRDS, "users": Fraction(-1, 3)}, "must not be negative"),
        ({"users": (-1, 0, 0)}, THIRDS, "counts must not be negative"),
        ({"users": (1, 0, 0)}, {**THIRDS, "users": Fraction(0)}, "has weight 0"),
    ],
)
def test_bad_confirmation_weights_are_refused(
    counts: dict[str, tuple[int, int, int]], weights: dict[str, Fraction], message: str
) -> None:
    """Papers without a weight, negative weights or counts, and voting constituencies that
    weigh nothing at all are refused with a reason."""
    with pytest.raises(BallotError, match=message):
        weight_confirmation(counts, weights)


tallies = st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20))
shares = st.fractions(min_value=Fraction(1, 10), max_value=3, max_denominator=12)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), tallies, min_size=1),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), shares, min_size=4, max_size=4),
    st.integers(1, 7),
)
def test_weighted_confirmation_properties(
    counts: dict[str, tuple[int, int, int]], weights: dict[str, Fraction], scale: int
) -> None:
    """Yes and no make 1 whenever anyone voted either; each equals the sum of each
    constituency's share times its fraction of yes (or no); scaling every weight changes
    nothing; and weights proportional to the yes-and-no papers give the unweighted result."""
    yes, no, abstain = weight_confirmation(counts, weights)
    voted = {k: t for k, t in counts.items() if t[0] + t[1]}
    if not voted:
        assert (yes, no, abstain) == (0, 0, 0)
        return
    assert yes + no == 1
    total = sum(weights[k] for k in voted)
    assert yes == sum(weights[k] / total * Fraction(t[0], t[0] + t[1]) for k, t in voted.items())
    assert abstain == sum(
        weights[k] / total * Fraction(t[2], t[0] + t[1]) for k, t in voted.items()
    )
    scaled = {k: w * scale for k, w in weights.items()}
    assert weight_confirmation(counts, scaled) == (yes, no, abstain)
    proportional = {k: Fraction(t[0] + t[1]) for k, t in voted.items()}
    papers_yes = sum(t[0] for t in voted.values())
    papers = sum(t[0] + t[1] for t in voted.values())
    plain = weight_confirmation(voted, proportional)
    assert plain[0] == Fraction(papers_yes, papers)
