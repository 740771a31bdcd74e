"""Queue notices in the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import render_template

from assembly.bulk import bulk_insert
from assembly.clock import utcnow
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


def queue_bulk_notices(
    kind: str, template: str, notices: Iterable[tuple[int | None, str | None, dict[str, Any]]]
) -> int:
    """Queue many notices at once, each rendered only when it is sent (see ``CONTEXT_BUILDERS``
    in ``assembly.notices.delivery``); return how many were queued.

    :param notices: (institution id, address, small JSON-able context) per notice; rows
        without an address are skipped (those members get a printed letter instead).
    """
    now = utcnow()
    rows: list[dict[str, object]] = [
        {
            "institution_id": institution_id,
            "kind": kind,
            "to_address": address,
            "subject": "",
            "body_text": "",
            "body_html": "",
            "template": template,
            "context": json.dumps(context),
            "status": "queued",
            "attempts": 0,
            "message_id": "",
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        for institution_id, address, context in notices
        if address
    ]
    db.session.flush()
    bulk_insert(db.session.connection(), OutboxMessage.__table__, rows)
    return len(rows)
