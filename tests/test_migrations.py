"""Migrations: an empty database upgrades to head with no drift from the models, and the
last step downgrades and upgrades again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from assembly.extensions import db
from tests.conftest import PG_URL, drop_pg_database, make_pg_database


@pytest.fixture
def empty_app(make_app: Callable[..., Flask], tmp_path: Path):  # type: ignore[no-untyped-def]
    """An app on a database with no tables at all."""
    if PG_URL:
        name = f"assembly_migrations_{tmp_path.name[-20:]}".replace("-", "_").lower()
        url = make_pg_database(PG_URL, name)
        app = make_app(DATABASE_URL=url)
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
        drop_pg_database(PG_URL, name)
    else:
        app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
        with app.app_context():
            yield app


def _drift() -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, db.metadata))


def test_upgrade_empty_database_to_head_has_no_drift(empty_app: Flask) -> None:
    """The migrations build exactly the schema the models describe."""
    assert inspect(db.engine).get_table_names() == []
    upgrade()
    assert "institutions" in inspect(db.engine).get_table_names()
    assert _drift() == []


def test_downgrade_one_step_and_upgrade_again(empty_app: Flask) -> None:
    """The newest migration can be undone and redone, ending with no drift."""
    upgrade()
    downgrade(revision="-1")
    upgrade()
    assert _drift() == []


def test_audit_events_refuse_update_and_delete_after_migration(empty_app: Flask) -> None:
    """The migrated audit table has the append-only trigger."""
    upgrade()
    db.session.execute(
        text(
            "INSERT INTO audit_events (seq, occurred_at, actor_label, action, subject_type,"
            " subject_id, data, prev_hash, hash) VALUES (1, CURRENT_TIMESTAMP, 'x', 'x', '', '',"
            " '{}', :p, :h)"
        ),
        {"p": "0" * 64, "h": "1" * 64},
    )
    db.session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("UPDATE audit_events SET action = 'changed'"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_events"))
    db.session.rollback()
