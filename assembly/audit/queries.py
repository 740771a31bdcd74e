"""Reads of the audit log."""

from __future__ import annotations

from sqlalchemy import Select, select

from assembly.audit.models import AuditEvent
from assembly.membership.models import Institution


def list_events(institution: Institution) -> Select[tuple[AuditEvent]]:
    """Return a select of the institution's events, newest first, for pagination."""
    return (
        select(AuditEvent)
        .where(AuditEvent.institution_id == institution.id)
        .order_by(AuditEvent.seq.desc())
    )
