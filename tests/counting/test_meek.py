"""Meek's method (``meek``): droop's reference counts, and Hypothesis properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import Candidate, CountResult, build_profile, read_ballot_file
from assembly.counting.rulesets import RULE_SETS, count_by_rules
from assembly.counting.stv_meek import KEEP_PLACES

from .test_properties import SEED, elections

DROOP = Path(__file__).parent / "data" / "droop"
#: droop prints its rational values to 12 decimal places.
PRINTED = Fraction(1, 10**12)


def _count(name: str) -> CountResult:
    ballot_file = read_ballot_file(DROOP / name)
    return count_by_rules(ballot_file.profile, ballot_file.seats, "meek")


def _quota(stage_notes: tuple[str, ...]) -> Fraction:
    [note] = [n for n in stage_notes if n.startswith("quota ")]
    return Fraction(note.removeprefix("quota "))


def _near(ours: object, printed: str) -> bool:
    assert isinstance(ours, int | Fraction)
    return abs(Fraction(ours) - Fraction(Decimal(printed))) <= PRINTED


def _check(result: CountResult, expected: list[dict[str, Any]]) -> None:
    assert len(result.stages) == len(expected)
    for stage, want in zip(result.stages, expected, strict=True):
        assert stage.action == want["action"], stage.number
        assert set(stage.elected) == set(want.get("elected", ())), stage.number
        assert set(stage.excluded) == set(want.get("excluded", ())), stage.number
        assert _near(_quota(stage.notes), str(want["quota"])), stage.number
        totals = want.get("totals", {})
        assert isinstance(totals, dict)
        for candidate, printed in totals.items():
            ours = stage.totals[int(candidate) - 1]
            assert _near(ours, printed), f"stage {stage.number} candidate {candidate}: {ours}"


def test_meek_is_a_registered_rule_set() -> None:
    """count_by_rules finds "meek", and its result names the rules and declares scale 1."""
    assert "meek" in RULE_SETS
    result = _count("42.blt")
    assert (result.rules, result.rules_version, result.scale) == ("meek", "1", 1)


def test_voting_matters_issue_12_example() -> None:
    """SC-Vm-12: A and B elected at once, Z a sure loser, then X by 0.018 over the quota —
    every value as droop's rational count prints it, to 12 places."""
    result = _count("SC-Vm-12.blt")
    _check(
        result,
        [
            {
                "action": "first-preferences",
                "elected": ("1", "2"),
                "quota": "1000.75",
                "totals": {"1": "1001", "2": "1001", "3": "667", "4": "667", "5": "667"},
            },
            {
                "action": "exclusion",
                "excluded": ("5",),
                "quota": "1000.75",
                "totals": {
                    "1": "1000.750000001993",
                    "2": "1000.750000001993",
                    "3": "667.166666769714",
                    "4": "667.166666644463",
                    "5": "0",
                },
            },
            {
                "action": "surplus",
                "elected": ("3",),
                "quota": "800.620526946008",
                "totals": {
                    "1": "800.642779367875",
                    "2": "800.642779367875",
                    "3": "800.638465678227",
                    "4": "800.558083370054",
                },
            },
        ],
    )
    assert result.elected_names == ["A", "B", "X"]
    [note] = [n for n in result.stages[1].notes if n.startswith("5 defeated with ")]
    assert _near(Fraction(note.removeprefix("5 defeated with ")), "667.166666581838")
    # Y is defeated, without a stage, once X fills the last seat.
    assert result.excluded == ("5", "4")


def test_gpus_steering_committee_2005() -> None:
    """SC (13 candidates, 4 seats): the batches of sure losers, the elections and the quota
    falling as papers exhaust, as in droop's reference count."""
    result = _count("SC.blt")
    _check(
        result,
        [
            {
                "action": "first-preferences",
                "elected": ("4", "7"),
                "quota": "18.8",
                "totals": {"1": "6", "3": "8", "4": "22", "7": "33", "13": "18"},
            },
            {
                "action": "exclusion",
                "excluded": ("6", "9", "10", "11", "12"),
                "quota": "18.8",
                "totals": {"1": "7.878787878788", "2": "3.208044077135", "5": "2.721212121212"},
            },
            {"action": "exclusion", "excluded": ("2", "5"), "quota": "18.8"},
            {
                "action": "surplus",
                "elected": ("13",),
                "quota": "18.8",
                "totals": {
                    "1": "8.878787878788",
                    "3": "10.448484848485",
                    "4": "20.389972451791",
                    "7": "19.535426997245",
                    "8": "14.749421487603",
                    "13": "19.997906336088",
                },
            },
            {"action": "exclusion", "excluded": ("1",), "quota": "18.794015522283"},
            {
                "action": "surplus",
                "elected": ("8",),
                "quota": "18.591521682196",
                "totals": {
                    "3": "16.382856043283",
                    "4": "19.169509130428",
                    "7": "19.150381530598",
                    "8": "18.981163611635",
                    "13": "19.273698095036",
                },
            },
        ],
    )
    assert sorted(result.elected_names) == [
        "Kristen Olsen",
        "Pat LaMarche",
        "Rebecca Rotzler",
        "Steve Kramer",
    ]
    # Budd Dickinson's vote when defeated, as droop prints it.
    [note] = [n for n in result.stages[4].notes if n.startswith("1 defeated with ")]
    assert _near(Fraction(note.removeprefix("1 defeated with ")), "9.779859534492")


@pytest.mark.parametrize(("name", "helen"), [("42.blt", "2"), ("513.blt", "3")])
def test_pollux_and_helen_tie_is_decided_by_the_earlier_stage(name: str, helen: str) -> None:
    """42 and 513: once Castor's surplus passes, Pollux and Helen are level; Pollux had fewer
    first preferences, so he is defeated (droop, by its tie order, defeats him too) and Helen
    fills the second seat — with no lot."""
    result = _count(name)
    assert result.elected_names == ["Castor", "Helen"]
    second = result.stages[1]
    assert (second.action, second.excluded, second.elected) == ("exclusion", ("2",), ("3",))
    [tie] = second.tie_breaks
    assert (tie.chosen, tie.stage, tie.by_lot) == ("2", 1, False)
    assert second.totals[0] == second.totals[2] == Fraction(helen)
    assert result.lots["draws"] == []


def test_a_candidate_over_the_quota_keeps_exactly_what_meek_says() -> None:
    """Keep factors are exact fractions rounded up to KEEP_PLACES places, never floats."""
    result = _count("SC-Vm-12.blt")
    for stage in result.stages:
        for total in stage.totals:
            assert isinstance(total, int | Fraction)
    assert KEEP_PLACES >= 12


def _meek(election: tuple[list[Candidate], list[tuple[int, ...]]], seats: int) -> CountResult:
    candidates, papers = election
    return count_by_rules(build_profile(candidates, papers), seats, "meek", seed=SEED)


@settings(max_examples=150, deadline=None)
@given(elections(), st.integers(min_value=1, max_value=5))
def test_meek_quota_never_rises(election, seats: int) -> None:
    """The quota is the votes still held ÷ (seats + 1): as papers exhaust it can only fall."""
    result = _meek(election, seats)
    quotas = [_quota(stage.notes) for stage in result.stages]
    assert quotas == sorted(quotas, reverse=True)
    assert quotas[0] == Fraction(len(election[1]), seats + 1)
