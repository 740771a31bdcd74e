"""Golden tests: every real election in ../shared/data/stv gives the official result."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from assembly.counting import count_stv, read_ballot_file
from assembly.counting.stv import SCALE

#: The real elections with official results: ../shared/data/stv beside the repository, or
#: wherever ASSEMBLY_STV_DATA points.
DATA = Path(
    os.environ.get("ASSEMBLY_STV_DATA")
    or Path(__file__).resolve().parents[3] / "shared" / "data" / "stv"
)


def _expected(name: str) -> list[dict[str, Any]]:
    path = DATA / "expected" / name
    if not path.exists():  # test_the_oracle_data_is_present fails and says where it looked
        return []
    return list(json.loads(path.read_text(encoding="utf-8")))


SCOTLAND = _expected("scotland.json")
IRELAND = _expected("ireland.json")


def _id(entry: dict[str, Any]) -> str:
    return Path(entry["file"]).stem


def _decimals(value: float) -> int:
    text = format(Decimal(repr(value)).normalize(), "f")
    return len(text.split(".")[1]) if "." in text else 0


def test_the_oracle_data_is_present() -> None:
    """The shared data holds all 32 Scottish and 3 Irish elections (guards against a bad path)."""
    assert len(SCOTLAND) == 32 and len(IRELAND) == 3, f"no oracle data at {DATA}"


@pytest.mark.parametrize("entry", SCOTLAND, ids=_id)
def test_scottish_wards_reproduce_the_official_count(entry: dict[str, Any]) -> None:
    """Valid poll, quota, elected set and — where published — every total at every stage."""
    ballot_file = read_ballot_file(DATA / entry["file"])
    assert ballot_file.seats == entry["seats"]
    result = count_stv(ballot_file.profile, entry["seats"])
    assert result.valid == entry["ballots_valid"]
    assert result.quota == entry["quota_droop"] * SCALE
    elected = sorted(int(c) for c in result.elected)
    official = entry["official"]
    if official is None:  # 2007 Glasgow: only the reference count's winners (see the README)
        names = entry["candidates"]
        expected = sorted(names.index(n) + 1 for n in entry["reference_count"]["elected"])
        assert elected == expected
        assert len(result.stages) == entry["reference_count"]["stages"]
        return
    assert elected == sorted(c["blt_index"] for c in official["candidates"] if c["elected"])
    published = [c for c in official["candidates"] if c.get("stage_totals")]
    if not published:
        return
    stages = max(len(c["stage_totals"]) for c in published)
    assert len(result.stages) == stages
    for candidate in published:
        index = candidate["blt_index"] - 1
        for stage, official_total in enumerate(candidate["stage_totals"]):
            ours = Decimal(result.stages[stage].totals[index]) / SCALE
            difference = abs(ours - Decimal(repr(official_total)))
            # Figures published to five places must match exactly; some sheets round to two
            # places, and such a figure can be at most half a hundredth away.
            tolerance = Decimal("0.005") if _decimals(official_total) <= 2 else Decimal(0)
            assert difference <= tolerance, (
                f"candidate {index + 1} stage {stage + 1}: ours {ours}, official {official_total}"
            )


@pytest.mark.parametrize("entry", IRELAND, ids=_id)
def test_irish_constituencies_elect_the_official_members(entry: dict[str, Any]) -> None:
    """The 2002 Dáil pilot constituencies: first preferences and the elected members."""
    ballot_file = read_ballot_file(DATA / entry["file"])
    profile = ballot_file.profile
    result = count_stv(profile, entry["seats"])
    assert result.valid == entry["ballots_valid"]
    assert result.quota == entry["quota_droop"] * SCALE
    first = result.stages[0]
    for candidate, total in zip(profile.candidates, first.totals, strict=True):
        assert total == entry["first_preferences"][candidate.name] * SCALE
    assert sorted(result.elected_names) == sorted(entry["official_elected"])


def test_renfrewshire_equal_surpluses_follow_the_most_recent_stage() -> None:
    """Graham and Sharkey both have 1,311 after stage 6; Sharkey's surplus goes first, as in the
    official count, because he was ahead at stage 5 (r.49(2)), not behind at stage 1."""
    ballot_file = read_ballot_file(DATA / "scotland/blt/2017/renfrewshire_2017_ward3.blt")
    result = count_stv(ballot_file.profile, 3)
    stage6, stage7, stage8 = result.stages[5], result.stages[6], result.stages[7]
    graham, sharkey = 5, 7  # indexes of "Neill GRAHAM" and "JIM SHARKEY"
    assert stage6.totals[graham] == stage6.totals[sharkey] == 1311 * SCALE
    assert (stage7.action, stage7.candidate) == ("surplus", "8")
    assert (stage8.action, stage8.candidate) == ("surplus", "6")
    [tie] = stage7.tie_breaks
    assert (tie.purpose, tie.chosen, tie.stage, tie.by_lot) == ("order of surpluses", "8", 5, False)
    assert result.lots["draws"] == []


def test_last_vacancies_are_filled_without_quota() -> None:
    """r.52: when continuing candidates equal the vacancies they are elected, no more transfers."""
    ballot_file = read_ballot_file(DATA / "scotland/blt/2017/edinburgh_2017_ward12.blt")
    result = count_stv(ballot_file.profile, 4)
    last = result.stages[-1]
    assert any("r.52" in note for note in last.notes)
    below_quota = [c for c in last.elected if last.totals[int(c) - 1] < result.quota]
    assert below_quota


def test_all_seats_can_fill_at_the_first_stage() -> None:
    """moray_2022_ward6: three candidates over quota on first preferences; one stage only."""
    ballot_file = read_ballot_file(DATA / "scotland/blt/2022/moray_2022_ward6.blt")
    result = count_stv(ballot_file.profile, 3)
    assert len(result.stages) == 1 and len(result.stages[0].elected) == 3


def _plain_blt_ballots(path: Path) -> tuple[dict[tuple[int, ...], int], int]:
    """The ballot lines of a BLT file read the obvious way, line by line (a reference)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    ballots: dict[tuple[int, ...], int] = {}
    blank = 0
    for line in lines[1:]:
        values = [int(v) for v in line.split()]
        if values == [0]:
            break
        ranking = tuple(v - 1 for v in values[1:-1])
        if ranking:
            ballots[ranking] = ballots.get(ranking, 0) + values[0]
        else:
            blank += values[0]
    return ballots, blank


