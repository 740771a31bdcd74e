"""ERS97 rules (``ers97``): published worked figures, rule-by-rule cases, Hypothesis properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import Candidate, CountResult, build_profile
from assembly.counting.rulesets import RULE_SETS, count_by_rules
from assembly.counting.stv_ers97 import SCALE, ers97_quota

from .test_properties import SEED, elections


def _candidates(names: str) -> list[Candidate]:
    return [Candidate(str(i + 1), name) for i, name in enumerate(names.split())]


def _count(
    names: str, ballots: dict[tuple[int, ...], int], seats: int, seed: str | None = None
) -> CountResult:
    return count_by_rules(build_profile(_candidates(names), ballots), seats, "ers97", seed=seed)


def _quota(stage_notes: tuple[str, ...]) -> int:
    [note] = [n for n in stage_notes if n.startswith("quota ")]
    return int(note.removeprefix("quota "))


def test_ers97_is_a_registered_rule_set() -> None:
    """count_by_rules finds "ers97"; values are in hundredths of a vote (scale 100)."""
    assert "ers97" in RULE_SETS
    result = _count("A B", {(0,): 3, (1,): 1}, 1)
    assert (result.rules, result.rules_version, result.scale) == ("ers97", "1", SCALE)


def test_quota_is_taken_to_two_places_and_rounded_up() -> None:
    """5.1.6, with the figures DrooPHP's ERS97 test asserts (pjcdawkins/DrooPHP
    tests/Ers97Test.php) and the model election's 753 ÷ 7 = 107.5714… → 107.58 (ERS97 §8.1)."""
    assert ers97_quota(100 * SCALE, 1) == 5000
    assert ers97_quota(104 * SCALE, 1) == 5200
    assert ers97_quota(105 * SCALE, 1) == 5250
    assert ers97_quota(107 * SCALE, 2) == 3567
    assert ers97_quota(108 * SCALE, 2) == 3600
    assert ers97_quota(753 * SCALE, 6) == 10758


def test_model_election_second_stage() -> None:
    """ERS97 §8 (the model election: 753 valid votes, 11 candidates, 6 places): Smith's 134
    exceed the quota of 107.58; his surplus of 26.42 exceeds the gap between the last two
    (24 − 23 = 1), so it is transferred; 123 of his 134 papers are transferable, at 0.21 each
    (25.83 in all), and the non-transferable difference is 0.59. The other candidates' first
    preferences are not in the excerpt used; these are made up to fit it."""
    names = "Smith A B C D E F G H I J"
    firsts = [134, 100, 95, 90, 85, 80, 62, 60, 24, 23]
    ballots: dict[tuple[int, ...], int] = {}
    for candidate, votes in enumerate(firsts[1:], start=1):
        ballots[(candidate,)] = votes
    ballots[(10,)] = 0
    # Smith's papers: 123 with a next preference (spread over A…F), 11 with none.
    for k, (target, count) in enumerate([(1, 30), (2, 25), (3, 20), (4, 18), (5, 15), (6, 15)]):
        ballots[(0, target, 7 + k % 3)] = count
    ballots[(0,)] = 11
    result = _count(names, {k: v for k, v in ballots.items() if v}, 6)
    assert result.valid == 753
    first, second = result.stages[0], result.stages[1]
    assert _quota(first.notes) == 10758
    assert first.elected == ("1",)
    assert (second.action, second.candidate) == ("surplus", "1")
    assert second.surplus == 2642 and second.transferred_from_total == 13400
    assert "transfer value 21 of 123 transferable papers" in second.notes
    assert sum(c for c in second.changes[1:]) == 2583
    assert second.non_transferable == second.lost_to_rounding == 59
    assert second.totals[0] == 10758


