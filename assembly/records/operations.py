"""Election keys, receipts and records: made, signed, countersigned.

The deployment's election key is made on first use (or by ``assembly keys rotate``), kept
encrypted with ``ASSEMBLY_KEY_PASSPHRASE``, and unlocked once per process. Each election
signs with the key that was current when it was approved. When the votes are counted the
record is built from the database (``build_body``), signed and stored; the returning
officer adds their countersignature by uploading the file ``assembly record sign`` wrote.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select

from assembly import __version__
from assembly.audit.models import AuditHead
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.elections.models import (
    Ballot,
    Contest,
    ContestResult,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.errors import InvalidTransition, NotEligible, NotFound, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution, Person
from assembly.records import merkle
from assembly.records.canonical import canonical_text
from assembly.records.models import ElectionRecord, SigningKey
from assembly.records.record import (
    SIGNATURE_FORMAT,
    ballot_leaf,
    election_seed_sha256,
    key_entry,
    make_receipt,
    roll_leaf,
    roll_proof,
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

__all__ = [
    "body_frame",
    "build_body",
    "check_countersignature",
    "countersign_record",
    "current_signing_key",
    "get_record",
    "issue_record",
    "published_record",
    "read_officer_key",
    "roll_proofs",
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


# --- records --------------------------------------------------------------------------------


def _roll_entries(contest_id: int) -> list[tuple[int, str, str]]:
    """The contest's roll entries as its commitment is made of them: number, email address
    (empty when the member has none) and salt, in roll-number order."""
    return [
        (number, email or "", salt)
        for number, email, salt in db.session.execute(
            select(RollEntry.number, Person.email, RollEntry.salt)
            .join(Person, Person.id == RollEntry.person_id)
            .where(RollEntry.contest_id == contest_id)
            .order_by(RollEntry.number)
        )
    ]


def _roll(contest: Contest) -> dict[str, Any]:
    leaves = [roll_leaf(contest.id, *entry) for entry in _roll_entries(contest.id)]
    return {"voters": len(leaves), "merkle_root": merkle.merkle_root(leaves)}


def roll_proofs(election: Election, email: str) -> list[tuple[Contest, dict[str, Any]]]:
    """The roll proofs (``record.roll_proof``) of the member with this email address: one
    for each contest of the election whose roll they are on, usually one. Each shows, with
    the record's roll root, that they were on the roll, and nothing about anyone else."""
    email = email.strip().lower()
    if not email:
        return []
    proofs = []
    for contest in sorted(election.contests, key=lambda c: c.id):
        entries = _roll_entries(contest.id)
        index = next((i for i, e in enumerate(entries) if e[1].lower() == email), None)
        if index is None:
            continue
        number, address, salt = entries[index]
        leaves = [roll_leaf(contest.id, *entry) for entry in entries]
        proofs.append(
            (
                contest,
                roll_proof(
                    institution=election.institution.slug,
                    election=election.id,
                    contest=contest.id,
                    number=number,
                    email=address,
                    salt=salt,
                    index=index,
                    size=len(entries),
                    path=merkle.inclusion_proof(leaves, index),
                ),
            )
        )
    return proofs


def _ballots(contest: Contest) -> dict[str, Any]:
    rows = db.session.execute(
        select(Ballot.tracker, Ballot.ranking, Ballot.channel).where(
            Ballot.contest_id == contest.id
        )
    ).all()
    # Sorted here, by code point: a database's collation might order dashes differently.
    items = sorted(
        (
            {"tracker": tracker, "ranking": json.loads(ranking), "channel": channel.value}
            for tracker, ranking, channel in rows
        ),
        key=lambda item: item["tracker"],
    )
    root = merkle.merkle_root(
        ballot_leaf(contest.id, item["tracker"], item["ranking"]) for item in items
    )
    return {"count": len(items), "merkle_root": root, "items": items}


def _contest(election: Election, contest: Contest) -> dict[str, Any]:
    from assembly.elections.count import ballot_candidates, contest_seed

    candidates = ballot_candidates(contest)
    result = db.session.get(ContestResult, contest.id)
    if contest.is_uncontested:
        count, elected = None, [c.id for c in candidates]
    elif result is None:
        raise InvalidTransition(f"{contest.constituency.name} has not been counted.")
    else:
        count, elected = json.loads(result.result), json.loads(result.elected)
    return {
        "id": contest.id,
        "constituency": {"key": contest.constituency.key, "name": contest.constituency.name},
        "weight": f"{contest.weight_numerator}/{contest.weight_denominator}",
        "seats": contest.seats,
        "method": "stv" if contest.method == CountMethod.stv else "fptp",
        "seed": contest_seed(election, contest),
        "uncontested": contest.is_uncontested,
        "candidates": [{"id": c.id, "ballot_name": c.ballot_name} for c in candidates],
        "roll": _roll(contest),
        "ballots": _ballots(contest),
        "count": count,
        "elected": elected,
    }


def build_body(election: Election) -> dict[str, Any]:
    """The record's body (format v1) for a counted election, from the database: with the
    election's seed revealed beside the commitment to it printed before the poll."""
    if election.signing_key_id is None or not election.officer_public_key:
        raise InvalidTransition(
            "The election has no election key or no returning officer's key, so it has no record."
        )
    return {
        **body_frame(election.institution, election.signing_key_id, election.officer_public_key),
        "election": {
            "id": election.id,
            "title": election.title,
            "seats": election.seats,
            "apportionment": election.apportionment,
            "candidate_order": str(election.candidate_order.value),
            "timetable": {
                name: getattr(election, name).isoformat()
                for name in (
                    "notice_of_election_on",
                    "nominations_close_on",
                    "withdrawals_close_on",
                    "poll_opens_on",
                    "poll_closes_on",
                )
            },
            # The commitment published before the poll (the election's page, the notices)
            # and the seed it commits to, from which every contest's seed is made.
            "seed_sha256": election_seed_sha256(election.seed),
            "seed": election.seed,
        },
        "contests": [
            _contest(election, contest)
            for contest in sorted(election.contests, key=lambda contest: contest.id)
        ],
    }


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


def issue_record(actor: Actor, election: Election) -> ElectionRecord:
    """Build the counted election's record, sign it with the election key and keep it."""
    assert election.signing_key_id is not None
    row = store_signed(
        lambda: (
            db.session.get(ElectionRecord, election.id) or ElectionRecord(election_id=election.id)
        ),
        build_body(election),
        election.signing_key_id,
    )
    record_event(
        actor,
        "record.issued",
        institution=election.institution,
        subject=election,
        data={"body_sha256": row.body_sha256},
    )
    return row


class SignedRow(Protocol):
    """A stored record (an election's or an assembly's)."""

    body_sha256: str
    document: str
    officer_signature: str
    countersigned_at: datetime | None


_Row = TypeVar("_Row", bound=SignedRow)


def store_signed(row_for: Callable[[], _Row], body: dict[str, Any], key_id: int) -> _Row:
    """Sign ``body`` with election key ``key_id`` and keep it in the row ``row_for`` finds or
    makes, without the returning officer's countersignature (which comes later, by upload).
    The row is looked up only once the record is signed: unlocking the key may read the
    database, which would otherwise flush a half-filled new row."""
    record = sign_record(body, unlocked_key(key_id))
    row = row_for()
    db.session.add(row)
    row.body_sha256 = record["body_sha256"]
    row.document = canonical_text(record)
    row.officer_signature = ""
    row.countersigned_at = None
    db.session.flush()
    return row


def get_record(election: Election) -> ElectionRecord | None:
    return db.session.get(ElectionRecord, election.id)


def published_record(row: ElectionRecord, election: Election) -> dict[str, Any]:
    """The record as published: the server's document with the officer's signature added."""
    return with_officer_signature(row.document, election.officer_fingerprint, row.officer_signature)


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


def countersign_record(actor: Actor, election: Election, signature: Any) -> None:
    """Add the returning officer's countersignature (the file ``assembly record sign`` wrote)
    to the election's record, once it is checked against the key they registered.

    :raises NotEligible: the actor is not the election's returning officer.
    :raises InvalidTransition: there is no record yet, or the result is declared.
    :raises RuleViolation: the file is not a signature of this record by that key.
    """
    from assembly.elections.operations import lock_election
    from assembly.elections.states import ElectionState

    if not election.is_returning_officer(actor):
        raise NotEligible("Only the election's returning officer can countersign its record.")
    election = lock_election(election)
    row = get_record(election)
    if row is None or election.state != ElectionState.counted:
        raise InvalidTransition(
            "A record is countersigned after the count and before the declaration."
        )
    row.officer_signature = check_countersignature(
        signature,
        row.body_sha256,
        election.officer_public_key,
        election.officer_fingerprint,
        "election",
    )
    row.countersigned_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "record.countersigned",
        institution=election.institution,
        subject=election,
        data={"body_sha256": row.body_sha256, "fingerprint": election.officer_fingerprint},
    )
