"""The verifier: the example record passes every step; each tampered copy fails the step
that should catch it, saying what and where; receipts, trackers, detached signatures and
fingerprints; and records built from random small elections."""

from __future__ import annotations

import copy
import gc
import importlib.util
import io
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assembly.records.merkle import merkle_root
from assembly.records.record import (
    ballot_leaf,
    body_sha256,
    key_entry,
    roll_leaf,
    sign_record,
    signature_file,
)
from assembly.records.schema import SchemaError, Validator, load_record_schema, validate_record
from assembly.records.signing import group_fingerprint, public_key_text
from assembly.records.verify import (
    STEPS,
    Report,
    ballot_leaf_fast,
    normalise_tracker,
    read_json,
    verify_record,
)

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "docs" / "examples"


def _load_examples_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_examples = _load_examples_script()
ELECTION_KEY = Ed25519PrivateKey.from_private_bytes(make_examples.EXAMPLE_ELECTION_KEY_SEED)
OFFICER_KEY = Ed25519PrivateKey.from_private_bytes(make_examples.EXAMPLE_OFFICER_KEY_SEED)


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def failed(report: Report) -> set[int]:
    return {step.number for step in report.steps if not step.passed}


def details(report: Report, number: int) -> str:
    return "\n".join(report.step(number).details)


