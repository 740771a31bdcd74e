"""`assembly keys list` and `assembly keys rotate`: the deployment's election keys from the
command line, on the database the app is configured with."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from assembly.audit.models import AuditEvent
from assembly.auth.actors import SYSTEM
from assembly.cli import cli
from assembly.extensions import db
from assembly.records.models import SigningKey
from assembly.records.operations import current_signing_key
from assembly.records.signing import group_fingerprint


def run(app: Flask, *args: str, stdin: str | None = None) -> Result:
    db.session.rollback()  # read what the command committed, not this test's snapshot
    result = CliRunner().invoke(
        cli, list(args), obj=ScriptInfo(create_app=lambda: app), input=stdin
    )
    db.session.rollback()
    return result


def test_list_says_when_there_is_no_key_yet(app: Flask) -> None:
    result = run(app, "keys", "list")
    assert result.exit_code == 0, result.output
    assert "No election key yet" in result.output
    assert json.loads(run(app, "keys", "list", "--json").output) == []


def test_rotate_retires_the_current_key_and_lists_both(app: Flask) -> None:
    """After a rotation the new key is current, the old one retired and still listed; both
    steps are audited."""
    old = current_signing_key(SYSTEM)
    db.session.commit()
    old_id, old_fingerprint = old.id, old.fingerprint
    result = run(app, "keys", "rotate", "--yes")
    assert result.exit_code == 0, result.output
    keys = db.session.scalars(select(SigningKey).order_by(SigningKey.id)).all()
    assert len(keys) == 2 and keys[0].id == old_id
    assert keys[0].retired_at is not None and keys[1].retired_at is None
    assert f"New election key: {group_fingerprint(keys[1].fingerprint)}" in result.output
    assert current_signing_key(SYSTEM).id == keys[1].id
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("signing_key.%"))
    ).all()
    assert actions.count("signing_key.retired") == 1 and actions.count("signing_key.created") == 2

    listed = json.loads(run(app, "keys", "list", "--json").output)
    assert [row["fingerprint"] for row in listed] == [
        group_fingerprint(keys[1].fingerprint),
        group_fingerprint(old_fingerprint),
    ]
    assert listed[0]["retired_at"] is None and listed[1]["retired_at"] is not None
    text = run(app, "keys", "list").output.splitlines()
    assert text[0].endswith("current") and "retired" in text[1]


def test_rotate_asks_first_and_changes_nothing_when_declined(app: Flask) -> None:
    current_signing_key(SYSTEM)
    db.session.commit()
    result = run(app, "keys", "rotate", stdin="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    keys = db.session.scalars(select(SigningKey)).all()
    assert len(keys) == 1 and keys[0].retired_at is None
