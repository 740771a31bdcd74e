"""Deliver due outbox messages through SMTP or as ``.eml`` files, with retries and back-off.

This runs outside any request (the ``assembly notices send`` timer, or right after a
sign-in request commits) and commits after each message, so a crash part-way never sends a
message twice and never loses one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import render_template
from sqlalchemy import select

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.notices.models import OutboxMessage, OutboxStatus
from assembly.redact import failure

log = logging.getLogger(__name__)

#: The first retry waits a minute, each later one twice as long, never more than six hours.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class FileTransport:
    """Write each message as ``<outbox>/<id>-<kind>.eml`` (the development default)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        name = f"{message['X-Assembly-Outbox-Id']}-{message['X-Assembly-Kind']}.eml"
        temporary = self.directory / (name + ".part")
        temporary.write_bytes(bytes(message))
        os.replace(temporary, self.directory / name)

    def close(self) -> None:
        pass


class SmtpTransport:
    """Send through an SMTP relay, reusing one connection for a batch."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        host, port = self.config["SMTP_HOST"], self.config["SMTP_PORT"]
        timeout = self.config["SMTP_TIMEOUT"]
        connection: smtplib.SMTP
        if self.config["SMTP_SSL"]:
            connection = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
            if self.config["SMTP_STARTTLS"]:
                connection.starttls(context=ssl.create_default_context())
        if self.config.get("SMTP_USERNAME"):
            connection.login(self.config["SMTP_USERNAME"], self.config["SMTP_PASSWORD"] or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self.connection = None


def make_transport(config: dict[str, Any]) -> Transport:
    if config["MAIL_BACKEND"] == "file":
        return FileTransport(config["OUTBOX_DIR"])
    return SmtpTransport(config)


#: Builders for notices queued in bulk with a template and a small JSON context: each takes
#: the stored context and returns (subject, full template context), or None if the notice no
#: longer applies (the member left, say). Features register theirs at import.
CONTEXT_BUILDERS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]] | None]] = {}


def render_pending(outbox_message: OutboxMessage) -> bool:
    """Render a bulk-queued notice's subject and bodies; return False if it no longer applies."""
    if not outbox_message.template or outbox_message.body_text:
        return True
    builder = CONTEXT_BUILDERS.get(outbox_message.template)
    if builder is None:
        raise LookupError(f"no context builder for notice template {outbox_message.template!r}")
    built = builder(json.loads(outbox_message.context or "{}"))
    if built is None:
        return False
    subject, context = built
    context = {"subject": subject, **context}
    outbox_message.subject = subject
    outbox_message.body_text = render_template(f"emails/{outbox_message.template}.txt", **context)
    outbox_message.body_html = render_template(f"emails/{outbox_message.template}.html", **context)
    return True


def build_email(outbox_message: OutboxMessage, sender: str, now: datetime) -> EmailMessage:
    """Return the MIME message (plain text with an HTML alternative) for an outbox row."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = outbox_message.to_address
    email["Subject"] = outbox_message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = outbox_message.message_id or make_msgid(domain="assembly.invalid")
    email["X-Assembly-Outbox-Id"] = str(outbox_message.id)
    email["X-Assembly-Kind"] = outbox_message.kind
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(outbox_message.body_text)
    email.add_alternative(outbox_message.body_html, subtype="html")
    return email


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _due(now: datetime, limit: int, only_ids: Iterable[int] | None) -> list[int]:
    statement = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.queued, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if only_ids is not None:
        statement = statement.where(OutboxMessage.id.in_(list(only_ids)))
    return list(db.session.scalars(statement))


def deliver_due(
    config: dict[str, Any],
    *,
    now: datetime | None = None,
    limit: int = 1000,
    only_ids: Iterable[int] | None = None,
    transport: Transport | None = None,
) -> DeliveryReport:
    """Deliver the queued messages that are due; commit after each one.

    Each row is locked while it is sent (``SKIP LOCKED`` on PostgreSQL), so two senders
    running at once never send the same message.
    """
    now = now or utcnow()
    report = DeliveryReport()
    ids = _due(now, limit, only_ids)
    db.session.commit()
    if not ids:
        return report
    transport = transport or make_transport(config)
    try:
        for message_id in ids:
            row = db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.queued)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                db.session.rollback()
                continue
            if not render_pending(row):
                row.status = OutboxStatus.failed
                row.last_error = "no longer applies"
                db.session.commit()
                continue
            if not row.message_id:
                row.message_id = make_msgid(domain="assembly.invalid")
            row.attempts += 1
            try:
                transport.send(build_email(row, config["MAIL_FROM"], now))
            except (smtplib.SMTPException, OSError) as error:
                row.last_error = f"{type(error).__name__}: {error}"[:500]
                if row.attempts >= config["NOTICE_MAX_ATTEMPTS"]:
                    row.status = OutboxStatus.failed
                    report.failed += 1
                else:
                    row.next_attempt_at = now + retry_delay(row.attempts)
                    report.retrying += 1
                log.warning(
                    "notice %s not delivered (attempt %s): %s",
                    row.id,
                    row.attempts,
                    type(error).__name__,
                )
                if isinstance(transport, SmtpTransport):
                    transport.close()
            else:
                row.status = OutboxStatus.sent
                row.sent_at = now
                row.last_error = ""
                report.sent += 1
            db.session.commit()
    finally:
        transport.close()
    return report


def deliver_after_response(response: Any, message_id: int) -> None:
    """Send a message once ``response`` has gone: the person waits for nothing, and the
    response time never tells whether a message was sent (sign-in, join confirmations)."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def deliver() -> None:
        with app.app_context():
            try:
                deliver_due(app.config, only_ids=[message_id])
            except Exception as error:  # the timer retries; never fail the request for this
                log.error("immediate delivery of notice %s failed: %s", message_id, failure(error))
                db.session.rollback()
            finally:
                db.session.remove()

    response.call_on_close(deliver)