@pytest.mark.parametrize("entry", SCOTLAND, ids=_id)
def test_real_blt_files_read_to_the_plain_reading(entry: dict[str, Any]) -> None:
    """The streaming reader gives every real file the ballots a plain line-by-line reading
    gives, and the candidates' names as the oracle lists them (unquoted)."""
    path = DATA / entry["file"]
    profile = read_ballot_file(path).profile
    ballots, blank = _plain_blt_ballots(path)
    assert dict(profile.rankings) == ballots and profile.blank == blank
    assert profile.withdrawn == frozenset()
    assert len(profile.candidates) == len(entry["candidates"])


@pytest.mark.parametrize(
    ("blt", "soi"),
    [
        ("glasgow_2007_calton.blt", "00008-00000003.soi"),
        ("glasgow_2007_greater_pollok.blt", "00008-00000010.soi"),
        ("glasgow_2007_partick.blt", "00008-00000017.soi"),
    ],
)
def test_2007_blt_files_read_as_their_preflib_originals(blt: str, soi: str) -> None:
    """The 2007 BLT files were converted from PrefLib and name candidates in
    '# ALTERNATIVE NAME i: Name (Party)' lines: they read to the same ballots as the PrefLib
    files, and each name is the PrefLib name with its party."""
    from_blt = read_ballot_file(DATA / "scotland/blt/2007" / blt).profile
    from_preflib = read_ballot_file(DATA / "scotland/preflib" / soi).profile
    assert dict(from_blt.rankings) == dict(from_preflib.rankings)
    for ours, theirs in zip(from_blt.candidates, from_preflib.candidates, strict=True):
        assert ours.id == theirs.id
        assert ours.name.startswith(theirs.name + " (") and not ours.name.startswith("#")
