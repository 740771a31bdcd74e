"""The outbox: every notice is a row here first, delivered later with retries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.sqltypes import UTCDateTime, enum_column


class OutboxStatus(enum.StrEnum):
    queued = "queued"
    sent = "sent"
    #: Gave up after the maximum number of attempts; a secretary can see and re-queue it.
    failed = "failed"


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    #: Which notice this is: ``sign_in``, ``role_granted``, ``notice_of_election`` …
    kind: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    #: For notices queued in bulk: the template to render at delivery (``emails/<t>.txt``
    #: and ``.html``) with ``context`` (JSON); the bodies stay empty until then.
    template: Mapped[str | None] = mapped_column(String(60))
    context: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.queued
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The Message-ID header, so a relay's logs can be matched to the row.
    message_id: Mapped[str] = mapped_column(String(250), default="")
    #: The last delivery error, without the message body.
    last_error: Mapped[str] = mapped_column(String(500), default="")
