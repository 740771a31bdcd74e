"""Ed25519 keys and signatures: keys round-trip through their text forms, signatures verify
only with their key, their domain and their digest, and a wrong passphrase is refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.records.record import (
    make_receipt,
    receipt_digest,
    receipt_signed_by,
    sign_record,
    signature_file,
)
from assembly.records.signing import (
    RECEIPT,
    RECORD,
    KeyProblem,
    decode_public_key,
    fingerprint,
    generate_private_key,
    group_fingerprint,
    load_private_key,
    private_key_pem,
    public_key_text,
    sign,
    statement,
    verify_signature,
)

DIGEST = hashlib.sha256(b"a record body").hexdigest()
digests = st.binary(min_size=1, max_size=64).map(lambda b: hashlib.sha256(b).hexdigest())


def test_the_private_key_round_trips_through_encrypted_pem() -> None:
    """A key written with a passphrase reads back as the same key, and the PEM is encrypted."""
    key = generate_private_key()
    pem = private_key_pem(key, "correct horse battery staple")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    again = load_private_key(pem, "correct horse battery staple")
    assert public_key_text(again) == public_key_text(key)


def test_a_wrong_passphrase_is_refused_with_a_message() -> None:
    """Reading a key with the wrong passphrase raises KeyProblem, saying so."""
    pem = private_key_pem(generate_private_key(), "correct horse battery staple")
    with pytest.raises(KeyProblem, match="wrong passphrase"):
        load_private_key(pem, "incorrect horse battery staple")
    with pytest.raises(KeyProblem):
        load_private_key(pem, "")


def test_a_key_is_only_written_encrypted() -> None:
    """An empty passphrase is refused: a private key is never written in the clear."""
    with pytest.raises(KeyProblem, match="passphrase"):
        private_key_pem(generate_private_key(), "")


def test_the_public_key_round_trips_and_its_fingerprint_is_the_hash_of_its_bytes() -> None:
    """The public key is base64 of 32 bytes; its fingerprint is their SHA-256, in hex."""
    key = generate_private_key()
    text = public_key_text(key)
    raw = base64.b64decode(text)
    assert len(raw) == 32
    assert public_key_text(decode_public_key(text)) == text
    assert fingerprint(text) == hashlib.sha256(raw).hexdigest()
    assert group_fingerprint(fingerprint(text)).split(" ") == [
        fingerprint(text)[i : i + 4] for i in range(0, 64, 4)
    ]


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_public_key_is_a_key_problem(text: str) -> None:
    """Text that is not base64 of 32 bytes is refused as a KeyProblem."""
    with pytest.raises(KeyProblem):
        decode_public_key(text)


@settings(max_examples=50, deadline=None)
@given(digests, st.sampled_from([RECORD, RECEIPT]))
def test_a_signature_verifies_with_its_key_domain_and_digest_only(digest: str, domain: str) -> None:
    """A signature verifies for its key, domain and digest, and for nothing else."""
    key, other = generate_private_key(), generate_private_key()
    signature = sign(key, domain, digest)
    assert len(base64.b64decode(signature)) == 64
    assert verify_signature(public_key_text(key), signature, domain, digest)
    assert not verify_signature(public_key_text(other), signature, domain, digest)
    assert not verify_signature(public_key_text(key), signature, domain, DIGEST)
    wrong = RECEIPT if domain == RECORD else RECORD
    assert not verify_signature(public_key_text(key), signature, wrong, digest)


def test_what_is_signed_is_the_domain_and_digest_statement() -> None:
    """The signed bytes are "<domain>\\n<digest>\\n", as the format says."""
    assert statement(RECORD, DIGEST) == f"assembly record v1\n{DIGEST}\n".encode("ascii")
    assert statement(RECEIPT, DIGEST) == f"assembly receipt v1\n{DIGEST}\n".encode("ascii")


def test_garbage_signatures_are_simply_invalid() -> None:
    """A signature that is not base64, or not 64 bytes, is invalid (no exception)."""
    public = public_key_text(generate_private_key())
    assert not verify_signature(public, "not base64!", RECORD, DIGEST)
    assert not verify_signature(public, base64.b64encode(b"x" * 10).decode(), RECORD, DIGEST)
    assert not verify_signature(
        "not a key", sign(generate_private_key(), RECORD, DIGEST), RECORD, DIGEST
    )


def test_a_record_signature_is_not_valid_as_a_receipts() -> None:
    """Signatures are bound to their domain: a record's signature over a digest does not
    verify as a receipt's over the same digest, and the reverse."""
    key = generate_private_key()
    public = public_key_text(key)
    record_signature = signature_file("election", DIGEST, key)["signature"]
    assert verify_signature(public, record_signature, RECORD, DIGEST)
    assert not verify_signature(public, record_signature, RECEIPT, DIGEST)
    receipt = make_receipt({"tracker": "K7QM-2XHD-9PLA-4RTE", "contest": 1}, key)
    assert receipt_signed_by(receipt, public)
    digest = receipt_digest(receipt["receipt"])
    assert not verify_signature(public, receipt["signature"], RECORD, digest)
    forged = {**receipt, "signature": sign(key, RECORD, digest)}
    assert not receipt_signed_by(forged, public)


def test_a_signed_record_names_its_key_and_verifies() -> None:
    """sign_record signs the body's hash by the election key and names its fingerprint."""
    key = generate_private_key()
    record = sign_record({"hello": "world"}, key)
    (entry,) = record["signatures"]
    assert entry["role"] == "election"
    assert entry["fingerprint"] == fingerprint(public_key_text(key))
    assert verify_signature(public_key_text(key), entry["signature"], RECORD, record["body_sha256"])
