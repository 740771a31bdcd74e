"""`assembly verify`, `assembly keys generate` and `assembly record sign`: exit codes, output,
the returning officer's key and signature round trip, and no settings or database needed."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assembly.cli import cli
from assembly.records.record import key_entry, sign_record
from assembly.records.signing import fingerprint, group_fingerprint

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "docs" / "examples"
RECORD = EXAMPLES / "record.json"
PASSPHRASE = "a long example passphrase"
#: The example election key's seed (docs/examples/make_examples.py): example use only.
ELECTION_SEED = bytes.fromhex("e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec")


def run(*args: str, passphrase: str | None = PASSPHRASE, stdin: str | None = None) -> Result:
    """Run the assembly command group in-process, with the passphrase variable set or not."""
    return CliRunner().invoke(
        cli, list(args), env={"ASSEMBLY_RO_PASSPHRASE": passphrase}, input=stdin
    )


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- assembly verify -----------------------------------------------------------------------------


def test_a_valid_record_passes_with_exit_code_zero() -> None:
    """The example record prints seven numbered PASS steps and exits 0."""
    result = run("verify", str(RECORD))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1. PASS Schema"
    assert "     a record of format 1, matching record-v1.schema.json" in lines
    for number, name in enumerate(
        ["Schema", "Body hash", "Election signature", "Returning officer's signature"], start=1
    ):
        assert f"{number}. PASS {name}" in lines
    assert "7. PASS Recount" in lines
    assert lines[-1] == "All 7 steps passed."


def test_a_roll_proof_is_checked_as_step_nine() -> None:
    """--roll-proof adds step 9; a proof for another salt fails it with exit code 1."""
    proof = EXAMPLES / "roll-proof.json"
    result = run("verify", str(RECORD), "--roll-proof", str(proof))
    assert result.exit_code == 0, result.output
    assert "9. PASS Roll proof" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "All 8 steps passed."


def test_a_roll_proof_that_does_not_hold_fails(tmp_path: Path) -> None:
    forged = {**load(EXAMPLES / "roll-proof.json"), "salt": "00" * 16}
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    result = run("verify", str(RECORD), "--roll-proof", str(path))
    assert result.exit_code == 1
    assert "9. FAIL Roll proof" in result.stdout.splitlines()
    missing = run("verify", str(RECORD), "--roll-proof", str(tmp_path / "none.json"))
    assert missing.exit_code == 2 and "cannot read the roll proof" in missing.output


def test_a_tampered_record_fails_with_exit_code_one() -> None:
    """A tampered record prints FAIL with indented reasons and exits 1."""
    result = run("verify", str(EXAMPLES / "tampered-roll.json"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "6. FAIL Roll" in lines
    assert (
        "     contest 32 (Staff): 24 ballot(s) but only 23 voter(s) on the roll: more ballots "
        "than voters"
    ) in lines
    assert lines[-1] == "FAILED: step(s) 3, 4, 6 of 7."


def test_receipt_signature_tracker_and_fingerprints_are_checked() -> None:
    """--receipt, --tracker, --signature and --fingerprint (twice) add to the steps; exit 0."""
    record = load(RECORD)
    result = run(
        "verify",
        str(RECORD),
        "--signature",
        str(EXAMPLES / "record.sig"),
        "--receipt",
        str(EXAMPLES / "receipt.json"),
        "--tracker",
        load(EXAMPLES / "receipt.json")["receipt"]["tracker"],
        "--fingerprint",
        group_fingerprint(record["body"]["keys"]["election"]["fingerprint"]),
        "--fingerprint",
        record["body"]["keys"]["returning_officer"]["fingerprint"],
    )
    assert result.exit_code == 0, result.output
    assert "8. PASS Receipt and tracker" in result.stdout
    assert "the returning officer's key's fingerprint is one you gave" in result.stdout


def test_a_receipt_missing_from_the_record_exits_one() -> None:
    """A receipt whose ballot was dropped fails step 8."""
    result = run(
        "verify",
        str(EXAMPLES / "tampered-ballot-dropped.json"),
        "--receipt",
        str(EXAMPLES / "receipt.json"),
    )
    assert result.exit_code == 1
    assert "8. FAIL Receipt" in result.stdout
    assert "is not in the record" in result.stdout


def test_json_output_has_ok_and_every_step() -> None:
    """--json prints the report as one JSON document: ok and numbered steps with details."""
    result = run("verify", str(EXAMPLES / "tampered-signature.json"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(s["number"], s["passed"]) for s in report["steps"]] == [
        (1, True),
        (2, True),
        (3, True),
        (4, False),
        (5, True),
        (6, True),
        (7, True),
    ]
    assert set(report["steps"][3]) == {"number", "name", "passed", "details"}
    assert report["steps"][3]["name"] == "Returning officer's signature"
    assert any("does not verify" in line for line in report["steps"][3]["details"])


def test_json_output_of_a_valid_record_is_ok() -> None:
    """--json on the valid record: ok true, exit 0."""
    result = run("verify", str(RECORD), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


def test_a_missing_file_exits_two_with_one_line(tmp_path: Path) -> None:
    """A file that cannot be read ends in one line on stderr and exit code 2."""
    result = run("verify", str(tmp_path / "nothing.json"))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"assembly verify: cannot read the record {tmp_path / 'nothing.json'}: "
        "No such file or directory"
    ]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b""])
def test_a_file_that_is_not_json_exits_two(tmp_path: Path, content: bytes) -> None:
    """A file that is not JSON ends in one line naming it, and exit code 2."""
    path = tmp_path / "record.json"
    path.write_bytes(content)
    result = run("verify", str(path))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"assembly verify: the record {path} is not JSON: ")


def test_an_unreadable_receipt_exits_two(tmp_path: Path) -> None:
    """The receipt and signature files are read the same way: exit 2 if they cannot be."""
    path = tmp_path / "receipt.json"
    path.write_text("nope")
    result = run("verify", str(RECORD), "--receipt", str(path))
    assert result.exit_code == 2
    assert "assembly verify: the receipt" in result.stderr


def test_a_malformed_fingerprint_exits_two() -> None:
    """--fingerprint must be 64 hex digits."""
    result = run("verify", str(RECORD), "--fingerprint", "abcd")
    assert result.exit_code == 2
    assert "--fingerprint must be 64 hex digits" in result.stderr


def test_a_json_file_that_is_not_a_record_exits_one(tmp_path: Path) -> None:
    """Readable JSON that is not a record fails step 1 (exit 1), not exit 2."""
    result = run("verify", str(EXAMPLES / "receipt.json"))
    assert result.exit_code == 1
    assert "1. FAIL Schema" in result.stdout
    assert "2. FAIL Body hash" in result.stdout
    assert "not run: the file is not a record of format 1 (step 1)" in result.stdout


def _bare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # An environment with nothing but PATH: no ASSEMBLY_* settings, no database.
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_verify_needs_no_settings_and_no_database(tmp_path: Path) -> None:
    """In an empty environment, `assembly verify` runs: 0, 1 or 2 as the record deserves,
    and makes no instance folder."""
    passed = _bare("verify", str(RECORD), cwd=tmp_path)
    assert passed.returncode == 0, passed.stderr
    assert "All 7 steps passed." in passed.stdout
    failed = _bare("verify", str(EXAMPLES / "tampered-elected.json"), cwd=tmp_path)
    assert failed.returncode == 1
    assert "7. FAIL Recount" in failed.stdout
    unreadable = _bare("verify", str(tmp_path / "missing.json"), cwd=tmp_path)
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("assembly verify: cannot read the record")
    assert not (tmp_path / "instance").exists()


# -- assembly keys generate ----------------------------------------------------------------------


def test_keys_generate_writes_an_encrypted_key_and_its_public_half(tmp_path: Path) -> None:
    """The private key is encrypted PEM readable by its owner only; the .pub file holds the
    public key; the fingerprint is printed in groups of four with what to do next."""
    key = tmp_path / "officer.key"
    result = run("keys", "generate", "--out", str(key))
    assert result.exit_code == 0, result.output
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public = (tmp_path / "officer.key.pub").read_text().strip()
    assert f"Fingerprint: {group_fingerprint(fingerprint(public))}" in result.stdout
    assert "register" in result.stdout.lower() and "before the poll opens" in result.stdout


def test_keys_generate_never_overwrites(tmp_path: Path) -> None:
    """An existing key file (or .pub file) is never replaced."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    before = key.read_bytes()
    again = run("keys", "generate", "--out", str(key))
    assert again.exit_code == 1
    assert "exists: it is never overwritten" in again.stderr
    assert key.read_bytes() == before
    (tmp_path / "other.key.pub").write_text("x")
    blocked = run("keys", "generate", "--out", str(tmp_path / "other.key"))
    assert blocked.exit_code == 1
    assert not (tmp_path / "other.key").exists()