def resign(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its body hashed and signed again by both (example) keys: what only
    the key holders could do, so that a test isolates the check it is about."""
    signed = sign_record(record["body"], ELECTION_KEY)
    officer = signature_file("returning_officer", signed["body_sha256"], OFFICER_KEY)
    signed["signatures"].append({k: officer[k] for k in ("role", "fingerprint", "signature")})
    return signed


@pytest.fixture
def record() -> dict[str, Any]:
    return copy.deepcopy(RECORD)


RECORD = load("record.json")
RECEIPT = load("receipt.json")
SIGNATURE = load("record.sig")
ELECTION_FP = RECORD["body"]["keys"]["election"]["fingerprint"]
OFFICER_FP = RECORD["body"]["keys"]["returning_officer"]["fingerprint"]


# -- the examples --------------------------------------------------------------------------------


def test_the_example_files_are_what_the_script_makes() -> None:
    """docs/examples holds exactly what make_examples.py makes (it is deterministic)."""
    built = make_examples.build()
    on_disk = {p.name for p in EXAMPLES.glob("*.json")} | {"record.sig"}
    assert set(built) == on_disk
    for name, document in built.items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == make_examples.text(document), name


def test_the_example_record_passes_every_step() -> None:
    """The complete example record, with its signature file, receipt and a tracker, passes
    steps 1 to 8 in order, with the step names of the format."""
    report = verify_record(
        RECORD,
        signature=SIGNATURE,
        receipt=RECEIPT,
        tracker=RECEIPT["receipt"]["tracker"],
        fingerprints=[ELECTION_FP, OFFICER_FP],
    )
    assert report.ok, report.to_dict()
    assert [(s.number, s.name) for s in report.steps] == [
        *((n, STEPS[n]) for n in range(1, 8)),
        (8, "Receipt and tracker"),
    ]
    assert "the same choice(s) (c415)" in details(report, 7)
    assert "uncontested: Rosa LINDQVIST elected without a poll" in details(report, 7)
    assert "is in contest 31 with the same hash" in details(report, 8)


def test_without_a_receipt_or_tracker_there_are_seven_steps() -> None:
    """Step 8 is shown only when a receipt or tracker is given."""
    report = verify_record(RECORD)
    assert report.ok
    assert [s.number for s in report.steps] == [1, 2, 3, 4, 5, 6, 7]


TAMPERED = {
    "tampered-ballot-changed.json": (
        {3, 4, 5, 7},
        {
            5: "contest 31 (Public members): the ballots' Merkle root is",
            7: "contest 31 (Public members): stage 1 (first-preferences), totals.c413: "
            "recorded 1100000, recounted 1200000",
        },
    ),
    "tampered-ballot-dropped.json": (
        {3, 4, 7},
        {7: "count.valid is recorded as 60, but the recount gives 59"},
    ),
    "tampered-ballot-added.json": (
        {3, 4, 5, 7},
        {
            5: "contest 31 (Public members): ballots.count is 60, but there are 61 ballot(s)",
            7: "count.valid is recorded as 60, but the recount gives 61",
        },
    ),
    "tampered-stage-total.json": (
        {3, 4, 7},
        {7: "stage 1 (first-preferences), totals.c410: recorded 1600000, recounted 1500000"},
    ),
    "tampered-elected.json": (
        {3, 4, 7},
        {7: "elected is [410, 413, 412], but the recount elects [410, 413, 411]"},
    ),
    "tampered-roll.json": (
        {3, 4, 6},
        {6: "contest 32 (Staff): 24 ballot(s) but only 23 voter(s) on the roll"},
    ),
    "tampered-signature.json": (
        {4},
        {4: "the returning officer's signature in the record does not verify with the key"},
    ),
    "tampered-key.json": (
        {4},
        {4: "the returning officer's signature in the record does not verify"},
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_each_tampered_example_fails_the_step_that_catches_it(name: str) -> None:
    """Every tampered copy fails exactly the steps README.md lists, each naming the contest
    and what differs."""
    expected_steps, messages = TAMPERED[name]
    report = verify_record(load(name))
    assert not report.ok
    assert failed(report) == expected_steps
    for number, message in messages.items():
        assert message in details(report, number), details(report, number)
    for number in expected_steps & {3, 4}:
        assert "did not sign this body" in details(report, number)


def test_a_replaced_election_key_fails_against_the_fingerprint_you_trust() -> None:
    """A forger's key re-signs the body, so only a fingerprint known beforehand catches it
    at step 3 (the officer's countersignature catches it at step 4)."""
    report = verify_record(load("tampered-key.json"), fingerprints=[group_fingerprint(ELECTION_FP)])
    assert failed(report) == {3, 4}
    assert "the election key's fingerprint" in details(report, 3)
    assert "is not one you gave" in details(report, 3)


# -- the election's seed and the commitment to it ------------------------------------------------

COMMITTED = load("committed-record.json")
#: The 2027 example's seed and its commitment (docs/record-format.md shows them).
COMMITTED_SEED = "e04b1cfb2791c5403994902975890dd9ecd6c9d79c8cb0c2f832c085857259fb"
COMMITMENT = "8d73a92a23c3264710824cf31c2fc70ff875fe0aab68a3ab5620f47da1d832ce"


def test_a_record_that_commits_to_its_seed_passes_step_seven_saying_so() -> None:
    """The 2027 example carries the commitment printed before the poll and the seed: step 7
    finds the seed hashes to the commitment and every contest's seed is made from it."""
    election = COMMITTED["body"]["election"]
    assert (election["seed"], election["seed_sha256"]) == (COMMITTED_SEED, COMMITMENT)
    report = verify_record(COMMITTED, fingerprints=[ELECTION_FP, OFFICER_FP])
    assert report.ok, report.to_dict()
    recount = details(report, 7)
    assert (
        "the election's seed e04b1cfb2791c540… hashes to election.seed_sha256 "
        "8d73a92a23c32647…, published before the poll"
    ) in recount
    assert (
        'the seed of each of the 3 contest(s) is the SHA-256 of "<election seed>:contest:'
        '<contest id>"'
    ) in recount
    assert "no advance commitment" not in recount
    assert "the same choice(s)" in recount  # its lot, drawn again from contest 31's seed


def test_the_formats_example_of_the_commitment_is_the_example_records() -> None:
    """docs/record-format.md shows the example record's seed, its commitment and contest 31's
    seed, as the example holds them."""
    text = (EXAMPLES.parent / "record-format.md").read_text(encoding="utf-8")
    public = COMMITTED["body"]["contests"][0]
    assert public["id"] == 31
    for value in (COMMITTED_SEED, COMMITMENT, public["seed"]):
        assert value in text


def test_a_record_made_before_the_commitment_still_verifies() -> None:
    """The 2026 example, made before records carried the election's seed, passes every step;
    step 7 says it made no advance commitment to its seed instead of failing."""
    assert not {"seed", "seed_sha256"} & set(RECORD["body"]["election"])
    report = verify_record(RECORD, fingerprints=[ELECTION_FP, OFFICER_FP])
    assert report.ok, report.to_dict()
    assert "the record made no advance commitment to its seed" in details(report, 7)


COMMITTED_TAMPERED = {
    "committed-tampered-seed.json": (
        {3, 4, 7},
        [
            f"election.seed_sha256 is {COMMITMENT} (published before the poll), but the revealed "
            "election.seed hashes to",
            "the seed revealed is not the one committed to",
            "contest 31 (Public members): its seed is",
            "contest 33 (Volunteers): its seed is",
        ],
    ),
    "committed-tampered-contest-seed.json": (
        {3, 4, 7},
        [
            "contest 31 (Public members): its seed is",
            '(SHA-256 of "<election seed>:contest:31")',
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(COMMITTED_TAMPERED))
def test_each_tampered_copy_of_the_committed_record_fails_step_seven(name: str) -> None:
    """A revealed seed that is not the one committed to, or a contest's seed that is not made
    from the election's, fails step 7 (and the signatures), saying which."""
    expected_steps, messages = COMMITTED_TAMPERED[name]
    report = verify_record(load(name))
    assert failed(report) == expected_steps
    for message in messages:
        assert message in details(report, 7), details(report, 7)


def test_a_wrong_seed_fails_step_seven_alone() -> None:
    """Re-signed by both keys (what only the key holders could do), a record whose revealed
    seed is not the one committed to fails step 7 and nothing else: the commitment, and each
    contest whose seed the revealed one does not give."""
    committed = copy.deepcopy(COMMITTED)
    committed["body"]["election"]["seed"] = "0" * 64
    report = verify_record(resign(committed))
    assert failed(report) == {7}
    recount = details(report, 7)
    assert "the seed revealed is not the one committed to" in recount
    for contest in committed["body"]["contests"]:
        assert f"contest {contest['id']} ({contest['constituency']['name']}): its seed is" in (
            recount
        )


def test_a_wrong_contest_seed_fails_step_seven_naming_the_contest() -> None:
    """An uncontested contest (no lots to disagree) whose seed is not made from the election's
    fails step 7 alone, naming the contest and the seed the election's gives."""
    committed = copy.deepcopy(COMMITTED)
    volunteers = committed["body"]["contests"][2]
    assert volunteers["uncontested"]
    expected = volunteers["seed"]
    volunteers["seed"] = "1" * 64
    report = verify_record(resign(committed))
    assert failed(report) == {7}
    assert (
        f"contest 33 (Volunteers): its seed is {'1' * 64}, but the election's seed gives "
        f'{expected} (SHA-256 of "<election seed>:contest:33")'
    ) in details(report, 7)
    assert "hashes to election.seed_sha256" in details(report, 7)  # the commitment holds


@pytest.mark.parametrize("kept", ["seed", "seed_sha256"])
def test_a_seed_without_its_commitment_fails_step_one(kept: str) -> None:
    """A record carries the election's seed and the commitment to it together, or neither:
    one without the other fails step 1, and nothing else runs."""
    committed = copy.deepcopy(COMMITTED)
    gone = "seed" if kept == "seed_sha256" else "seed_sha256"
    del committed["body"]["election"][gone]
    report = verify_record(resign(committed))
    assert failed(report) == {1, 2, 3, 4, 5, 6, 7}
    assert f"body.election: has {kept!r} but not {gone!r}" in details(report, 1)


# -- receipts and trackers -----------------------------------------------------------------------


def test_the_receipt_verifies_against_the_record() -> None:
    """The example receipt is signed by the election key and its ballot is in the record."""
    report = verify_record(RECORD, receipt=RECEIPT)
    assert report.ok
    assert report.step(8).name == "Receipt"
    assert f"tracker {RECEIPT['receipt']['tracker']}" in details(report, 8)


def test_a_receipt_whose_ballot_is_missing_fails() -> None:
    """When the record lacks the receipt's ballot, step 8 says so."""
    report = verify_record(load("tampered-ballot-dropped.json"), receipt=RECEIPT)
    assert 8 in failed(report)
    tracker = RECEIPT["receipt"]["tracker"]
    assert f"the receipt's ballot (tracker {tracker}) is not in the record" in details(report, 8)


def test_a_receipt_whose_ballot_was_altered_fails() -> None:
    """When the record holds the receipt's tracker with another ranking, the hashes differ."""
    report = verify_record(load("tampered-ballot-changed.json"), receipt=RECEIPT)
    assert 8 in failed(report)
    text = details(report, 8)
    assert f"but the receipt says {RECEIPT['receipt']['ballot_hash']}" in text
    assert "the record holds a different ballot from the one cast" in text


def test_an_altered_receipt_fails_its_signature() -> None:
    """A receipt edited after signing (another tracker) no longer verifies."""
    receipt = copy.deepcopy(RECEIPT)
    receipt["receipt"]["tracker"] = RECORD["body"]["contests"][0]["ballots"]["items"][0]["tracker"]
    report = verify_record(RECORD, receipt=receipt)
    assert failed(report) == {8}
    assert "the receipt's signature does not verify" in details(report, 8)


@pytest.mark.parametrize("receipt", [{"format": "assembly-receipt/1"}, [], "text", SIGNATURE])
def test_something_else_given_as_a_receipt_fails_plainly(receipt: Any) -> None:
    """A file that is not a receipt fails step 8 with a message, not a traceback."""
    report = verify_record(RECORD, receipt=receipt)
    assert failed(report) == {8}
    assert "the receipt is not a receipt of format" in details(report, 8)


def test_a_tracker_is_found_in_its_contest() -> None:
    """A tracker, even typed in lower case without dashes, is found and its contest named."""
    tracker = RECORD["body"]["contests"][1]["ballots"]["items"][3]["tracker"]
    typed = tracker.replace("-", "").lower()
    report = verify_record(RECORD, tracker=typed)
    assert report.ok
    assert report.step(8).name == "Tracker"
    assert f"tracker {tracker} is in contest 32 (Staff)" in details(report, 8)


def test_an_unknown_tracker_fails() -> None:
    """A tracker not in the record fails step 8."""
    report = verify_record(RECORD, tracker="ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert failed(report) == {8}
    assert details(report, 8) == "tracker ZZZZ-ZZZZ-ZZZZ-ZZZZ is not in the record"


def test_text_that_is_no_tracker_fails() -> None:
    """Text that cannot be a tracker says what a tracker looks like."""
    report = verify_record(RECORD, tracker="hello")
    assert failed(report) == {8}
    assert "is not a tracker" in details(report, 8)


def test_normalise_tracker() -> None:
    """Spaces, dashes and case do not matter in a typed tracker."""
    assert normalise_tracker(" k7qm 2xhd-9pla4rte ") == "K7QM-2XHD-9PLA-4RTE"
    assert normalise_tracker("short") == "short"


# -- roll proofs ---------------------------------------------------------------------------------

ROLL_PROOF = load("roll-proof.json")


def test_a_members_roll_proof_verifies_against_the_roll_root() -> None:
    """The example roll proof (elector 7 of contest 31) is in the roll the record commits to."""
    report = verify_record(RECORD, roll_proof=ROLL_PROOF)
    assert report.ok and report.step(9).name == "Roll proof"
    assert "elector 7 (member007@public.riverside.example) is entry 7 of 80" in details(report, 9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"salt": "0" * 32}, "with this salt is not entry 7 of the roll"),
        ({"email": "someone.else@example.org"}, "is not entry 7 of the roll"),
        ({"number": 8}, "elector 8"),
        ({"index": 7}, "is not entry 8 of the roll"),
        ({"size": 81}, "the roll proof is for a roll of 81, the record's roll has 80"),
        ({"contest": 99}, "names contest 99, which is not in the record"),
        ({"election": 13}, "election 13, this record for riverside-hospital election 12"),
        ({"path": []}, "is not entry 7 of the roll"),
        ({"path": ["zz"]}, "is not entry 7 of the roll"),
        ({"format": "assembly-receipt/1"}, "the roll proof is not of format"),
        ({"index": "6"}, "the roll proof is not of format"),
    ],
)
def test_an_altered_roll_proof_fails(change: dict[str, Any], message: str) -> None:
    """Any change to the proof, or a proof for another roll, fails step 9 and says why."""
    proof = {**ROLL_PROOF, **change}
    report = verify_record(RECORD, roll_proof=proof)
    assert failed(report) == {9}
    assert message in details(report, 9)


def test_a_roll_proof_fails_against_a_record_whose_roll_was_changed() -> None:
    """A record with another roll root (an entry dropped or added) fails the member's proof."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["roll"]["merkle_root"] = merkle_root([b"someone else"])
    report = verify_record(record, roll_proof=ROLL_PROOF)
    assert 9 in failed(report)
    assert "the proof or the record was altered" in details(report, 9)


# -- signatures and fingerprints -----------------------------------------------------------------


def _uncountersigned() -> dict[str, Any]:
    record = copy.deepcopy(RECORD)
    record["signatures"] = [s for s in record["signatures"] if s["role"] == "election"]
    return record


def test_a_record_without_the_officers_signature_is_not_countersigned() -> None:
    """Without the returning officer's signature step 4 fails: "not countersigned"."""
    report = verify_record(_uncountersigned())
    assert failed(report) == {4}
    assert "not countersigned" in details(report, 4)


def test_the_detached_signature_countersigns() -> None:
    """The signature file from assembly record sign completes the record at step 4."""
    report = verify_record(_uncountersigned(), signature=SIGNATURE)
    assert report.ok
    assert "countersigned in the signature file" in details(report, 4)


def test_a_signature_file_for_another_record_fails() -> None:
    """A signature file whose body hash is another record's fails, naming both hashes."""
    other = {**SIGNATURE, "body_sha256": "0" * 64}
    report = verify_record(_uncountersigned(), signature=other)
    assert failed(report) == {4}
    assert f"it signs the body {'0' * 64}, this record's body is" in details(report, 4)


def test_a_signature_file_by_another_key_fails() -> None:
    """A signature file made with a key that is not the officer's fails."""
    forger = Ed25519PrivateKey.from_private_bytes(make_examples.EXAMPLE_FORGER_KEY_SEED)
    forged = signature_file("returning_officer", RECORD["body_sha256"], forger)
    report = verify_record(_uncountersigned(), signature=forged)
    assert failed(report) == {4}
    assert "names the key" in details(report, 4)
    assert "does not verify" in details(report, 4)


@pytest.mark.parametrize("signature", [{"format": "x"}, [], RECEIPT])
def test_something_else_given_as_a_signature_file_fails_plainly(signature: Any) -> None:
    """A file that is not a detached signature fails step 4 with a message."""
    report = verify_record(_uncountersigned(), signature=signature)
    assert failed(report) == {4}
    assert "the signature file" in details(report, 4)


def test_the_officers_key_must_not_be_the_election_key() -> None:
    """A record whose two keys are the same is not countersigned by anyone else."""
    record = copy.deepcopy(RECORD)
    record["body"]["keys"]["returning_officer"] = key_entry(public_key_text(ELECTION_KEY))
    signed = sign_record(record["body"], ELECTION_KEY)
    officer = signature_file("returning_officer", signed["body_sha256"], ELECTION_KEY)
    signed["signatures"].append({k: officer[k] for k in ("role", "fingerprint", "signature")})
    report = verify_record(signed)
    assert failed(report) == {4}
    assert "the returning officer's key is the election key" in details(report, 4)


def test_fingerprints_given_must_include_the_election_keys() -> None:
    """Given fingerprints: the election key's (spaced as people read it) passes; another
    fails step 3; naming a second key pins the officer's too."""
    good = verify_record(RECORD, fingerprints=[group_fingerprint(ELECTION_FP)])
    assert good.ok
    assert "the election key's fingerprint is one you gave" in details(good, 3)
    wrong = verify_record(RECORD, fingerprints=["ab" * 32])
    assert failed(wrong) == {3}
    assert "is not one you gave" in details(wrong, 3)
    both = verify_record(RECORD, fingerprints=[ELECTION_FP, OFFICER_FP])
    assert both.ok
    assert "the returning officer's key's fingerprint is one you gave" in details(both, 4)
    pinned = verify_record(RECORD, fingerprints=[ELECTION_FP, "ab" * 32])
    assert failed(pinned) == {4}
    assert "the returning officer's key's fingerprint" in details(pinned, 4)


def test_a_wrong_key_fingerprint_in_the_body_fails() -> None:
    """A key entry whose fingerprint is not its key's fails, naming both."""
    record = copy.deepcopy(RECORD)
    record["body"]["keys"]["election"]["fingerprint"] = "cd" * 32
    report = verify_record(resign(record))
    assert 3 in failed(report)
    assert f"body.keys.election.fingerprint is {'cd' * 32}" in details(report, 3)


# -- step 1 and malformed records ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the file holds a JSON array, not a record"),
        (RECEIPT, "this is a receipt (assembly-receipt/1), not a record: give the record first"),
        (SIGNATURE, "this is a detached signature (assembly-signature/1), not a record"),
        ({"format": "assembly-record/2"}, 'format is "assembly-record/2"'),
    ],
)
def test_what_is_not_a_record_fails_step_one_and_nothing_else_runs(
    document: Any, message: str
) -> None:
    """Something that is not a record fails step 1; steps 2–7 are reported as not run."""
    report = verify_record(document)
    assert failed(report) == {1, 2, 3, 4, 5, 6, 7}
    assert message in details(report, 1)
    for number in range(2, 8):
        assert details(report, number).startswith("not run:")


