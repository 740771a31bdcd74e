"""Election keys and election records in the database.

The deployment's **election key** signs every record and every voter's receipt; its private
part is kept encrypted with ``ASSEMBLY_KEY_PASSPHRASE`` and never leaves the server, and its
public part stays listed at ``/keys`` after the key is retired. Each election signs with the
key that was current when it was approved. A **record** is built by the feature it records
(``elections.record``, ``assemblies.record``), signed and kept here; the returning officer's
countersignature is added when they upload it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.sqltypes import UTCDateTime

__all__ = ["Record", "SigningKey"]


class SigningKey(db.Model):  # type: ignore[name-defined]
    """An Ed25519 election key of this deployment."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Base64 of the 32 raw bytes.
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of the raw public key, hex.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    #: PKCS #8 PEM, encrypted with the deployment's key passphrase.
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a newer key took over; a retired key still verifies what it signed.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Record(db.Model):  # type: ignore[name-defined]
    """A signed record (format 1, ``docs/record-format.md``) of anything that is counted: a
    board election (kind ``election``) or an annual assembly (kind ``assembly``). One per
    subject (the primary key); the service keeps and serves it without knowing the kind."""

    __tablename__ = "records"

    #: What is recorded: ``election`` or ``assembly`` (``records.kinds``).
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: The id of the election or assembly recorded.
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    #: The record as the server signed it: canonical JSON with the election key's signature.
    #: Loaded only when read (a record of a million ballots is tens of megabytes).
    document: Mapped[str] = mapped_column(Text, deferred=True)
    #: The returning officer's detached signature (base64), once uploaded and checked.
    officer_signature: Mapped[str] = mapped_column(Text, default="")
    #: The fingerprint of the returning officer's key that made it (published beside it).
    officer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