@pytest.mark.parametrize("passphrase", ["", "too short"])
def test_keys_generate_refuses_a_short_passphrase(tmp_path: Path, passphrase: str) -> None:
    """An empty passphrase, or one under 12 characters, is refused and nothing is written."""
    key = tmp_path / "officer.key"
    result = run("keys", "generate", "--out", str(key), passphrase=passphrase)
    assert result.exit_code == 1
    assert "at least 12 characters" in result.stderr
    assert not key.exists()


def test_keys_generate_asks_for_the_passphrase_twice(tmp_path: Path) -> None:
    """Without the variable, the passphrase is asked for, hidden, with a confirmation."""
    key = tmp_path / "officer.key"
    result = run(
        "keys", "generate", "--out", str(key), passphrase=None, stdin=f"{PASSPHRASE}\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert "Repeat for confirmation" in result.output
    mismatch = run(
        "keys",
        "generate",
        "--out",
        str(tmp_path / "b.key"),
        passphrase=None,
        stdin=f"{PASSPHRASE}\nsomething else entirely\n",
    )
    assert mismatch.exit_code != 0
    assert not (tmp_path / "b.key").exists()


# -- assembly record sign ------------------------------------------------------------------------


def _record_for(public_key: str, folder: Path) -> Path:
    """The example record re-made for a returning officer with this public key, signed by
    the (example) election key only: what the server offers the officer to countersign."""
    record = load(RECORD)
    body = copy.deepcopy(record["body"])
    body["keys"]["returning_officer"] = key_entry(public_key)
    path = folder / "record.json"
    path.write_text(
        json.dumps(sign_record(body, Ed25519PrivateKey.from_private_bytes(ELECTION_SEED)))
    )
    return path


def test_keys_generate_and_record_sign_round_trip(tmp_path: Path) -> None:
    """A key made by `keys generate` countersigns a record naming it; `verify --signature`
    then passes every step."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    record = _record_for((tmp_path / "officer.key.pub").read_text().strip(), tmp_path)
    unsigned = run("verify", str(record))
    assert unsigned.exit_code == 1
    assert "not countersigned" in unsigned.stdout
    sig = tmp_path / "record.sig"
    signed = run("record", "sign", str(record), "--key", str(key), "--out", str(sig))
    assert signed.exit_code == 0, signed.output
    assert f"Wrote {sig}" in signed.stdout
    document = load(sig)
    assert document["format"] == "assembly-signature/1"
    assert document["role"] == "returning_officer"
    assert document["body_sha256"] == load(record)["body_sha256"]
    verified = run("verify", str(record), "--signature", str(sig))
    assert verified.exit_code == 0, verified.output
    assert "countersigned in the signature file" in verified.stdout


def test_record_sign_refuses_another_key(tmp_path: Path) -> None:
    """A key that is not the record's returning officer's is refused, showing both
    fingerprints, and no signature is written."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    sig = tmp_path / "record.sig"
    result = run("record", "sign", str(RECORD), "--key", str(key), "--out", str(sig))
    assert result.exit_code == 1
    assert "is not the returning officer's key the record names" in result.stderr
    officer = load(RECORD)["body"]["keys"]["returning_officer"]["fingerprint"]
    assert group_fingerprint(officer) in result.stderr
    assert not sig.exists()


def test_record_sign_refuses_a_wrong_passphrase(tmp_path: Path) -> None:
    """A wrong passphrase is refused with a message, not a traceback."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    record = _record_for((tmp_path / "officer.key.pub").read_text().strip(), tmp_path)
    result = run(
        "record",
        "sign",
        str(record),
        "--key",
        str(key),
        "--out",
        str(tmp_path / "x.sig"),
        passphrase="not the right passphrase",
    )
    assert result.exit_code == 1
    assert "wrong passphrase" in result.stderr


def test_record_sign_never_overwrites_without_force(tmp_path: Path) -> None:
    """An existing signature file is kept unless --force is given."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    record = _record_for((tmp_path / "officer.key.pub").read_text().strip(), tmp_path)
    sig = tmp_path / "record.sig"
    sig.write_text("keep me")
    refused = run("record", "sign", str(record), "--key", str(key), "--out", str(sig))
    assert refused.exit_code == 1
    assert "give --force to replace it" in refused.stderr
    assert sig.read_text() == "keep me"
    forced = run("record", "sign", str(record), "--key", str(key), "--out", str(sig), "--force")
    assert forced.exit_code == 0, forced.output
    assert load(sig)["format"] == "assembly-signature/1"


def test_record_sign_refuses_a_changed_record(tmp_path: Path) -> None:
    """A record whose body no longer matches its hash, or whose election signature does not
    verify, is not signed."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    changed = load(RECORD)
    changed["body"]["issued_at"] = "2000-01-01T00:00:00Z"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(changed))
    cases = [
        (edited, "it was changed; do not sign it"),
        (EXAMPLES / "tampered-elected.json", "the record has no valid election signature"),
        (EXAMPLES / "receipt.json", "this is not a record of format 1"),
    ]
    for path, message in cases:
        sig = tmp_path / "x.sig"
        result = run("record", "sign", str(path), "--key", str(key), "--out", str(sig))
        assert result.exit_code == 1, path
        assert message in result.stderr
        assert not sig.exists()


def test_record_sign_asks_for_the_passphrase(tmp_path: Path) -> None:
    """Without the variable, the passphrase is asked for (hidden)."""
    key = tmp_path / "officer.key"
    assert run("keys", "generate", "--out", str(key)).exit_code == 0
    record = _record_for((tmp_path / "officer.key.pub").read_text().strip(), tmp_path)
    sig = tmp_path / "record.sig"
    result = run(
        "record",
        "sign",
        str(record),
        "--key",
        str(key),
        "--out",
        str(sig),
        passphrase=None,
        stdin=f"{PASSPHRASE}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert sig.exists()
