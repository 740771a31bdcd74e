"""Step 4, Returning officer's signature: the body is countersigned by the returning
officer's key named in the body (not the election key, which the server holds), in the
record or in the detached signature file ``assembly record sign`` writes (``--signature``),
and with two or more fingerprints given, the key's is one of them.

Pure: standard library, ``cryptography`` (through ``signing``) and the pure modules.
"""

from __future__ import annotations

from typing import Any

from assembly.records.record import SIGNATURE_FORMAT
from assembly.records.signing import group_fingerprint
from assembly.records.verify.report import Outcome, Verification, as_json
from assembly.records.verify.step3_election_signature import (
    body_key,
    digest_missing,
    given,
    signature_problems,
    signatures_by,
)

__all__ = ["check_officer_signature"]


def check_officer_signature(state: Verification) -> Outcome:
    """Step 4: the returning officer's countersignature, in the record or the file given."""
    missing = digest_missing(state)
    if missing:
        return missing
    key, problems = body_key(state, "returning_officer")
    election = state.body["keys"]["election"]
    if key["public_key"] == election["public_key"]:
        problems.append(
            "the returning officer's key is the election key, which the server holds: "
            "that is no countersignature"
        )
    entries = signatures_by(state, "returning_officer")
    if len(entries) > 1:
        problems.append(f"the record has {len(entries)} returning officer's signatures")
    for entry in entries[:1]:
        problems += signature_problems(
            state, entry, key, "the returning officer's signature in the record"
        )
    if state.signature is not None:
        problems += _detached(state, key)
    elif not entries:
        problems.append(
            "not countersigned: the record has no returning officer's signature (give the "
            "detached signature file with --signature)"
        )
    # One fingerprint given is the election key's; with two or more, the returning
    # officer's must be among them too.
    pinned = len(state.fingerprints) >= 2
    trusted, note = given(state, key["fingerprint"], "returning officer's key")
    if pinned and not trusted:
        problems.append(note)
    if problems:
        return False, problems
    where = "the record" if entries else "the signature file"
    if entries and state.signature is not None:
        where = "the record and the signature file"
    details = [
        f"countersigned in {where} by the returning officer's key, fingerprint "
        f"{group_fingerprint(key['fingerprint'])}"
    ]
    if pinned or not state.fingerprints:
        details.append(note)
    return True, details


def _detached(state: Verification, key: dict[str, Any]) -> list[str]:
    """What is wrong with the detached signature file (``assembly record sign``)."""
    assert state.digest is not None
    document = state.signature
    fields = ("format", "role", "body_sha256", "fingerprint", "signature")
    if not isinstance(document, dict) or not all(
        isinstance(document.get(name), str) for name in fields
    ):
        return [
            "the signature file is not a detached signature: it needs the text fields "
            + ", ".join(fields)
        ]
    if document["format"] != SIGNATURE_FORMAT:
        return [
            f"the signature file's format is {as_json(document['format'])}, "
            f"not {as_json(SIGNATURE_FORMAT)}"
        ]
    problems = []
    if document["role"] != "returning_officer":
        problems.append(
            f"the signature file is by the {as_json(document['role'])} role, not the "
            "returning officer"
        )
    if document["body_sha256"] != state.digest:
        problems.append(
            f"the signature file is for another record: it signs the body "
            f"{document['body_sha256']}, this record's body is {state.digest}"
        )
        return problems
    return problems + signature_problems(state, document, key, "the signature file")