def test_schema_problems_name_their_path() -> None:
    """A tracker in lower case and a missing field are reported by their JSON paths."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["ballots"]["items"][17]["tracker"] = "abcd-efgh-jkmn-pqrs"
    del record["body"]["contests"][1]["seed"]
    report = verify_record(record)
    assert not report.step(1).passed
    text = details(report, 1)
    assert (
        'body.contests[0].ballots.items[17].tracker: "abcd-efgh-jkmn-pqrs" does not match' in text
    )
    assert "body.contests[1]: lacks 'seed'" in text


def test_a_float_in_a_count_fails_step_one() -> None:
    """Canonical JSON has no floats: one in a count (which the schema leaves open) fails."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["count"]["stages"][0]["totals"]["c410"] = 16.0
    report = verify_record(record)
    assert failed(report) == set(range(1, 8))
    assert "body.contests[0].count.stages[0].totals.c410: a number with a fraction" in details(
        report, 1
    )


def test_contests_must_be_in_id_order_each_once() -> None:
    """Contests come in increasing id order, each once (the format says "in id order")."""
    record = copy.deepcopy(RECORD)
    contests = record["body"]["contests"]
    contests[0], contests[1] = contests[1], contests[0]
    report = verify_record(resign(record))
    assert not report.step(1).passed
    assert "the contests' ids [32, 31, 33] are not each once in increasing order" in details(
        report, 1
    )


def test_schema_problems_stop_after_ten() -> None:
    """Checking stops after ten problems, and says so."""
    record = copy.deepcopy(RECORD)
    for item in record["body"]["contests"][0]["ballots"]["items"]:
        item["channel"] = "post"
    problems = report_problems = verify_record(record).step(1).details
    assert len(report_problems) == 11
    assert problems[-1] == "… checking stopped after 10 problems"
    assert problems[0] == (
        'body.contests[0].ballots.items[0].channel: must be one of "online", "paper", "encrypted", '
        'not "post"'
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_damage_gives_a_report_not_a_traceback(data: st.DataObject) -> None:
    """Deleting any field, or replacing any value with another JSON type, never raises: the
    report fails and says where."""
    record = copy.deepcopy(RECORD)
    parent, key = _pick(record, data)
    replacement = data.draw(
        st.sampled_from([None, True, 0, -1, 1.5, "", "x" * 70, [], {}, [1, 2], {"a": 1}, "del"])
    )
    if replacement == "del":
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]
    else:
        assume(not (type(parent[key]) is type(replacement) and parent[key] == replacement))
        parent[key] = replacement
    report = verify_record(record, receipt=RECEIPT, tracker="CHCE-PTKC-X73Q-6AHY")
    assert not report.ok
    assert any(not step.passed and step.details for step in report.steps)
    for step in report.steps:
        for line in step.details:
            assert "could not be checked" not in line, line


