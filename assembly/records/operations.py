"""Election keys, receipts and records: made, signed, countersigned.

The deployment's election key is made on first use (or by ``assembly keys rotate``), kept
encrypted with ``ASSEMBLY_KEY_PASSPHRASE``, and unlocked once per process. Each election
signs with the key that was current when it was approved.

Records: the feature that counts builds the body (``elections.record``,
``assemblies.record``) from ``body_frame`` and its own sections; this service signs and keeps
it (``store_signed``; ``issue`` audits it too) under its kind and subject, serves it with the
returning officer's countersignature (``published``), and checks and adds that
countersignature, uploaded as the file ``assembly record sign`` wrote (``add_countersignature``;
``countersign`` audits it too). It knows no feature: a record's subject is only a
``RecordSubject``.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select

from assembly.audit.models import AuditHead
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.errors import NotFound, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.records.canonical import canonical_text
from assembly.records.models import Record, SigningKey
from assembly.records.record import (
    SIGNATURE_FORMAT,
    key_entry,
    make_receipt,
    sign_record,
)
from assembly.records.signing import (
    RECORD,
    KeyProblem,
    decode_public_key,
    fingerprint,
    generate_private_key,
    load_private_key,
    private_key_pem,
    public_key_text,
    verify_signature,
)
from assembly.version import __version__

__all__ = [
    "RecordSubject",
    "add_countersignature",
    "body_frame",
    "check_countersignature",
    "countersign",
    "current_signing_key",
    "get_record",
    "issue",
    "list_records",
    "published",
    "read_officer_key",
    "rotate_signing_key",
    "sign_receipt",
    "signing_public_key",
    "store_signed",
    "unlocked_key",
    "with_officer_signature",
]

#: Each election key unlocked in this process: its private part, and its fingerprint (which
#: every receipt names; deriving it from the key costs more than a signature).
_UNLOCKED: dict[int, tuple[Ed25519PrivateKey, str]] = {}
_UNLOCKING = threading.Lock()


class KeyLocked(RuleViolation):
    """The election key cannot be unlocked with the configured passphrase."""

    title = "The election key cannot be unlocked"


# --- the deployment's election key ----------------------------------------------------------


def _passphrase() -> str:
    return str(current_app.config["KEY_PASSPHRASE"])


def _make_key(actor: Actor) -> SigningKey:
    private = generate_private_key()
    public = public_key_text(private)
    key = SigningKey(
        public_key=public,
        fingerprint=fingerprint(public),
        private_key=private_key_pem(private, _passphrase()).decode("ascii"),
    )
    db.session.add(key)
    db.session.flush()
    _UNLOCKED[key.id] = (private, key.fingerprint)
    record_event(actor, "signing_key.created", subject=key, data={"fingerprint": key.fingerprint})
    return key


def current_signing_key(actor: Actor) -> SigningKey:
    """The election key new elections sign with; made (and audited) on first use."""
    key = db.session.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    ).first()
    return key if key is not None else _make_key(actor)


def rotate_signing_key(actor: Actor) -> SigningKey:
    """Retire the current election key and make a new one. Elections approved before keep
    signing with the key they were approved under; the old public key stays listed."""
    now = utcnow()
    for key in db.session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
        record_event(
            actor, "signing_key.retired", subject=key, data={"fingerprint": key.fingerprint}
        )
    return _make_key(actor)


def list_signing_keys() -> list[SigningKey]:
    """Every election key, newest first: the current one and those retired."""
    return list(db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())))


def unlocked_key(key_id: int) -> Ed25519PrivateKey:
    """The private part of an election key, unlocked once per process."""
    return _unlocked(key_id)[0]


def _unlocked(key_id: int) -> tuple[Ed25519PrivateKey, str]:
    found = _UNLOCKED.get(key_id)
    if found is not None:
        return found
    with _UNLOCKING:
        row = db.session.get(SigningKey, key_id)
        if row is None:
            raise NotFound("The election key is missing.")
        try:
            private = load_private_key(row.private_key.encode("ascii"), _passphrase())
        except KeyProblem:
            raise KeyLocked(
                "The election key cannot be unlocked with ASSEMBLY_KEY_PASSPHRASE: set the "
                "passphrase it was made with."
            ) from None
        found = _UNLOCKED[key_id] = (private, row.fingerprint)
        return found


def signing_public_key(key_id: int) -> str:
    """The public part of an election key (base64)."""
    row = db.session.get(SigningKey, key_id)
    if row is None:
        raise NotFound("The election key is missing.")
    return row.public_key


# --- receipts -------------------------------------------------------------------------------


def sign_receipt(key_id: int, receipt: dict[str, Any]) -> dict[str, Any]:
    """The voter's receipt signed with the election's key (``record.make_receipt``)."""
    key, key_fingerprint = _unlocked(key_id)
    return make_receipt(receipt, key, key_fingerprint=key_fingerprint)


# --- records ----------------------------------------------------------------------------


class RecordSubject(Protocol):
    """What a record is of (a board election, an assembly), as this service sees it."""

    @property
    def id(self) -> int: ...

    @property
    def institution_id(self) -> int: ...

    #: The key the returning officer registered to countersign with, and its fingerprint.
    @property
    def officer_public_key(self) -> str: ...

    @property
    def officer_fingerprint(self) -> str: ...


def body_frame(institution: Institution, signing_key_id: int, officer_key: str) -> dict[str, Any]:
    """What every record's body holds besides its election or assembly and its contests: the
    software, when it was issued, the institution, the audit log's head and both keys."""
    head = db.session.get(AuditHead, 1)
    return {
        "software": {"name": "assembly", "version": __version__},
        "issued_at": utcnow().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "institution": {
            "slug": institution.slug,
            "name": institution.name,
            "kind": str(institution.kind.value),
        },
        "audit": {"seq": head.seq if head else 0, "head_hash": head.hash if head else "0" * 64},
        "keys": {
            "election": key_entry(signing_public_key(signing_key_id)),
            "returning_officer": key_entry(officer_key),
        },
    }


