"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, BigInteger, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from assembly.extensions import db
from assembly.sqltypes import UTCDateTime

#: The hash the first event points back to.
GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One change, in order. ``hash`` covers every field and the previous event's hash.

    The table refuses UPDATE and DELETE (a trigger on SQLite and PostgreSQL); someone who gets
    round that is caught by ``assembly audit verify``.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain, from 1, with no gaps; unique so that the chain cannot fork.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Who acted, as shown in the log: an email address, "system", "cli".
    actor_label: Mapped[str] = mapped_column(String(254))
    #: What happened, as ``noun.verb``: ``institution.created``, ``role.granted``.
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[str] = mapped_column(String(64), default="")
    #: Canonical JSON (sorted keys, no whitespace) with the details of the change.
    data: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(db.Model):  # type: ignore[name-defined]
    """The chain's single head row, locked by every append so that appends are serialised."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


_APPEND_ONLY_SQLITE = [
    DDL(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    ),
    DDL(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    ),
]
_APPEND_ONLY_POSTGRESQL = [
    DDL(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$"
    ),
    DDL(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    ),
]


def append_only_statements(dialect: str) -> list[DDL]:
    """Return the DDL that makes ``audit_events`` refuse UPDATE and DELETE on ``dialect``."""
    return {"sqlite": _APPEND_ONLY_SQLITE, "postgresql": _APPEND_ONLY_POSTGRESQL}.get(dialect, [])


@event.listens_for(AuditEvent.__table__, "after_create")
def _make_append_only(target, connection, **kw):  # type: ignore[no-untyped-def]
    for statement in append_only_statements(connection.dialect.name):
        connection.execute(statement)


@event.listens_for(AuditHead.__table__, "after_create")
def _insert_head(target, connection, **kw):  # type: ignore[no-untyped-def]
    connection.execute(target.insert().values(id=1, seq=0, hash=GENESIS_HASH))
