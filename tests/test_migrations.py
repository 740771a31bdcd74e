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
from sqlalchemy import inspect, select, text
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


def test_records_keep_verifying_across_the_merge_of_the_record_tables(app: Flask) -> None:
    """A countersigned board election record and an assembly record, taken back to the two
    tables of revision 0011 and forward again into one: every row comes back byte for byte,
    with the officer's fingerprint, and both records pass every step of the verifier."""
    from assembly.assemblies.operations import close_vote, declare_assembly, open_vote
    from assembly.records.models import Record
    from assembly.records.operations import list_records, published
    from assembly.records.verify import verify_record
    from tests.assemblies.helpers import HELD_ON, make_room
    from tests.assemblies.test_count import _check_in_all, _vote_all
    from tests.records.test_pages import _declared

    _declared(app)
    room = make_room("merge-school")
    _check_in_all(room)
    open_vote(room.secretary, room.assembly)
    _vote_all(room, {"workers": [[0, 1], [1], [0]]})
    vote = room.assembly.votes[-1]
    close_vote(room.secretary, vote)
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()

    def rows() -> list[tuple[object, ...]]:
        return [
            (
                r.kind,
                r.subject_id,
                r.body_sha256,
                r.document,
                r.officer_signature,
                r.officer_fingerprint,
                r.created_at,
                r.countersigned_at,
            )
            for r in list_records()
        ]

    before = rows()
    assert {row[0] for row in before} == {"election", "assembly"}
    assert any(row[4] and row[5] for row in before)  # one is countersigned
    db.session.remove()
    downgrade(revision="0011")
    tables = inspect(db.engine).get_table_names()
    assert "records" not in tables and {"election_records", "assembly_records"} <= set(tables)
    upgrade()
    db.session.remove()
    assert rows() == before
    reports = [verify_record(published(row)) for row in db.session.scalars(select(Record))]
    failed = [[s.number for s in r.steps if not s.passed] for r in reports]
    # The assembly's record awaits the returning officer's countersignature (step 4) only.
    assert sorted(failed) == [[], [4]], failed
