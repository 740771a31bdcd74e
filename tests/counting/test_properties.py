"""Hypothesis properties of the counts: conservation, seats filled, order and repeatability."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import (
    Candidate,
    CountResult,
    build_profile,
    count_irv,
    count_plurality,
)
from assembly.counting.rulesets import RULE_SETS, count_by_rules

SEED = "5eed"


@st.composite
def elections(
    draw: st.DrawFn, max_candidates: int = 7
) -> tuple[list[Candidate], list[tuple[int, ...]]]:
    n = draw(st.integers(min_value=1, max_value=max_candidates))
    candidates = [Candidate(str(i + 1), f"Candidate {i + 1}") for i in range(n)]
    ranking = st.permutations(range(n)).flatmap(
        lambda order: st.integers(min_value=1, max_value=n).map(lambda k: tuple(order[:k]))
    )
    papers = draw(st.lists(ranking, min_size=1, max_size=60))
    return candidates, papers


#: Every STV rule set is held to the same properties; each rule set's own file adds its rules.
RULES = sorted(RULE_SETS)


def _count(
    rules: str,
    candidates: list[Candidate],
    papers: list[tuple[int, ...]],
    seats: int,
    seed: str = SEED,
) -> CountResult:
    return count_by_rules(build_profile(candidates, papers), seats, rules, seed=seed)


@pytest.mark.parametrize("rules", RULES)
@settings(max_examples=150, deadline=None)
@given(election=elections(), seats=st.integers(min_value=1, max_value=5))
def test_stv_conserves_every_vote_and_fills_every_seat(rules: str, election, seats: int) -> None:
    """At every stage the candidates' totals plus the non-transferable value equal the valid
    poll (in the rule set's own units), and exactly min(seats, candidates) are elected."""
    candidates, papers = election
    result = _count(rules, candidates, papers, seats)
    assert result.rules == rules
    for stage in result.stages:
        assert sum(stage.totals) + stage.non_transferable == len(papers) * result.scale
        assert 0 <= stage.lost_to_rounding <= stage.non_transferable
    assert len(result.elected) == min(seats, len(candidates))
    assert len(set(result.elected)) == len(result.elected)
    assert result.unfilled == seats - len(result.elected)


@pytest.mark.parametrize("rules", RULES)
@settings(max_examples=100, deadline=None)
@given(
    election=elections(max_candidates=6),
    seats=st.integers(min_value=1, max_value=4),
    data=st.data(),
)
def test_a_unanimous_first_choice_is_elected_at_the_first_stage(
    rules: str, election, seats: int, data
) -> None:
    """If every paper puts the same candidate first, every rule set elects that candidate at
    stage 1, whatever the later preferences."""
    candidates, papers = election
    favourite = data.draw(st.integers(min_value=0, max_value=len(candidates) - 1))
    unanimous = [(favourite, *(c for c in paper if c != favourite)) for paper in papers]
    result = _count(rules, candidates, unanimous, seats)
    assert candidates[favourite].id in result.stages[0].elected
    assert candidates[favourite].id in result.elected


@pytest.mark.parametrize("rules", RULES)
@settings(max_examples=75, deadline=None)
@given(
    election=elections(),
    seats=st.integers(min_value=1, max_value=4),
    shuffler=st.randoms(use_true_random=False),
)
def test_ballot_order_does_not_matter(
    rules: str, election, seats: int, shuffler: random.Random
) -> None:
    """Counting the same papers in another order gives the same canonical bytes."""
    candidates, papers = election
    shuffled = list(papers)
    shuffler.shuffle(shuffled)
    first = _count(rules, candidates, papers, seats)
    second = _count(rules, candidates, shuffled, seats)
    assert first.to_json() == second.to_json()


@settings(max_examples=150, deadline=None)
@given(elections(), st.integers(min_value=1, max_value=4), st.binary(min_size=1, max_size=8))
def test_same_input_and_seed_give_the_same_bytes(election, seats: int, seed: bytes) -> None:
    """A count is a function of its ballots and seed: repeating it repeats every byte, by
    every STV rule set, IRV and the block vote."""
    candidates, papers = election
    profile = build_profile(candidates, papers)
    counts = [
        lambda: count_irv(profile, seed=seed.hex()),
        lambda: count_plurality(profile, seats, seed=seed.hex()),
    ]
    counts += [
        lambda rules=rules: count_by_rules(profile, seats, rules, seed=seed.hex())
        for rules in RULES
    ]
    for count in counts:
        assert count().to_json() == count().to_json()


@settings(max_examples=300, deadline=None)
@given(elections())
def test_irv_winner_has_a_majority_of_continuing_votes(election) -> None:
    """The IRV winner holds more than half the votes still in the count when elected."""
    candidates, papers = election
    result = count_irv(build_profile(candidates, papers), seed=SEED)
    [winner] = result.elected
    final = result.stages[-1]
    index = int(winner) - 1
    continuing = [i for i, c in enumerate(candidates) if c.id not in result.excluded]
    live_total = sum(final.totals[i] for i in continuing)
    assert 2 * final.totals[index] > live_total or continuing == [index]
    for stage in result.stages:
        assert sum(stage.totals) + stage.non_transferable == len(papers)


@settings(max_examples=200, deadline=None)
@given(elections(), st.integers(min_value=1, max_value=4))
def test_block_vote_elects_the_top_candidates(election, seats: int) -> None:
    """Nobody left out of a block vote has more votes than anybody elected."""
    candidates, papers = election
    result = count_plurality(build_profile(candidates, papers), seats, seed=SEED)
    totals = dict(zip((c.id for c in candidates), result.stages[0].totals, strict=True))
    assert len(result.elected) == min(seats, len(candidates))
    losers = [c for c in totals if c not in result.elected]
    if losers:
        assert min(totals[c] for c in result.elected) >= max(totals[c] for c in losers)