def _pick(document: Any, data: st.DataObject) -> tuple[Any, Any]:
    """A random (container, key) inside the document, walking down from its root."""
    parent, key = document, data.draw(st.sampled_from(sorted(document)))
    while isinstance(parent[key], (dict, list)) and parent[key] and data.draw(st.booleans()):
        child = parent[key]
        parent = child
        key = data.draw(
            st.sampled_from(sorted(child))
            if isinstance(child, dict)
            else st.integers(0, len(child) - 1)
        )
    return parent, key


# -- ballots, roll, recount: one fault at a time (re-signed, so only that step fails) -----------


def test_unsorted_and_repeated_trackers_fail_step_five() -> None:
    """Ballots out of tracker order, or a tracker twice, are named with their position."""
    record = copy.deepcopy(RECORD)
    items = record["body"]["contests"][0]["ballots"]["items"]
    items[4], items[5] = items[5], items[4]
    items[9]["tracker"] = items[8]["tracker"]
    report = verify_record(resign(record))
    text = details(report, 5)
    assert f"tracker {items[5]['tracker']} (items[5]) comes after {items[4]['tracker']}" in text
    assert f"tracker {items[9]['tracker']} appears twice (items[9])" in text
    assert 5 in failed(report)


def test_a_ranking_of_someone_else_fails_and_is_not_recounted() -> None:
    """A ballot ranking a candidate of another contest, or one twice, is named by tracker;
    the contest is then not recounted."""
    record = copy.deepcopy(RECORD)
    contest = record["body"]["contests"][0]
    contest["ballots"]["items"][3]["ranking"] = [421]
    contest["ballots"]["items"][7]["ranking"] = [410, 410]
    contest["ballots"] = make_examples._with_root(31, contest["ballots"]["items"])
    report = verify_record(resign(record))
    assert failed(report) == {5, 7}
    tracker = contest["ballots"]["items"][3]["tracker"]
    assert f"ballot {tracker} (items[3]) ranks [421], not candidates in this contest" in details(
        report, 5
    )
    assert "ranks [410] more than once" in details(report, 5)
    assert "contest 31 (Public members): not recounted: its ballots are not valid (step 5)" in (
        details(report, 7)
    )


@pytest.mark.parametrize(
    ("ranking", "message"),
    [([420, 421], "chooses 2 candidates for 1 seat(s)"), ([421], None)],
)
def test_first_past_the_post_ballots_choose_at_most_the_seats(
    ranking: list[int], message: str | None
) -> None:
    """A first-past-the-post ballot names at most `seats` candidates, in increasing order."""
    record = copy.deepcopy(RECORD)
    contest = record["body"]["contests"][1]
    contest["ballots"]["items"][0]["ranking"] = ranking
    contest["ballots"] = make_examples._with_root(32, contest["ballots"]["items"])
    contest["count"] = make_examples._count(contest)
    contest["elected"] = [int(c[1:]) for c in contest["count"]["elected_ids"]]
    report = verify_record(resign(record))
    if message is None:
        assert report.ok
    else:
        assert failed(report) == {5, 7}
        assert message in details(report, 5)