def test_wikipedia_counting_example() -> None:
    """The Wikipedia "Counting Single Transferable Votes" example that DrooPHP's ERS97 test
    counts (tests/data/wikipedia-counting_stv.blt): Andrea and Carter are elected. By hand
    under 5.3.7: quota 19.00, Andrea's surplus 21 over 40 transferable papers at 0.52, 0.20
    non-transferable; Brad (8.32) is excluded and Carter reaches 20.80."""
    ballots = {(0, 1, 2, 3): 16, (0, 2, 1, 3): 24, (3, 0, 1, 2): 17}
    result = _count("Andrea Brad Carter Delilah", ballots, 2)
    assert result.elected_names == ["Andrea", "Carter"]
    assert result.quota == 1900
    surplus, exclusion = result.stages[1], result.stages[2]
    assert surplus.totals == (1900, 832, 1248, 1700) and surplus.non_transferable == 20
    assert (exclusion.excluded, exclusion.elected) == (("2",), ("3",))
    assert exclusion.totals[2] == 2080


def test_a_small_surplus_is_deferred() -> None:
    """5.2.2(a): A's surplus of 13.33 cannot lift D (1) past C (19), so D is excluded first."""
    result = _count("A B C D", {(0, 1): 40, (1,): 20, (2,): 19, (3, 2): 1}, 2)
    second = result.stages[1]
    assert (second.action, second.excluded) == ("exclusion", ("4",))
    assert any("deferred" in note for note in second.notes)


def test_lowest_candidates_are_excluded_together() -> None:
    """5.2.5: E (0), C (1) and D (1) together have 2, not more than B's 9: all three are
    excluded in one stage, with no tie-break between the level C and D; B then passes A."""
    result = _count("A B C D E", {(0,): 10, (1,): 9, (2, 1): 1, (3, 1): 1}, 1)
    second = result.stages[1]
    assert second.action == "exclusion" and set(second.excluded) == {"3", "4", "5"}
    assert second.tie_breaks == ()
    assert second.elected == ("2",) and second.totals[1] == 1100


def test_equal_candidates_who_never_differed_are_not_both_elected() -> None:
    """5.6.2: 50 against 50 for one place: both reach the quota of 50.00 but were equal at every
    point, so neither is deemed elected at the first stage; 5.2.5's lot excludes one, and 5.5.1
    elects the other."""
    result = _count("A B", {(0,): 50, (1,): 50}, 1, seed="5eed")
    first = result.stages[0]
    assert first.elected == () and any("5.6.2" in note for note in first.notes)
    [draw] = result.lots["draws"]
    assert draw["context"] == "exclusion"
    assert len(result.elected) == 1 and result.elected[0] != draw["chosen"]


def test_equal_lowest_are_separated_by_the_earliest_point() -> None:
    """5.2.5: after A's surplus (two papers passing to C at full value) C and D have 5 each;
    C had fewer at the first stage, so C is excluded, with no lot."""
    ballots = {(0, 2): 2, (0,): 18, (1,): 9, (2,): 3, (3,): 5}
    result = _count("A B C D", ballots, 2)
    surplus, exclusion = result.stages[1], result.stages[2]
    assert surplus.totals[2] == surplus.totals[3] == 500
    assert exclusion.excluded == ("3",)
    [tie] = exclusion.tie_breaks
    assert (tie.purpose, tie.chosen, tie.stage, tie.by_lot) == ("exclusion", "3", 1, False)
    assert result.lots["draws"] == []
    assert result.elected_names == ["A", "B"]


def _ers97(election: tuple[list[Candidate], list[tuple[int, ...]]], seats: int) -> CountResult:
    candidates, papers = election
    return count_by_rules(build_profile(candidates, papers), seats, "ers97", seed=SEED)


@settings(max_examples=300, deadline=None)
@given(elections(), st.integers(min_value=1, max_value=5))
def test_ers97_quota_never_rises(election, seats: int) -> None:
    """5.1.6 then 5.4.8: the quota starts at the valid vote ÷ (seats + 1), rounded up to 0.01,
    and can only be reduced (by papers becoming non-transferable before anyone is elected)."""
    result = _ers97(election, seats)
    quotas = [_quota(stage.notes) for stage in result.stages]
    assert quotas == sorted(quotas, reverse=True)
    assert quotas[0] == ers97_quota(len(election[1]) * SCALE, seats)
