"""Applying a plan: one chunk's changes written at once with bulk statements, and a welcome
notice queued for each new member; and the write lock an applying import takes first.

Nothing here commits: a roster refused by a later chunk is rolled back whole by the caller.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, update

from assembly.bulk import bulk_insert, bulk_statement
from assembly.clock import utcnow
from assembly.extensions import db
from assembly.membership.imports.changes import PERSON_FIELDS, Changes, person_values
from assembly.membership.imports.lookups import in_chunks
from assembly.membership.models import Membership, Person, RosterSource, SourceRecord
from assembly.notices.operations import queue_bulk_notices

__all__ = ["lock_for_writing", "write_changes"]


def lock_for_writing(connection: Any, source: RosterSource) -> None:
    """Take the database's write lock now, for the whole import (SQLite takes it at the first
    write): the plan then reads what no other writer can change until the commit, and new
    rows can be numbered safely. On PostgreSQL this locks the source's row: two imports of one
    source run one after the other."""
    table = RosterSource.__table__
    connection.execute(update(table).where(table.c.id == source.id).values(id=table.c.id))


def write_changes(connection: Any, source: RosterSource, day: date, changes: Changes) -> None:
    """Write one chunk's changes with bulk statements, in the caller's transaction.

    :param day: the import's date: memberships end and start on it.
    """
    if not changes.size():
        return
    people_table = Person.__table__
    now = utcnow()
    new_ids = bulk_insert(
        connection,
        people_table,
        ({**person_values(r), "created_at": now} for r in changes.new_people),
        returning_ids=True,
    )
    records_table = SourceRecord.__table__
    bulk_insert(
        connection,
        records_table,
        (
            {
                "source_id": source.id,
                "external_id": r.external_id,
                "person_id": pid,
                "is_present": True,
            }
            for r, pid in [*zip(changes.new_people, new_ids, strict=True), *changes.links]
        ),
    )
    bulk_statement(
        connection,
        update(people_table)
        .where(people_table.c.id == bindparam("person_id"))
        .values({f: bindparam(f) for f in PERSON_FIELDS}),
        ({"person_id": pid, **values} for pid, values in changes.updates),
    )
    for ids, present in ((changes.present_again, True), (changes.absent, False)):
        bulk_statement(
            connection,
            update(records_table)
            .where(records_table.c.id == bindparam("rid"))
            .values(is_present=present),
            ({"rid": rid} for rid in ids),
        )
    memberships_table = Membership.__table__
    ended = [m for m, _ in changes.moves] + [m for m, _, _ in changes.leaves]
    bulk_statement(
        connection,
        update(memberships_table)
        .where(memberships_table.c.id == bindparam("mid"))
        .values(left_on=day),
        ({"mid": mid} for mid in ended),
    )
    starts = [(pid, source.constituency_id, source.key) for pid in [*new_ids, *changes.joins]]
    starts += [(pid, source.constituency_id, source.key) for _, pid in changes.moves]
    starts += [(pid, to, "moved") for _, pid, to in changes.leaves if to is not None]
    welcome_count = len(new_ids) + len(changes.joins)
    membership_ids = bulk_insert(
        connection,
        memberships_table,
        (
            {
                "institution_id": source.institution_id,
                "person_id": pid,
                "constituency_id": cid,
                "joined_on": day,
                "left_on": None,
                "opted_out_on": None,
                "source": key,
            }
            for pid, cid, key in starts
        ),
        returning_ids=True,
    )
    _queue_welcomes(source, changes, new_ids, membership_ids[:welcome_count])


def _queue_welcomes(
    source: RosterSource, changes: Changes, new_ids: list[int], membership_ids: list[int]
) -> None:
    """One welcome notice per new member with an email address (rendered at delivery)."""
    emails = {pid: row.email for row, pid in zip(changes.new_people, new_ids, strict=True)}
    for person_id, email in in_chunks(
        lambda keys: db.session.execute(select(Person.id, Person.email).where(Person.id.in_(keys))),
        changes.joins,
    ):
        emails[person_id] = email
    queue_bulk_notices(
        "welcome",
        "welcome",
        (
            (source.institution_id, emails.get(pid), {"membership_id": mid})
            for pid, mid in zip([*new_ids, *changes.joins], membership_ids, strict=True)
        ),
    )