def test_an_empty_roll_must_have_the_empty_root() -> None:
    """A roll of nobody has SHA-256 of nothing as its root."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][2]["roll"] = {"voters": 0, "merkle_root": "ab" * 32}
    report = verify_record(resign(record))
    assert failed(report) == {6}
    assert "the roll is empty, so its root is e3b0c442" in details(report, 6)


def test_the_lots_seed_must_be_the_contests() -> None:
    """A count whose lots came from another seed fails step 7, naming both seeds."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["count"]["lots"]["seed"] = "00" * 32
    report = verify_record(resign(record))
    assert failed(report) == {7}
    assert f'count.lots.seed is "{"00" * 32}", but the contest\'s seed is' in details(report, 7)


def test_a_lot_that_does_not_draw_again_fails() -> None:
    """A recorded draw whose digest is not what the seed gives fails step 7, by number."""
    record = copy.deepcopy(RECORD)
    record["body"]["contests"][0]["count"]["lots"]["draws"][0]["digest"] = "11" * 32
    report = verify_record(resign(record))
    assert failed(report) == {7}
    text = details(report, 7)
    assert "lot 1 (exclusion): digest is recorded as" in text
    assert "lot 1 is recorded as" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(count={"method": "stv"}), "the recorded count lacks 'rules'"),
        (lambda c: c.update(count=None), "contested, but its count is null"),
        (lambda c: c["count"].update(stages="many"), "count.stages is not a list of stages"),
        (lambda c: c["count"].update(extra=1), "the recorded count has 'extra'"),
        (lambda c: c["count"]["stages"].pop(), "the recorded count stops after stage 3"),
        (lambda c: c.update(seats=4), "count.seats is recorded as 3, but the recount gives 4"),
    ],
)
def test_a_malformed_count_fails_step_seven_plainly(change: Any, message: str) -> None:
    """A count of the wrong shape fails step 7 with a message saying what is wrong."""
    record = copy.deepcopy(RECORD)
    change(record["body"]["contests"][0])
    report = verify_record(resign(record))
    assert 7 in failed(report)
    assert message in details(report, 7)


def test_an_uncontested_contest_elects_everyone_without_ballots() -> None:
    """Uncontested: no count, no ballots, every candidate elected, no more than the seats."""
    record = copy.deepcopy(RECORD)
    contest = record["body"]["contests"][2]
    contest["elected"] = []
    contest["candidates"].append({"id": 999, "ballot_name": "Extra PERSON"})
    report = verify_record(resign(record))
    assert failed(report) == {7}
    text = details(report, 7)
    assert "marked uncontested, but 2 candidates stood for 1 seat(s)" in text
    assert "every candidate [430, 999] is elected, but elected is []" in text


# -- the schema validator ------------------------------------------------------------------------


def test_the_schema_refuses_keywords_it_does_not_implement() -> None:
    """A schema with a keyword outside the subset is refused rather than half checked."""
    with pytest.raises(SchemaError, match="oneOf"):
        Validator({"oneOf": [{"type": "string"}]})
    with pytest.raises(SchemaError, match="additionalProperties"):
        Validator({"type": "object", "additionalProperties": {"type": "string"}})


def test_the_schema_subset_behaves_as_json_schema() -> None:
    """type (and lists of types), const, enum, minimum, minLength, pattern (anchored as
    ECMA-262 anchors), items, min/maxItems, required, additionalProperties, $ref."""
    validator = Validator(
        {
            "type": "object",
            "required": ["a"],
            "additionalProperties": False,
            "properties": {
                "a": {"type": "integer", "minimum": 1},
                "b": {"type": ["string", "null"], "pattern": "^x+$", "minLength": 2},
                "c": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 2,
                    "items": {"$ref": "#/$defs/d"},
                },
                "e": {"const": "yes"},
            },
            "$defs": {"d": {"enum": [1, "one", None]}},
        }
    )
    assert validator.validate({"a": 1, "b": None, "c": [1, None], "e": "yes"}) == []
    assert validator.validate({"a": True}) == ["a: must be an integer, not true or false"]
    assert validator.validate({"a": 1.0}) == [
        "a: must be an integer, not a number with a fraction (a record has none)"
    ]
    assert validator.validate({"a": 0}) == ["a: must be at least 1, not 0"]
    assert validator.validate({"a": 1, "b": "xx\n"}) == ['b: "xx\\n" does not match ^x+$']
    assert validator.validate({"a": 1, "b": "x"}) == ["b: must have at least 2 character(s)"]
    assert validator.validate({"a": 1, "c": []}) == ["c: must have at least 1 item(s), not 0"]
    assert validator.validate({"a": 1, "c": [1, 1, 1]}) == ["c: must have at most 2 item(s), not 3"]
    assert validator.validate({"a": 1, "c": [True]}) == [
        'c[0]: must be one of 1, "one", null, not true'
    ]
    assert validator.validate({"a": 1, "e": "no"}) == ['e: must be "yes", not "no"']
    assert validator.validate({"z": 1}) == [
        "the document: lacks 'a'",
        "the document: has 'z', which the format does not define",
    ]
    assert validator.validate([]) == ["the document: must be an object, not an array"]


