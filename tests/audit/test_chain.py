"""The audit chain: every change is an event chained to the one before; tampering is found."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from assembly.audit.models import GENESIS_HASH, AuditEvent, append_only_statements
from assembly.audit.operations import record_event, verify_chain
from assembly.auth.actors import SYSTEM
from assembly.extensions import db
from tests.conftest import make_institution


@contextmanager
def guard_removed() -> Iterator[None]:
    """Drop the append-only trigger (as a hostile operator could), then put it back."""
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_events_no_update"))
        db.session.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        db.session.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        db.session.execute(text("DROP FUNCTION audit_events_append_only()"))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        for statement in append_only_statements(dialect):
            db.session.execute(statement)
        db.session.commit()


def _events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _three_events() -> None:
    institution = make_institution()
    record_event(SYSTEM, "test.second", institution=institution, data={"n": 2})
    record_event(SYSTEM, "test.third", institution=institution, data={"n": 3})
    db.session.commit()


def test_events_form_an_unbroken_chain(app: Flask) -> None:
    """Each event points at the previous one's hash, starting from the genesis hash."""
    _three_events()
    events = _events()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in pairwise(events))
    report = verify_chain()
    assert report.ok and report.checked == 3 and report.head_hash == events[-1].hash


def test_the_table_refuses_updates_and_deletes(app: Flask) -> None:
    """The database itself refuses to change or remove an audit event."""
    _three_events()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("UPDATE audit_events SET actor_label = 'someone' WHERE seq = 2"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    db.session.rollback()


def test_an_edited_event_is_detected_by_the_cli(app: Flask, runner: FlaskCliRunner) -> None:
    """Editing one row directly makes `assembly audit verify` exit 1 naming that event."""
    _three_events()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with guard_removed():
        db.session.execute(
            text("UPDATE audit_events SET data = :d WHERE seq = 2"), {"d": '{"n":20}'}
        )
        db.session.commit()
        result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at event 2" in result.output
    assert "changed" in result.output


def test_a_rehashed_edit_breaks_the_next_link(app: Flask) -> None:
    """Rewriting an event and its own hash is still caught: the next event points elsewhere."""
    _three_events()
    with guard_removed():
        db.session.execute(text("UPDATE audit_events SET hash = :h WHERE seq = 2"), {"h": "f" * 64})
        db.session.commit()
        report = verify_chain()
    assert not report.ok and report.broken_seq == 2


def test_a_deleted_event_is_detected(app: Flask) -> None:
    """Removing an event from the middle leaves a gap that verification names."""
    _three_events()
    with guard_removed():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        db.session.commit()
        report = verify_chain()
    assert not report.ok and report.broken_seq == 2
    assert "missing" in report.reason


def test_a_removed_last_event_is_detected(app: Flask) -> None:
    """Removing the newest event is caught by the head, which remembers how many there were."""
    _three_events()
    with guard_removed():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 3"))
        db.session.commit()
        report = verify_chain()
    assert not report.ok and report.broken_seq == 3


def test_events_record_who_did_what(app: Flask) -> None:
    """An event names its actor, action, institution, subject and details."""
    institution = make_institution(slug="record-school", name="Record School")
    [event] = _events()
    assert (event.actor_label, event.action, event.institution_id) == (
        "system",
        "institution.created",
        institution.id,
    )
    assert event.subject_type == "institution" and event.subject_id == str(institution.id)
    assert '"slug":"record-school"' in event.data


def test_the_audit_page_is_paginated_newest_first(app: Flask, client, login_as) -> None:  # type: ignore[no-untyped-def]
    """The institution's audit log shows 50 events a page, newest first, with page links."""
    from assembly.auth.models import Role
    from tests.conftest import grant, make_user

    institution = make_institution(slug="busy-school")
    for number in range(60):
        record_event(SYSTEM, "test.step", institution=institution, data={"n": number})
    db.session.commit()
    grant(make_user("sec@example.org"), institution, Role.secretary)
    login_as("sec@example.org")
    first = client.get("/institutions/busy-school/audit").get_data(as_text=True)
    assert first.index("role.granted") < first.index("n: 59") < first.index("n: 58")
    assert 'rel="next"' in first and "n: 5<" not in first
    second = client.get("/institutions/busy-school/audit?page=2").get_data(as_text=True)
    assert "institution.created" in second and 'rel="prev"' in second
