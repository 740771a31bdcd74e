"""Append events to the audit chain and check the chain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from assembly.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from assembly.auth.actors import Actor, actor_label
from assembly.clock import utcnow
from assembly.extensions import db, identity_of
from assembly.records.canonical import canonical_bytes, canonical_text, sha256_hex

HEAD_ID = 1

# Built once: appending is on the path of every change, so it runs as plain Core statements.
_HEAD = AuditHead.__table__
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(hash=bindparam("new_hash"))
_INSERT_EVENT = insert(AuditEvent.__table__)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    occurred_at: datetime,
    institution_id: int | None,
    actor_user_id: int | None,
    actor_label: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: str,
    prev_hash: str,
) -> str:
    """Return the SHA-256 of an event's canonical JSON, which includes the previous hash."""
    return sha256_hex(
        canonical_bytes(
            {
                "seq": seq,
                "occurred_at": _timestamp(occurred_at),
                "institution_id": institution_id,
                "actor_user_id": actor_user_id,
                "actor_label": actor_label,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "data": data,
                "prev_hash": prev_hash,
            }
        )
    )


@dataclass(frozen=True)
class Ref:
    """A row an event is about, by its kind and id, when the row itself is not loaded."""

    kind: str
    id: object


def record_event(
    actor: Actor,
    action: str,
    *,
    institution: Any = None,
    subject: Any = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Append one event to the chain, in the caller's transaction; return its hash.

    The head row is updated first, which takes its lock (a row lock on PostgreSQL, the write
    lock on SQLite), so concurrent appends queue rather than fork the chain. Core statements,
    not the ORM, because every change in the application passes through here.

    :param institution: the institution concerned, or its id.
    :param subject: the row the event is about (its id is read without loading it again),
        or a ``Ref`` to it.
    """
    subject_id = identity_of(subject) if subject is not None else None
    if subject is not None and subject_id is None:
        db.session.flush()
        subject_id = subject.id
    connection = db.session.connection()
    seq, prev_hash = connection.execute(_ADVANCE_HEAD).one()
    occurred_at = (now or utcnow()).astimezone(UTC)
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": occurred_at,
        "institution_id": (
            institution
            if institution is None or isinstance(institution, int)
            else identity_of(institution)
        ),
        "actor_user_id": identity_of(actor),
        "actor_label": actor_label(actor),
        "action": action,
        "subject_type": (
            ""
            if subject is None
            else subject.kind
            if isinstance(subject, Ref)
            else type(subject).__name__.lower()
        ),
        "subject_id": str(subject_id) if subject is not None else "",
        "data": canonical_text(data or {}),
        "prev_hash": prev_hash,
    }
    digest = event_hash(**fields)
    connection.execute(_INSERT_EVENT, {**fields, "hash": digest})
    connection.execute(_SET_HEAD_HASH, {"new_hash": digest})
    return digest


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: how many events it checked and the first broken one."""

    checked: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain() -> ChainReport:
    """Recompute every event's hash in order; report the first event that does not match."""
    statement = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    result = db.session.scalars(statement)
    try:
        return _walk(result)
    finally:
        result.close()


def _walk(events: Iterable[AuditEvent]) -> ChainReport:
    expected_prev = GENESIS_HASH
    checked = 0
    for audit_event in events:
        expected_seq = checked + 1
        if audit_event.seq != expected_seq:
            return ChainReport(
                checked,
                expected_prev,
                expected_seq,
                f"event {expected_seq} is missing (next is {audit_event.seq})",
            )
        if audit_event.prev_hash != expected_prev:
            return ChainReport(
                checked,
                expected_prev,
                audit_event.seq,
                "its previous-hash does not match the event before it",
            )
        recomputed = event_hash(
            seq=audit_event.seq,
            occurred_at=audit_event.occurred_at,
            institution_id=audit_event.institution_id,
            actor_user_id=audit_event.actor_user_id,
            actor_label=audit_event.actor_label,
            action=audit_event.action,
            subject_type=audit_event.subject_type,
            subject_id=audit_event.subject_id,
            data=audit_event.data,
            prev_hash=audit_event.prev_hash,
        )
        if recomputed != audit_event.hash:
            return ChainReport(
                checked,
                expected_prev,
                audit_event.seq,
                "its contents do not match its hash (the event was changed)",
            )
        expected_prev = audit_event.hash
        checked += 1
    head_seq, head_hash = db.session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).one()
    if head_seq != checked or head_hash != expected_prev:
        return ChainReport(
            checked,
            expected_prev,
            checked + 1 if head_seq > checked else checked,
            f"the head records {head_seq} events but {checked} are present"
            " (events were removed from the end)",
        )
    return ChainReport(checked, expected_prev)