def test_object_and_array_shortcuts_agree_with_the_full_check() -> None:
    """Objects with optional properties and arrays with only bounds are checked the same
    whether the fast path or the explaining check decides."""
    validator = Validator(
        {
            "type": "object",
            "required": ["a"],
            "additionalProperties": False,
            "properties": {
                "a": {"type": "integer"},
                "b": {"type": "array", "maxItems": 1},
            },
        }
    )
    assert validator.validate({"a": 1}) == []
    assert validator.validate({"a": 1, "b": [{}]}) == []
    assert validator.validate({"a": 1, "b": [1, 2]}) == ["b: must have at most 1 item(s), not 2"]
    assert validator.validate({"b": []}) == ["the document: lacks 'a'"]
    assert validator.validate({"a": 1, "c": 1}) == [
        "the document: has 'c', which the format does not define"
    ]


def _same_json(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _conforms(schema: dict[str, Any], value: Any) -> bool:
    """A plain, slow reading of the schema subset: the oracle for the compiled validator."""
    if "$ref" in schema:
        return _conforms(SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]], value)
    kinds = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
    if "const" in schema and not _same_json(value, schema["const"]):
        return False
    if "enum" in schema and not any(_same_json(value, o) for o in schema["enum"]):
        return False
    if "type" in schema:
        wanted = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not any(value is None if t == "null" else type(value) is kinds[t] for t in wanted):
            return False
    if type(value) is str:
        if len(value) < schema.get("minLength", 0):
            return False
        pattern = schema.get("pattern")
        if pattern and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
            return False
    if type(value) is int and value < schema.get("minimum", value):
        return False
    if type(value) is list:
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return False
        if "items" in schema and not all(_conforms(schema["items"], v) for v in value):
            return False
    if type(value) is dict:
        properties = schema.get("properties", {})
        if any(key not in value for key in schema.get("required", ())):
            return False
        if schema.get("additionalProperties") is False and not value.keys() <= properties.keys():
            return False
        if not all(_conforms(properties[k], v) for k, v in value.items() if k in properties):
            return False
    return True


SCHEMA = load_record_schema()
NEAR_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        1.0,
        "",
        "online",
        "K7QM-2XHD-9PLA-4RTE",
        "k7qm-2xhd-9pla-4rte",
        "a" * 64,
        "a" * 64 + "\n",
        "1/3",
        "2026-11-22",
        [],
        [1],
        {},
        "del",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), NEAR_VALUES)
