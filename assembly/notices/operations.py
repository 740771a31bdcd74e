"""Queue notices in the outbox."""

from __future__ import annotations

from typing import Any

from flask import render_template

from assembly.extensions import db
from assembly.notices.models import OutboxMessage


def queue_notice(
    kind: str,
    to_address: str,
    subject: str,
    template: str,
    *,
    institution: Any = None,
    **context: Any,
) -> OutboxMessage:
    """Render ``templates/emails/<template>.txt`` and ``.html`` and queue them for delivery.

    The message is delivered after the caller's transaction commits, so a change that is
    rolled back sends nothing.
    """
    context = {"subject": subject, "institution": institution, **context}
    message = OutboxMessage(
        kind=kind,
        to_address=to_address,
        subject=subject,
        body_text=render_template(f"emails/{template}.txt", **context),
        body_html=render_template(f"emails/{template}.html", **context),
        institution_id=institution.id if institution is not None else None,
    )
    db.session.add(message)
    db.session.flush()
    return message
