"""Ed25519 keys and signatures for records, receipts and countersignatures.

A public key travels as the base64 of its 32 raw bytes; its fingerprint is the SHA-256 of
those bytes in hex (shown to people in groups of four). A private key is kept as encrypted
PKCS #8 PEM (the ``cryptography`` package's best available encryption for the passphrase).

What is signed is never the bulky document itself but a short statement naming it: a domain
line and the SHA-256 of the canonical JSON (``statement``), so that a signature made for a
record cannot be taken for a receipt's, and a verifier hashes a large record once.

Pure: standard library and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "KeyProblem",
    "decode_public_key",
    "fingerprint",
    "generate_private_key",
    "group_fingerprint",
    "load_private_key",
    "private_key_pem",
    "public_key_text",
    "sign",
    "statement",
    "verify_signature",
]

#: The domains a signature can be made in.
RECORD = "assembly record v1"
RECEIPT = "assembly receipt v1"


class KeyProblem(ValueError):
    """A key or signature that cannot be read, or a wrong passphrase."""


def statement(domain: str, digest: str) -> bytes:
    """The bytes signed for a document of this ``domain`` whose SHA-256 is ``digest``."""
    return f"{domain}\n{digest}\n".encode("ascii")


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def decode_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key written by ``public_key_text``.

    :raises KeyProblem: not base64 of 32 bytes.
    """
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("the public key is not base64") from None
    if len(raw) != 32:
        raise KeyProblem(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(public_key: str) -> str:
    """The fingerprint (64 hex digits) of a public key given as ``public_key_text``."""
    return hashlib.sha256(decode_public_key(public_key).public_bytes_raw()).hexdigest()


def group_fingerprint(value: str) -> str:
    """A fingerprint as people read it aloud: groups of four hex digits."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def private_key_pem(key: Ed25519PrivateKey, passphrase: str) -> bytes:
    """The private key as PKCS #8 PEM, encrypted with ``passphrase`` (which must not be empty)."""
    if not passphrase:
        raise KeyProblem("a private key is only kept encrypted: give a passphrase")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def load_private_key(pem: bytes, passphrase: str) -> Ed25519PrivateKey:
    """Read an encrypted private key.

    :raises KeyProblem: the passphrase is wrong, or it is not an Ed25519 private key.
    """
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8") or None)
    except (ValueError, TypeError):
        raise KeyProblem(
            "the private key could not be read: wrong passphrase, or not a key file"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem("the key is not an Ed25519 key")
    return key


def sign(key: Ed25519PrivateKey, domain: str, digest: str) -> str:
    """Sign the statement for ``domain`` and ``digest``; base64 of the 64-byte signature."""
    return base64.b64encode(key.sign(statement(domain, digest))).decode("ascii")


def verify_signature(public_key: str, signature: str, domain: str, digest: str) -> bool:
    """Whether ``signature`` (base64) is the key's signature of the statement."""
    try:
        key = decode_public_key(public_key)
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, statement(domain, digest))
    except (KeyProblem, binascii.Error, ValueError, InvalidSignature):
        return False
    return True
