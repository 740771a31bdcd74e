"""Step 3, Election signature: the record carries one signature by the election key named in
the body, it verifies over the body's hash, and the key's fingerprint is one the reader gave
(``--fingerprint``). The checks of a key and of one signature are here, and step 4 (the
returning officer's signature) uses them too.

Pure: standard library, ``cryptography`` (through ``signing``) and the pure modules.
"""

from __future__ import annotations

from typing import Any

from assembly.records.signing import (
    RECORD,
    KeyProblem,
    fingerprint,
    group_fingerprint,
    verify_signature,
)
from assembly.records.verify.report import Outcome, Verification, short

__all__ = [
    "body_key",
    "check_election_signature",
    "digest_missing",
    "given",
    "signature_problems",
    "signatures_by",
]


def body_key(state: Verification, role: str) -> tuple[dict[str, Any], list[str]]:
    """The body's key for ``role``, and what is wrong with its fingerprint."""
    key: dict[str, Any] = state.body["keys"][role]
    try:
        actual = fingerprint(key["public_key"])
    except (KeyProblem, ValueError) as error:
        return key, [f"body.keys.{role}.public_key cannot be read: {error}"]
    if actual != key["fingerprint"]:
        return key, [
            f"body.keys.{role}.fingerprint is {key['fingerprint']}, but the public key's "
            f"fingerprint is {actual}"
        ]
    return key, []


def signatures_by(state: Verification, role: str) -> list[dict[str, Any]]:
    """The record's signatures by ``role``."""
    return [s for s in state.record["signatures"] if s["role"] == role]


def signature_problems(
    state: Verification, entry: dict[str, Any], key: dict[str, Any], what: str
) -> list[str]:
    """What is wrong with one signature of the body by ``key``."""
    assert state.digest is not None
    problems = []
    if entry["fingerprint"] != key["fingerprint"]:
        problems.append(
            f"{what} names the key {short(entry['fingerprint'])}, but the body's key for "
            f"this role is {short(key['fingerprint'])}"
        )
    if not verify_signature(key["public_key"], str(entry["signature"]), RECORD, state.digest):
        problems.append(
            f"{what} does not verify with the key {short(key['fingerprint'])}: that key "
            "did not sign this body"
        )
    return problems


def digest_missing(state: Verification) -> Outcome | None:
    """The outcome of a signature step when step 2 found no canonical bytes, else None."""
    if state.digest is None:
        return False, ["not run: the body has no canonical bytes to check a signature of"]
    return None


def given(state: Verification, value: str, who: str) -> tuple[bool, str]:
    """Whether ``value`` is one of the fingerprints given (True when none were), and a
    note saying so."""
    if not state.fingerprints:
        return True, (
            f"check the {who}'s fingerprint against the one the institution published "
            "(or give it with --fingerprint)"
        )
    if value in state.fingerprints:
        return True, f"the {who}'s fingerprint is one you gave"
    return False, (
        f"the {who}'s fingerprint {short(value)} is not one you gave: this record is not "
        "signed by the key you trust"
    )


def check_election_signature(state: Verification) -> Outcome:
    """Step 3: the election key's one signature of the body, and its fingerprint."""
    missing = digest_missing(state)
    if missing:
        return missing
    key, problems = body_key(state, "election")
    entries = signatures_by(state, "election")
    if not entries:
        problems.append("the record has no election signature")
    elif len(entries) > 1:
        problems.append(f"the record has {len(entries)} election signatures, not one")
    else:
        problems += signature_problems(state, entries[0], key, "the election signature")
    trusted, note = given(state, key["fingerprint"], "election key")
    if not trusted:
        problems.append(note)
    if problems:
        return False, problems
    return True, [
        f"signed by the election key, fingerprint {group_fingerprint(key['fingerprint'])}",
        note,
    ]