def store_signed(kind: str, subject_id: int, body: dict[str, Any], key_id: int) -> Record:
    """Sign ``body`` with election key ``key_id`` and keep it as the record of ``kind``
    ``subject_id`` (made, or replaced when counted again), without the returning officer's
    countersignature (which comes later, by upload). The row is looked up only once the
    record is signed: unlocking the key may read the database, which would otherwise flush a
    half-filled new row."""
    record = sign_record(body, unlocked_key(key_id))
    row = get_record(kind, subject_id) or Record(kind=kind, subject_id=subject_id)
    db.session.add(row)
    row.body_sha256 = record["body_sha256"]
    row.document = canonical_text(record)
    row.officer_signature = ""
    row.officer_fingerprint = ""
    row.countersigned_at = None
    db.session.flush()
    return row


def get_record(kind: str, subject_id: int) -> Record | None:
    """The stored record of ``kind`` (``election`` or ``assembly``) ``subject_id``, if any."""
    return db.session.get(Record, (kind, subject_id))


def published(row: Record) -> dict[str, Any]:
    """The record as published: the server's document with the returning officer's
    signature added once they have countersigned."""
    return with_officer_signature(row.document, row.officer_fingerprint, row.officer_signature)


def list_records() -> list[Record]:
    """Every stored record, of every kind, in the order they were made."""
    return list(db.session.scalars(select(Record).order_by(Record.created_at, Record.kind)))


def with_officer_signature(document: str, fingerprint: str, signature: str) -> dict[str, Any]:
    """A stored record (the server's signed document) with the returning officer's
    signature added, if they have countersigned."""
    record: dict[str, Any] = json.loads(document)
    if signature:
        record["signatures"].append(
            {"role": "returning_officer", "fingerprint": fingerprint, "signature": signature}
        )
    return record


def read_officer_key(pasted: str) -> tuple[str, str]:
    """A returning officer's public key as they pasted it (the line ``assembly keys generate``
    wrote to the .pub file; line breaks and spaces a paste adds are dropped): the key and its
    fingerprint.

    :raises RuleViolation: that is not an Ed25519 public key.
    """
    text = "".join(pasted.split())
    try:
        decode_public_key(text)
    except KeyProblem as problem:
        raise RuleViolation(
            f"That is not a public key made by `assembly keys generate` ({problem}): paste the "
            "one line of the .pub file."
        ) from None
    return text, fingerprint(text)


def check_countersignature(
    signature: Any, body_sha256: str, public_key: str, fingerprint: str, what: str
) -> str:
    """The returning officer's signature (base64) from the file ``assembly record sign``
    wrote, once it is checked: a signature of this body by the key they registered.

    :raises RuleViolation: saying what is wrong with the file.
    """
    if not isinstance(signature, dict) or signature.get("format") != SIGNATURE_FORMAT:
        raise RuleViolation(
            "That file is not a signature made by `assembly record sign`: upload the .sig file "
            "it wrote."
        )
    if signature.get("body_sha256") != body_sha256:
        raise RuleViolation(
            "That signature is for a different record (its body hash does not match): sign "
            f"the record downloaded from this {what}'s record page."
        )
    if signature.get("fingerprint") != fingerprint:
        raise RuleViolation(
            "That signature was made with a key other than the one you registered for this "
            f"{what} (fingerprint {fingerprint[:16]}…)."
        )
    if not verify_signature(public_key, str(signature.get("signature", "")), RECORD, body_sha256):
        raise RuleViolation("The signature does not verify with your registered key.")
    return str(signature["signature"])


def add_countersignature(
    row: Record, signature: Any, public_key: str, fingerprint: str, what: str
) -> None:
    """Check the returning officer's signature file against the key they registered and add
    it to the stored record.

    :raises RuleViolation: the file is not a signature of this record by that key.
    """
    row.officer_signature = check_countersignature(
        signature, row.body_sha256, public_key, fingerprint, what
    )
    row.officer_fingerprint = fingerprint
    row.countersigned_at = utcnow()
    db.session.flush()


def issue(
    actor: Actor, kind: str, subject: RecordSubject, body: dict[str, Any], key_id: int, action: str
) -> Record:
    """Sign ``subject``'s record ``body`` with election key ``key_id``, keep it
    (``store_signed``) and audit it as ``action``."""
    row = store_signed(kind, subject.id, body, key_id)
    record_event(
        actor,
        action,
        institution=subject.institution_id,
        subject=subject,
        data={"body_sha256": row.body_sha256},
    )
    return row


def countersign(
    actor: Actor, kind: str, subject: RecordSubject, row: Record, signature: Any, action: str
) -> None:
    """Check the returning officer's signature file against the key they registered for
    ``subject``, add it to its record ``row`` (``add_countersignature``; messages call the
    subject by its ``kind``) and audit it as ``action``. Who may countersign, and when, is the
    feature's to check first.

    :raises RuleViolation: the file is not a signature of this record by that key.
    """
    add_countersignature(
        row, signature, subject.officer_public_key, subject.officer_fingerprint, kind
    )
    record_event(
        actor,
        action,
        institution=subject.institution_id,
        subject=subject,
        data={"body_sha256": row.body_sha256, "fingerprint": subject.officer_fingerprint},
    )
