"""The tables of end-to-end verifiable polls: each election's (or assembly's) key ceremony
and its trustees, and each poll's credentials, encrypted and audited ballots, shuffles and
openings. What is published is kept as the record prints it (canonical JSON of the parts in
``crypto.poll``); no secret of a trustee or a voter is ever stored."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assembly.auth.models import User
from assembly.clock import utcnow
from assembly.extensions import db
from assembly.sqltypes import UTCDateTime

__all__ = [
    "AuditedBallot",
    "Ceremony",
    "Credential",
    "EncryptedBallot",
    "Opening",
    "Shuffle",
    "Trustee",
    "TrusteeUpload",
]


class Ceremony(db.Model):  # type: ignore[name-defined]
    """A key ceremony: its trustees, its threshold and, once every trustee has confirmed, the
    election key."""

    __tablename__ = "e2e_ceremonies"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What every proof of the ceremony is bound to ("riverside/election/12").
    label: Mapped[str] = mapped_column(String(200), unique=True)
    #: How many trustees together open the ballots.
    threshold: Mapped[int] = mapped_column(Integer)
    #: The election key (hex), once every trustee confirmed; empty before.
    election_key: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    trustees: Mapped[list[Trustee]] = relationship(
        back_populates="ceremony", order_by="Trustee.number", cascade="all, delete-orphan"
    )


class Trustee(db.Model):  # type: ignore[name-defined]
    """One trustee of a ceremony: the public half of each step they took in their browser."""

    __tablename__ = "e2e_trustees"
    __table_args__ = (
        UniqueConstraint("ceremony_id", "number"),
        UniqueConstraint("ceremony_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ceremony_id: Mapped[int] = mapped_column(ForeignKey("e2e_ceremonies.id"), index=True)
    #: 1 … n: the returning officer is 1.
    number: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The public transport key the other trustees seal their shares to (hex).
    transport_key: Mapped[str] = mapped_column(String(64), default="")
    #: The dealing as published: commitments, proof and the sealed shares (JSON).
    dealing: Mapped[str] = mapped_column(Text, default="")
    #: The public part of the decryption key the trustee's browser derived (hex), once
    #: confirmed: it equals the one anyone computes from the commitments.
    public_key: Mapped[str] = mapped_column(String(64), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ceremony: Mapped[Ceremony] = relationship(back_populates="trustees")
    user: Mapped[User] = relationship()


class Credential(db.Model):  # type: ignore[name-defined]
    """A public credential of a poll: one per roll entry, with no link to it."""

    __tablename__ = "e2e_credentials"
    __table_args__ = {"sqlite_with_rowid": False}

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    credential: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Where the poll counts by constituency (a weighted assembly vote): the constituency
    #: whose members hold it. Empty otherwise.
    constituency: Mapped[str] = mapped_column(String(40), default="", server_default="")


class EncryptedBallot(db.Model):  # type: ignore[name-defined]
    """A cast encrypted ballot: one per credential (the database refuses a second)."""

    __tablename__ = "e2e_ballots"
    __table_args__ = (
        UniqueConstraint("poll_id", "credential"),
        {"sqlite_with_rowid": False},
    )

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    tracker: Mapped[str] = mapped_column(String(19), primary_key=True)
    credential: Mapped[str] = mapped_column(String(64))
    #: The cast as the record prints it (``crypto.poll.Cast.to_json``).
    content: Mapped[str] = mapped_column(Text)
    cast_on: Mapped[date] = mapped_column()
    #: Its row as the first shuffle takes it (JSON ciphertexts: the ballot's own, then its
    #: group's tag where the poll has groups), kept when it was cast; empty for a ballot cast
    #: before rows were kept.
    row: Mapped[str] = mapped_column(Text, default="", server_default="")


class AuditedBallot(db.Model):  # type: ignore[name-defined]
    """An encryption a voter challenged instead of casting: published, never counted."""

    __tablename__ = "e2e_audits"
    __table_args__ = {"sqlite_with_rowid": False}

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    tracker: Mapped[str] = mapped_column(String(19), primary_key=True)
    #: As the record prints it (``crypto.poll.Audited.to_json``).
    content: Mapped[str] = mapped_column(Text)


class Shuffle(db.Model):  # type: ignore[name-defined]
    """One trustee's proved shuffle of a poll's rows, in order: each takes the one before's."""

    __tablename__ = "e2e_shuffles"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    trustee: Mapped[int] = mapped_column(Integer)
    #: As the record prints it (``crypto.poll.Shuffled.to_json``).
    content: Mapped[str] = mapped_column(Text)


class Opening(db.Model):  # type: ignore[name-defined]
    """One trustee's proved decryption shares of the last shuffle's rows."""

    __tablename__ = "e2e_openings"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    trustee: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As the record prints it (``crypto.poll.Opening.to_json``).
    content: Mapped[str] = mapped_column(Text)


class TrusteeUpload(db.Model):  # type: ignore[name-defined]
    """A file a trustee uploaded (a shuffle, or decryption shares), checked in the background:
    its proofs take seconds to check for a large poll, longer than a request should wait. Kept
    until it is checked, and then only its outcome."""

    __tablename__ = "e2e_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    trustee_id: Mapped[int] = mapped_column(ForeignKey("e2e_trustees.id"), index=True)
    #: "shuffle" or "open".
    part: Mapped[str] = mapped_column(String(8))
    #: "checking", then "kept" or "refused".
    state: Mapped[str] = mapped_column(String(10), default="checking")
    #: What the trustee is told of the outcome.
    message: Mapped[str] = mapped_column(Text, default="")
    #: The file as uploaded (JSON) while it is checked; emptied once it is.
    content: Mapped[str] = mapped_column(Text, default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
