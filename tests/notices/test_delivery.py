"""Delivering the outbox: through a real SMTP server (aiosmtpd), to .eml files, with retries."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.notices.delivery import deliver_due, retry_delay
from assembly.notices.models import OutboxMessage, OutboxStatus
from assembly.notices.operations import queue_notice
from tests.conftest import free_port, make_institution


class Collect:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Collect]]:
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _smtp_config(app: Flask, port: int) -> dict[str, object]:
    return {**app.config, "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}


def _queue(app: Flask, to: str = "reader@example.org") -> OutboxMessage:
    institution = make_institution(name="Mail School")
    message = queue_notice(
        "sign_in",
        to,
        "Your sign-in link",
        "sign_in",
        institution=institution,
        link="http://localhost/x",
        minutes=15,
    )
    db.session.commit()
    return message


def test_delivers_through_smtp(app: Flask, smtp: tuple[Controller, Collect]) -> None:
    """A queued notice reaches a real SMTP server as text with an HTML alternative."""
    controller, handler = smtp
    message = _queue(app)
    report = deliver_due(_smtp_config(app, controller.port))
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [received] = handler.messages
    assert received["To"] == "reader@example.org"
    assert received["Subject"] == "Your sign-in link"
    assert received["X-Assembly-Outbox-Id"] == str(message.id)
    assert "http://localhost/x" in received.get_body(("plain",)).get_content()
    assert '<a href="http://localhost/x"' in received.get_body(("html",)).get_content()
    db.session.refresh(message)
    assert message.status == OutboxStatus.sent and message.attempts == 1
    assert deliver_due(_smtp_config(app, controller.port)).sent == 0  # never sent twice


def test_retries_with_back_off_when_the_relay_is_down(
    app: Flask, smtp: tuple[Controller, Collect]
) -> None:
    """A refused connection schedules a retry; the message goes once the relay is back."""
    controller, handler = smtp
    message = _queue(app)
    now = utcnow()
    down = _smtp_config(app, free_port())
    report = deliver_due(down, now=now)
    assert (report.sent, report.retrying) == (0, 1)
    db.session.refresh(message)
    assert message.status == OutboxStatus.queued and message.attempts == 1
    assert message.next_attempt_at == now + retry_delay(1)
    assert "ConnectionRefused" in message.last_error
    # Not due yet: nothing is tried.
    assert deliver_due(_smtp_config(app, controller.port), now=now).sent == 0
    later = now + timedelta(minutes=2)
    assert deliver_due(_smtp_config(app, controller.port), now=later).sent == 1
    assert len(handler.messages) == 1


def test_back_off_doubles_and_is_capped() -> None:
    """Retry delays go 1, 2, 4 … minutes and never exceed six hours."""
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(30) == timedelta(hours=6)


def test_gives_up_after_the_maximum_attempts(app: Flask, runner: FlaskCliRunner) -> None:
    """After the last allowed attempt the message is marked failed and the command exits 1."""
    app.config.update(
        MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), NOTICE_MAX_ATTEMPTS=2
    )
    message = _queue(app)
    message.next_attempt_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    assert deliver_due(app.config, now=utcnow() - timedelta(minutes=10)).retrying == 1
    result = runner.invoke(args=["notices", "send"])
    assert result.exit_code == 1, result.output
    assert "1 failed" in result.output
    db.session.refresh(message)
    assert message.status == OutboxStatus.failed and message.attempts == 2


def test_file_backend_writes_eml_files(app: Flask, runner: FlaskCliRunner) -> None:
    """In development each message becomes a .eml file in the outbox folder."""
    message = _queue(app, to="file@example.org")
    result = runner.invoke(args=["notices", "send"])
    assert result.exit_code == 0 and "1 sent" in result.output
    [path] = Path(app.config["OUTBOX_DIR"]).glob("*.eml")
    assert path.name == f"{message.id}-sign_in.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == "file@example.org"


def test_a_rolled_back_change_sends_nothing(app: Flask) -> None:
    """A notice queued in a transaction that is rolled back never reaches the outbox."""
    institution = make_institution()
    queue_notice(
        "sign_in",
        "x@example.org",
        "Subject",
        "sign_in",
        institution=institution,
        link="http://localhost/y",
        minutes=15,
    )
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []
