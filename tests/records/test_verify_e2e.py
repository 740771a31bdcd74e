"""Step 10: the end-to-end example record passes every step; each tampered copy, though signed
again with the example keys (as a dishonest server holding the election key could), fails
step 10 alone, in the part it breaks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from assembly.crypto.poll import PARTS
from assembly.records.verify import STEPS, step10_e2e, verify_record

E2E = Path(__file__).resolve().parent.parent.parent / "docs" / "examples" / "e2e"
#: Each tampered copy and the part of step 10 that must catch it.
CAUGHT_BY = {
    "tampered-key.json": "key ceremony",
    "tampered-credential.json": "ballots",
    "tampered-ballot.json": "ballots",
    "tampered-shuffle.json": "shuffles",
    "tampered-share.json": "decryption",
    "tampered-opened.json": "decryption",
    "tampered-counted.json": "opened rows",
}
#: The assembly example's tampered copies, likewise.
ASSEMBLY_CAUGHT_BY = {
    "tampered-assembly-constituency.json": "opened rows",
    "tampered-assembly-card.json": "shuffles",
    "tampered-assembly-cards.json": "credentials",
}


def load(name: str) -> Any:
    return json.loads((E2E / name).read_text(encoding="utf-8"))


RECORD = load("e2e-record.json")


def test_every_tampered_copy_is_listed() -> None:
    assert {p.name for p in E2E.glob("tampered-*.json")} == set(CAUGHT_BY) | set(ASSEMBLY_CAUGHT_BY)


def test_the_example_passes_every_step_including_the_proofs() -> None:
    report = verify_record(RECORD)
    assert report.ok, report.to_dict()
    assert [s.number for s in report.steps] == [1, 2, 3, 4, 5, 6, 7, 10]
    assert report.step(10).name == STEPS[10] == "End-to-end proofs"
    text = "\n".join(report.step(10).details)
    for part in PARTS:
        assert f"contest 31 (Public members): {part}: " in text
    channels = {i["channel"] for i in RECORD["body"]["contests"][0]["ballots"]["items"]}
    assert channels == {"online", "paper", "encrypted"}


@pytest.mark.parametrize("name", sorted(CAUGHT_BY))
def test_each_tampered_copy_fails_step_ten_in_its_part(name: str) -> None:
    report = verify_record(load(name))
    failed = [s.number for s in report.steps if not s.passed]
    assert failed == [10], report.to_dict()
    last = report.step(10).details[-1]
    assert last.startswith(f"contest 31 (Public members): {CAUGHT_BY[name]}: "), last


def test_the_assembly_example_counts_each_constituency_through_the_shuffles() -> None:
    """Round 1 of the 2027 assembly, its phone ballots cast with cards: every step passes,
    and each opened ballot is counted in its own constituency, weighted as before."""
    record = load("e2e-assembly-record.json")
    report = verify_record(record)
    assert report.ok, report.to_dict()
    assert report.step(10).passed
    vote = record["body"]["contests"][0]
    section = vote["e2e"]
    assert section["cards"] is True
    assert [g["key"] for g in section["groups"]] == ["community", "service-users", "workers"]
    cards = sum(len(g["credentials"]) for g in section["groups"])
    assert cards > vote["roll"]["voters"] >= len(section["cast"]) > 0
    encrypted = [i for i in vote["ballots"]["items"] if i["channel"] == "encrypted"]
    assert len(encrypted) == len(section["cast"]) and all(i["constituency"] for i in encrypted)
    assert vote["count"]["excluded_ids"] == ["c503"]


@pytest.mark.parametrize("name", sorted(ASSEMBLY_CAUGHT_BY))
def test_each_tampered_assembly_copy_fails_step_ten_in_its_part(name: str) -> None:
    report = verify_record(load(name))
    failed = [s.number for s in report.steps if not s.passed]
    assert failed == [10], report.to_dict()
    last = report.step(10).details[-1]
    assert last.startswith(f"contest 51 (Members present): {ASSEMBLY_CAUGHT_BY[name]}: "), last


def test_encrypted_ballots_without_proofs_fail() -> None:
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["e2e"] = None
    report = verify_record(record)
    assert not report.step(10).passed
    assert "encrypted ballots but no e2e proofs" in "\n".join(report.step(10).details)


def test_unreadable_proofs_fail_with_the_reason() -> None:
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["e2e"]["cast"][0]["credential"] = "not hex"
    report = verify_record(record)
    assert not report.step(10).passed
    assert "the e2e proofs cannot be read" in report.step(10).details[0]


def test_a_record_without_e2e_has_no_step_ten() -> None:
    record = copy.deepcopy(RECORD)
    contest = record["body"]["contests"][0]
    del contest["e2e"]
    for item in contest["ballots"]["items"]:
        item["channel"] = "online" if item["channel"] == "encrypted" else item["channel"]
    assert 10 not in [s.number for s in verify_record(record).steps]


def test_a_large_poll_checks_its_ballots_in_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above POOL_FROM ballots the ballots' and shuffles' checks run in worker processes,
    with the same outcome, good and bad."""
    monkeypatch.setattr(step10_e2e, "POOL_FROM", 2)
    monkeypatch.setattr(step10_e2e.os, "cpu_count", lambda: 2)
    assert verify_record(RECORD).ok
    for name in ("tampered-ballot.json", "tampered-shuffle.json"):
        report = verify_record(load(name))
        assert [s.number for s in report.steps if not s.passed] == [10]
        assert f": {CAUGHT_BY[name]}: " in report.step(10).details[-1]