def test_the_validator_agrees_with_a_plain_reading_of_the_schema(
    data: st.DataObject, replacement: Any
) -> None:
    """On records damaged anywhere, the compiled validator (with its fast paths) accepts
    exactly what a plain reading of the schema accepts, and names a problem otherwise."""
    record = copy.deepcopy(RECORD)
    parent, key = _pick(record, data)
    if replacement == "del":
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]
    else:
        parent[key] = replacement
    problems = validate_record(record)
    assert (problems == []) == _conforms(SCHEMA, record), problems


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SCHEMA["$defs"])), json_values)
def test_each_definition_agrees_with_a_plain_reading(name: str, value: Any) -> None:
    """For any small JSON value, each $defs entry accepts it exactly when the plain reading
    does."""
    validator = Validator({"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})
    assert (validator.validate(value) == []) == _conforms(SCHEMA["$defs"][name], value)


def test_the_record_schema_accepts_the_example() -> None:
    """The packaged schema loads and the example record matches it."""
    assert validate_record(RECORD) == []


# -- the fast ballot hash ------------------------------------------------------------------------

trackers = st.from_regex(r"\A[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}\Z")


@settings(max_examples=500, deadline=None)
@given(
    st.integers(min_value=1, max_value=2**63),
    trackers,
    st.lists(st.integers(min_value=1, max_value=2**63), min_size=1, max_size=20),
)
def test_the_fast_ballot_hash_equals_the_canonical_one(
    contest: int, tracker: str, ranking: list[int]
) -> None:
    """For every ballot the schema allows, the verifier's direct encoding hashes the same as
    record.ballot_leaf's canonical JSON."""
    assert ballot_leaf_fast(contest, tracker, ranking) == ballot_leaf(contest, tracker, ranking)


# -- random small elections ----------------------------------------------------------------------

TRACKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _roll(contest_id: int, voters: int) -> dict[str, Any]:
    leaves = [roll_leaf(contest_id, n, f"m{n}@example.org", "0" * 32) for n in range(1, voters + 1)]
    return {"voters": voters, "merkle_root": merkle_root(leaves)}


def _prefixes(order: list[int]) -> st.SearchStrategy[list[int]]:
    """The non-empty prefixes of an order: a truncated ranking."""
    return st.integers(1, len(order)).map(lambda k: order[:k])


@st.composite
def elections(draw: st.DrawFn) -> dict[str, Any]:
    """A small random election's record, built by hand and signed by the example keys."""
    contests = []
    used: set[str] = set()
    for contest_id in range(1, draw(st.integers(1, 3)) + 1):
        method = draw(st.sampled_from(["stv", "fptp"]))
        seats = draw(st.integers(1, 3))
        n = draw(st.integers(1, 6))
        ids = [contest_id * 10 + k for k in range(1, n + 1)]
        uncontested = n <= seats
        if uncontested:
            rankings: list[list[int]] = []
        elif method == "stv":
            rankings = draw(
                st.lists(
                    st.permutations(ids).flatmap(_prefixes),
                    max_size=30,
                )
            )
        else:
            rankings = draw(
                st.lists(
                    st.lists(st.sampled_from(ids), min_size=1, max_size=seats, unique=True).map(
                        sorted
                    ),
                    max_size=30,
                )
            )
        codes = draw(
            st.lists(
                st.text(TRACKER_ALPHABET, min_size=16, max_size=16).filter(lambda t: t not in used),
                min_size=len(rankings),
                max_size=len(rankings),
                unique=True,
            )
        )
        used.update(codes)
        items = [
            {
                "tracker": "-".join(code[i : i + 4] for i in range(0, 16, 4)),
                "ranking": list(ranking),
                "channel": "online",
            }
            for code, ranking in zip(codes, rankings, strict=True)
        ]
        items.sort(key=lambda item: item["tracker"])
        contest: dict[str, Any] = {
            "id": contest_id,
            "constituency": {"key": f"c{contest_id}", "name": f"Constituency {contest_id}"},
            "weight": "1/1",
            "seats": seats,
            "method": method,
            "seed": f"{contest_id:064x}",
            "uncontested": uncontested,
            "candidates": [{"id": i, "ballot_name": f"Candidate {i}"} for i in ids],
            "roll": _roll(contest_id, len(items) + draw(st.integers(0, 5))),
            "ballots": make_examples._with_root(contest_id, items),
            "count": None,
            "elected": ids,
        }
        if not uncontested:
            contest["count"] = make_examples._count(contest)
            contest["elected"] = [int(c[1:]) for c in contest["count"]["elected_ids"]]
        contests.append(contest)
    body = make_examples.make_body()
    body["contests"] = contests
    return resign({"body": body})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections())
def test_random_small_elections_verify(record: dict[str, Any]) -> None:
    """A record built honestly from any small election passes every step."""
    report = verify_record(record)
    assert report.ok, report.to_dict()


MUTATIONS = {
    "ranking": 5,
    "order": 5,
    "roll": 6,
    "elected": 7,
    "total": 7,
    "body": 2,
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections(), st.sampled_from(sorted(MUTATIONS)), st.data())
def test_one_change_to_a_random_election_fails_its_step(
    record: dict[str, Any], mutation: str, data: st.DataObject
) -> None:
    """One change (a ranking, the ballots' order, the roll, the elected, a stage total, or
    the body after hashing) fails the step that checks it, even when re-signed."""
    contests = record["body"]["contests"]
    contested = [c for c in contests if not c["uncontested"]]
    target = data.draw(st.sampled_from(contested or contests))
    items = target["ballots"]["items"]
    if mutation == "ranking":
        assume(items and not target["uncontested"])
        item = data.draw(st.sampled_from(items))
        others = [c["id"] for c in target["candidates"] if c["id"] != item["ranking"][0]]
        assume(others)
        item["ranking"] = [others[0]]
    elif mutation == "order":
        assume(len(items) >= 2)
        items.reverse()
    elif mutation == "roll":
        assume(items)
        target["roll"]["voters"] = len(items) - 1
    elif mutation == "elected":
        assume(not target["uncontested"] and len(target["elected"]) >= 1)
        target["elected"] = [*target["elected"][1:], 999]
    elif mutation == "total":
        assume(not target["uncontested"])
        totals = target["count"]["stages"][0]["totals"]
        totals[next(iter(totals))] += 1
    if mutation == "body":
        record["body"]["issued_at"] = "2000-01-01T00:00:00Z"
        report = verify_record(record)
    else:
        report = verify_record(resign(record))
    assert MUTATIONS[mutation] in failed(report)
    assert failed(report) <= {MUTATIONS[mutation], 7, 3, 4}


def test_the_report_as_json() -> None:
    """to_dict gives ok and every step's number, name, passed and details."""
    data = verify_record(load("tampered-roll.json")).to_dict()
    assert data["ok"] is False
    assert [s["number"] for s in data["steps"]] == [1, 2, 3, 4, 5, 6, 7]
    assert set(data["steps"][0]) == {"number", "name", "passed", "details"}
    assert json.loads(json.dumps(data)) == data


def test_body_hash_fast_path_equals_the_canonical_hash() -> None:
    """The verifier's body hash is record.body_sha256 of the body."""
    report = verify_record(RECORD)
    assert body_sha256(RECORD["body"]) in details(report, 2)


@pytest.mark.parametrize("enabled", [True, False])
def test_read_json_pauses_the_collector_and_restores_it(enabled: bool) -> None:
    """read_json parses bytes and leaves the garbage collector as it found it, even when
    the file is not JSON."""
    (gc.enable if enabled else gc.disable)()
    try:
        assert read_json(io.BytesIO('{"a": ["é", 1]}'.encode())) == {"a": ["é", 1]}
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError):
            read_json(io.BytesIO(b"{oops"))
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_the_recount_is_by_the_rule_set_the_record_names() -> None:
    """An STV contest naming its rule set is recounted by it (the step says which); a record
    naming none (every record made before rule sets, like the examples) is recounted by the
    Scottish rules; a rule set the verifier does not know fails step 7 alone, by name."""
    assert "rules" not in RECORD["body"]["contests"][0]
    old = verify_record(RECORD)
    assert old.ok and "(scottish-2007 rules)" in details(old, 7)
    named = copy.deepcopy(RECORD)
    named["body"]["contests"][0]["rules"] = "scottish-2007"
    report = verify_record(resign(named))
    assert report.ok, details(report, 7)
    assert "contest 31 (Public members): recounted" in details(report, 7)
    unknown = copy.deepcopy(RECORD)
    unknown["body"]["contests"][0]["rules"] = "nonesuch"
    report = verify_record(resign(unknown))
    assert failed(report) == {7}
    assert "unknown STV rules 'nonesuch'" in details(report, 7)
