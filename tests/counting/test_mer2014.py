"""The ``nhs-mer-2014`` rule set: NHS foundation trust Model Election Rules 2014 STV, after the
Northern Ireland local election rules (SI 1985/454 Sch., rr.47–52).

No public count under these rules publishes its ballots (Northern Ireland counts by hand and
publishes only stage totals), so no official count can be recounted here. The examples below
are small counts worked by hand from the rule text, the arithmetic written out in each
docstring; the real-ballot test counts the 32 Scottish wards of ``../shared/data/stv`` by
these rules, which is a check of robustness, not an official result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import Candidate, LotNeeded, Lots, build_profile, read_ballot_file
from assembly.counting.ballots import BallotError
from assembly.counting.rulesets import DEFAULT_RULES, RULE_SETS, count_by_rules
from assembly.counting.stv_mer2014 import RULES, SCALE, count_stv, quota
from assembly.counting.ties import break_tie

from .test_properties import elections

SEED = "5eed"

DATA = Path(
    os.environ.get("ASSEMBLY_STV_DATA")
    or Path(__file__).resolve().parents[3] / "shared" / "data" / "stv"
)


def _candidates(n: int) -> list[Candidate]:
    return [Candidate(chr(ord("A") + i), f"Candidate {chr(ord('A') + i)}") for i in range(n)]


def _papers(text: str) -> dict[tuple[int, ...], int]:
    """``"30 AB, 10 ABD"`` → {(0, 1): 30, (0, 1, 3): 10}."""
    ballots: dict[tuple[int, ...], int] = {}
    for item in text.split(","):
        count, ranking = item.split()
        ballots[tuple(ord(c) - ord("A") for c in ranking)] = int(count)
    return ballots


def _count(n: int, papers: str, seats: int, seed: str | None = None) -> Any:
    return count_stv(build_profile(_candidates(n), _papers(papers)), seats, seed=seed)


def _votes(value: str) -> int:
    """``"18.99"`` → 1899 units."""
    whole, _, part = value.partition(".")
    return int(whole) * SCALE + int((part + "00")[:2])


def _totals(stage: Any) -> list[int]:
    return list(stage.totals)


# -- hand-worked examples ---------------------------------------------------------------------

EXAMPLE_A = "30 AB, 10 ABD, 7 AC, 5 A, 10 BE, 15 C, 12 DC, 8 ED"


def test_surpluses_use_transferable_papers_and_the_last_sub_parcel() -> None:
    """Worked by hand: 97 valid papers, 3 seats.

    r.48: quota = 97 ÷ 4 = 24.25 → 24, + 1 = 25.
    Stage 1: A 52, B 10, C 15, D 12, E 8. A is elected with a surplus of 27.
      r.49(10): the surplus (27) is not less than the gap E→B (2), nor any group gap: transfer.
    Stage 2 (r.49(1)–(4)): all A's papers; 47 are transferable (30 AB + 10 ABD to B, 7 AC to
      C; 5 A have no further preference). Transfer value 27 ÷ 47 = 0.5744… → 0.57.
      B + 40 × 0.57 = 22.80 → 32.80; C + 7 × 0.57 = 3.99 → 18.99; A keeps 25.
      Non-transferable 27 − 26.79 = 0.21 (all lost to truncation). B is elected (32.80 ≥ 25).
    Stage 3 (r.49(5)–(7)): B's surplus 7.80 comes from the sub-parcel B last received, the 40
      papers from A at 0.57; B's own 10 BE papers are not looked at, so E gains nothing.
      Of the 40, only the 10 ABD are transferable: 7.80 ÷ 10 = 0.78, more than the 0.57 at
      which they were received, so they pass at 0.57: D + 5.70 → 17.70.
      Non-transferable + (7.80 − 5.70) = 2.31, of which truncation 0.21 (nothing was cut).
      r.52(2): one vacancy; C 18.99 < D 17.70 + E 8. No.
    Stage 4 (r.51): lowest E 8 (E + D = 25.70 is not below C, so no r.51(12) group).
      8 ED → D at 1.00: D 25.70, elected. A, B, D.
    """
    result = _count(5, EXAMPLE_A, 3)
    assert result.quota == 25 * SCALE and result.scale == 100
    assert [s.action for s in result.stages] == [
        "first-preferences",
        "surplus",
        "surplus",
        "exclusion",
    ]
    stage2, stage3, stage4 = result.stages[1:]
    assert _totals(stage2) == [_votes(v) for v in ("25", "32.80", "18.99", "12", "8")]
    assert stage2.non_transferable == stage2.lost_to_rounding == _votes("0.21")
    assert stage2.surplus == 27 * SCALE
    assert _totals(stage3) == [_votes(v) for v in ("25", "25", "18.99", "17.70", "8")]
    assert stage3.changes[4] == 0  # E: B's first-preference papers stay with B
    assert stage3.surplus == _votes("7.80")
    assert stage3.non_transferable == _votes("2.31")
    assert stage3.lost_to_rounding == _votes("0.21")
    assert _totals(stage4) == [_votes(v) for v in ("25", "25", "18.99", "25.70", "0")]
    assert result.elected == ("A", "B", "D")


EXAMPLE_B = "14 D, 12 ADFCE, 6 BFCA, 11 FA, 3 F, 19 CBA, 13 FED"


def test_an_exclusion_passes_sub_parcels_in_stages_and_surpluses_wait_for_it() -> None:
    """Worked by hand: 78 valid papers, 3 seats.

    r.48: quota = 78 ÷ 4 = 19.5 → 19, + 1 = 20.
    Stage 1: A 12, B 6, C 19, D 14, E 0, F 27. F is elected with a surplus of 7.
    Stage 2: 24 of F's papers are transferable (11 FA, 13 FED; 3 F are not): 7 ÷ 24 =
      0.2916… → 0.29. A + 3.19 → 15.19, E + 3.77 → 3.77. Non-transferable 0.04.
    Stage 3 (r.51(12)): E 3.77 + B 6 = 9.77 < D 14 (E + B + D = 23.77 is not below A 15.19),
      so E and B are excluded together. First their first-preference papers (r.51(2)–(3)):
      6 BFCA → C (F is elected) at 1.00: C 25, elected with a surplus of 5.
    Stage 4 (r.51(5)–(9)): then the papers they received, by transfer value: E's 13 FED at
      0.29 → D + 3.77 → 17.77. C's surplus waits until the exclusion is done (r.51(11)).
    Stage 5 (r.49(5)): C's surplus 5 from the sub-parcel last received, the 6 BFCA at 1.00
      (not C's 19 CBA first preferences): 5 ÷ 6 = 0.833… → 0.83, A + 4.98 → 20.17, elected.
      Non-transferable 0.04 + 0.02 = 0.06. F, C, A.
    """
    result = _count(6, EXAMPLE_B, 3)
    assert result.quota == 20 * SCALE
    assert [(s.action, s.candidate, s.excluded) for s in result.stages] == [
        ("first-preferences", None, ()),
        ("surplus", "F", ()),
        ("exclusion", "E", ("E", "B")),
        ("exclusion", "E", ()),
        ("surplus", "C", ()),
    ]
    totals = [_totals(s) for s in result.stages]
    assert totals[1] == [_votes(v) for v in ("15.19", "6", "19", "14", "3.77", "20")]
    assert totals[2] == [_votes(v) for v in ("15.19", "0", "25", "14", "3.77", "20")]
    assert totals[3] == [_votes(v) for v in ("15.19", "0", "25", "17.77", "0", "20")]
    assert totals[4] == [_votes(v) for v in ("20.17", "0", "20", "17.77", "0", "20")]
    assert result.stages[2].elected == ("C",)
    assert result.stages[4].non_transferable == _votes("0.06")
    assert result.elected == ("F", "C", "A")


EXAMPLE_C = "23 AB, 14 B, 13 C, 6 DC, 3 EB, 1 FD"


def test_a_small_surplus_is_deferred_and_the_lowest_are_excluded_together() -> None:
    """Worked by hand: 60 valid papers, 2 seats.

    r.48: quota = 60 ÷ 3 = 20, + 1 = 21.
    Stage 1: A 23, B 14, C 13, D 6, E 3, F 1. A is elected with a surplus of 2.
    r.49(10): (a) the gap F→E is 2, and 2 is not less than 2; but (b) F + E + D = 10 and C
      is 13: the gap 3 exceeds the surplus, so the surplus is not transferred.
    Stage 2 (r.51(12)): F + E + D + C with the surplus is 25, not below B 14; F + E + D with
      the surplus is 12 < C 13: F, E and D are excluded in one operation.
      1 FD: D is excluded too → non-transferable 1. 3 EB → B 17. 6 DC → C 19.
    r.52(2): one vacancy; C 19 ≥ B 17 + A's untransferred surplus 2 = 19: C is elected, and
      nothing more is transferred (r.52(3)). A, C.
    """
    result = _count(6, EXAMPLE_C, 2)
    assert len(result.stages) == 2
    stage2 = result.stages[1]
    assert stage2.action == "exclusion" and stage2.excluded == ("F", "E", "D")
    assert any("r.49(10)" in note for note in stage2.notes)
    assert _totals(stage2) == [23 * SCALE, 17 * SCALE, 19 * SCALE, 0, 0, 0]
    assert stage2.non_transferable == 1 * SCALE and stage2.lost_to_rounding == 0
    assert any("r.52(2)" in note for note in stage2.notes)
    assert result.elected == ("A", "C")


EXAMPLE_D = "10 AC, 12 A, 4 BD, 5 CD, 6 D, 12 E"


def test_equal_lowest_are_decided_by_the_earliest_stage_at_which_they_differed() -> None:
    """Worked by hand: 49 valid papers, 2 seats.

    r.48: quota = 49 ÷ 3 = 16.33 → 16, + 1 = 17.
    Stage 1: A 22, B 4, C 5, D 6, E 12. A is elected with a surplus of 5 (not less than the
      gap B→C of 1; no group gap is larger: transfer).
    Stage 2: 10 AC are transferable: 5 ÷ 10 = 0.50, C + 5.00 → 10.
    Stage 3: lowest B 4 (B + D = 10 is not below C 10): 4 BD → D 10.
    Stage 4: C and D are equal lowest at 10. r.51(13)(a): at the earliest stage at which they
      differed, stage 1, C had 5 and D 6, so C is excluded. (The most recent such stage,
      stage 2 — C 10, D 6 — which the Scottish rules look to, would exclude D.)
      5 CD → D 15. r.52(2): D 15 ≥ E 12: D is elected; C's 10 AC at 0.50 are never
      transferred (r.52(3)), and stay in C's total. A, D.
    """
    result = _count(5, EXAMPLE_D, 2)
    assert len(result.stages) == 4
    tie = result.stages[3].tie_breaks[0]
    assert (tie.candidates, tie.chosen, tie.stage) == (("C", "D"), "C", 1)
    assert result.stages[3].excluded == ("C",)
    assert _totals(result.stages[3]) == [17 * SCALE, 0, 5 * SCALE, 15 * SCALE, 12 * SCALE]
    assert result.elected == ("A", "D")
    most_recent, _ = break_tie(
        [2, 3],
        [list(s.totals) for s in result.stages[:3]],
        highest=False,
        purpose="exclusion",
        lots=Lots(None),
        ids=["A", "B", "C", "D", "E"],
    )
    assert most_recent == 3


def test_earliest_stage_search_goes_forward_among_those_still_level() -> None:
    """Three tied: the earliest stage that separates them leaves two level, and a later stage
    decides between those two."""
    history = [[5, 5, 7], [6, 8, 9], [9, 9, 9]]
    chosen, record = break_tie(
        [0, 1, 2],
        history,
        highest=False,
        purpose="exclusion",
        lots=Lots(None),
        ids=["x", "y", "z"],
        earliest=True,
    )
    assert (chosen, record.stage) == (0, 2)


def test_candidates_equal_at_every_stage_need_a_lot() -> None:
    """Equal at every stage: without a seed the count stops; with one, a recorded draw decides."""
    with pytest.raises(LotNeeded):
        _count(3, "5 A, 5 B, 1 C", 1)
    result = _count(3, "5 A, 5 B, 1 C", 1, seed=SEED)
    assert result.lots["draws"] and len(result.elected) == 1


def test_one_vacancy_transfers_no_surplus() -> None:
    """r.49(11): with one vacancy, a candidate with the quota is elected and the count ends."""
    result = _count(3, "8 AB, 3 B, 2 C", 1)
    assert [s.action for s in result.stages] == ["first-preferences"]
    assert result.elected == ("A",)


def test_weighted_ballots_are_refused() -> None:
    """STV counts whole papers: a profile with fractional weights is refused."""
    from fractions import Fraction

    profile = build_profile(_candidates(2), {(0,): Fraction(1, 2), (1,): 1})
    with pytest.raises(BallotError):
        count_stv(profile, 1)


# -- the registry -----------------------------------------------------------------------------


def test_the_registry_counts_by_this_rule_set_by_name() -> None:
    """count_by_rules(…, "nhs-mer-2014") is this module's count, and names its rules."""
    profile = build_profile(_candidates(5), _papers(EXAMPLE_A))
    assert RULES == "nhs-mer-2014" and RULES in RULE_SETS and DEFAULT_RULES in RULE_SETS
    result = count_by_rules(profile, 3, "nhs-mer-2014")
    assert result.rules == "nhs-mer-2014" and result.rules_version == "1"
    assert result.to_json() == count_stv(profile, 3).to_json()
    assert json.loads(result.to_json())["scale"] == 100


# -- real ballots -----------------------------------------------------------------------------


def _wards() -> list[dict[str, Any]]:
    path = DATA / "expected" / "scotland.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("entry", _wards(), ids=lambda e: Path(e["file"]).stem)
def test_real_wards_count_and_conserve_every_vote(entry: dict[str, Any]) -> None:
    """The 32 Scottish wards counted by these rules: every seat filled, every vote accounted
    for at every stage. (These are Scottish elections; there is no official result under
    these rules to compare.)"""
    ballot_file = read_ballot_file(DATA / entry["file"])
    result = count_by_rules(ballot_file.profile, entry["seats"], "nhs-mer-2014", seed=SEED)
    assert result.quota == entry["quota_droop"] * SCALE
    assert len(result.elected) == entry["seats"]
    for stage in result.stages:
        assert sum(stage.totals) + stage.non_transferable == result.valid * SCALE


def test_the_ward_data_is_present() -> None:
    """The shared data holds the 32 Scottish wards (guards against a bad path)."""
    assert len(_wards()) == 32, f"no ward data at {DATA}"


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(elections(), st.integers(min_value=1, max_value=5))
def test_totals_and_non_transferable_value_are_conserved(election, seats: int) -> None:
    """At every stage the totals plus the non-transferable value equal the valid poll, the
    non-transferable value never falls, a surplus never passes on more than itself, nobody
    gains votes once deemed elected or excluded, and min(seats, candidates) are elected."""
    candidates, papers = election
    result = count_stv(build_profile(candidates, papers), seats, seed=SEED)
    ids = [c.id for c in candidates]
    previous = 0
    settled: set[str] = set()
    for stage in result.stages:
        assert all(stage.changes[ids.index(c)] <= 0 for c in settled)
        settled.update(stage.elected, stage.excluded)
        assert sum(stage.totals) + stage.non_transferable == len(papers) * SCALE
        assert 0 <= stage.lost_to_rounding <= stage.non_transferable
        assert stage.non_transferable >= previous
        previous = stage.non_transferable
        if stage.action == "surplus":
            assert stage.surplus is not None
            gained = sum(c for c in stage.changes if c > 0)
            assert gained <= stage.surplus
    assert len(result.elected) == min(seats, len(candidates))
    assert len(set(result.elected)) == len(result.elected)
    assert result.unfilled == seats - len(result.elected)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=30))
def test_the_quota_is_monotone(valid: int, seats: int) -> None:
    """More valid papers never lower the quota; more seats never raise it; and seats + 1
    quotas are more than the valid poll (so no more than ``seats`` can reach it)."""
    assert quota(valid + 1, seats) >= quota(valid, seats)
    assert quota(valid, seats + 1) <= quota(valid, seats)
    assert (seats + 1) * quota(valid, seats) > valid
