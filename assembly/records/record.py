"""Election records, format v1 (``docs/record-format.md``): the pieces a record is built from
and checked with — ballot and roll leaves, the body's hash, signatures, receipts.

A record is ``{"format", "body", "body_sha256", "signatures"}``; the body is what is signed
(through its SHA-256; ``signing.statement``). Pure: standard library and ``cryptography``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assembly.records.canonical import canonical_bytes, sha256_hex
from assembly.records.signing import (
    RECEIPT,
    RECORD,
    fingerprint,
    public_key_text,
    sign,
    verify_signature,
)

__all__ = [
    "FORMAT",
    "RECEIPT_FORMAT",
    "ROLL_PROOF_FORMAT",
    "SIGNATURE_FORMAT",
    "ballot_hash",
    "ballot_leaf",
    "body_sha256",
    "key_entry",
    "make_receipt",
    "receipt_digest",
    "roll_leaf",
    "roll_proof",
    "sign_record",
    "signature_file",
]

FORMAT = "assembly-record/1"
SIGNATURE_FORMAT = "assembly-signature/1"
RECEIPT_FORMAT = "assembly-receipt/1"
#: A member's proof that they were on a contest's roll (``roll_proof``).
ROLL_PROOF_FORMAT = "assembly-roll-proof/1"
#: Who signs a record.
ROLES = ("election", "returning_officer")


def ballot_leaf(contest_id: int, tracker: str, ranking: Sequence[int]) -> bytes:
    """A ballot's hash (32 bytes): SHA-256 of the canonical JSON of its contest, tracker and
    ranking. The ballots' Merkle tree has these as its leaves' data, in tracker order."""
    return hashlib.sha256(
        canonical_bytes({"contest": contest_id, "tracker": tracker, "ranking": list(ranking)})
    ).digest()


def ballot_hash(contest_id: int, tracker: str, ranking: Sequence[int]) -> str:
    """A ballot's hash in hex: what the voter's receipt names."""
    return ballot_leaf(contest_id, tracker, ranking).hex()


def roll_leaf(contest_id: int, number: int, email: str, salt: str) -> bytes:
    """A roll entry's commitment (32 bytes): SHA-256 of the canonical JSON of its contest, its
    number on the roll, the member's email address and a random salt kept by the server.
    Without the salt nobody can test an address against it; with their salt, number and the
    inclusion proof a member shows they were on the roll."""
    return hashlib.sha256(
        canonical_bytes({"contest": contest_id, "number": number, "email": email, "salt": salt})
    ).digest()


def roll_proof(
    *,
    institution: str,
    election: int,
    contest: int,
    number: int,
    email: str,
    salt: str,
    index: int,
    size: int,
    path: list[str],
) -> dict[str, Any]:
    """A member's roll proof: what their commitment is made of (``roll_leaf``) and its
    inclusion proof in the contest's roll tree. It needs no signature: it is checked against
    the roll's Merkle root in the signed record."""
    return {
        "format": ROLL_PROOF_FORMAT,
        "institution": institution,
        "election": election,
        "contest": contest,
        "number": number,
        "email": email,
        "salt": salt,
        "index": index,
        "size": size,
        "path": path,
    }


def body_sha256(body: dict[str, Any]) -> str:
    """The SHA-256 (hex) of the body's canonical JSON: what the signatures sign."""
    return sha256_hex(canonical_bytes(body))


def key_entry(public_key: str) -> dict[str, str]:
    """A public key as a record lists it."""
    return {
        "algorithm": "ed25519",
        "public_key": public_key,
        "fingerprint": fingerprint(public_key),
    }


def signature_file(role: str, digest: str, key: Ed25519PrivateKey) -> dict[str, str]:
    """A detached signature of the record whose body hashes to ``digest``: what ``assembly
    record sign`` writes and the returning officer uploads."""
    return {
        "format": SIGNATURE_FORMAT,
        "role": role,
        "body_sha256": digest,
        "fingerprint": fingerprint(public_key_text(key)),
        "signature": sign(key, RECORD, digest),
    }


def sign_record(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The record of ``body`` signed by the election key (the body names that key)."""
    digest = body_sha256(body)
    signature = signature_file("election", digest, key)
    return {
        "format": FORMAT,
        "body": body,
        "body_sha256": digest,
        "signatures": [
            {k: signature[k] for k in ("role", "fingerprint", "signature")},
        ],
    }


def receipt_digest(receipt: dict[str, Any]) -> str:
    return sha256_hex(canonical_bytes(receipt))


def make_receipt(receipt: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A voter's signed receipt: ``receipt`` holds the institution, election, contest, tracker,
    ballot hash and the date of casting (never the time)."""
    return {
        "format": RECEIPT_FORMAT,
        "receipt": receipt,
        "fingerprint": fingerprint(public_key_text(key)),
        "signature": sign(key, RECEIPT, receipt_digest(receipt)),
    }


def receipt_signed_by(document: dict[str, Any], public_key: str) -> bool:
    """Whether a receipt's signature is this key's."""
    return verify_signature(
        public_key, str(document.get("signature", "")), RECEIPT, receipt_digest(document["receipt"])
    )
