"""What the database knows about a chunk of a roster's rows, read in three queries.

For each row: the source record with its external id (and the person's details as stored);
otherwise the people, made before this import, with its email address; the memberships of the
institution of everyone found; and which of them the roster has already met. Planning
(``matching``) decides from these alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, column, text

from assembly.membership.imports.rows import RosterRow

__all__ = ["CHUNK", "ChunkLookups", "in_chunks", "look_up"]

#: Rows per IN (...) query: well under SQLite's limit of bound parameters.
CHUNK = 900

# The chunk's lookups. Joins are written as CROSS JOIN with the conditions in WHERE, which
# PostgreSQL plans freely and SQLite never reorders: it must start from the chunk (five
# thousand rows) and look each row up by index, never scan a million-row table per chunk (it
# has no statistics to know better). A unary + keeps SQLite off an unhelpful index.
_KNOWN = text(
    "SELECT r.external_id, r.id, r.person_id, r.is_present, s.person_id IS NOT NULL, "
    "p.given_name, p.family_name, p.email, p.date_of_birth, p.postcode "
    "FROM roster_import_chunk AS c CROSS JOIN source_records AS r CROSS JOIN people AS p "
    "LEFT JOIN roster_import_people AS s ON s.person_id = r.person_id "
    "WHERE r.source_id = :source AND r.external_id = c.external_id AND p.id = r.person_id"
).columns(
    column("external_id", String),
    column("id", Integer),
    column("person_id", Integer),
    column("is_present", Boolean),
    column("seen", Boolean),
    column("given_name", String),
    column("family_name", String),
    column("email", String),
    column("date_of_birth", Date),
    column("postcode", String),
)
#: Distinct emails of the chunk's rows that the source does not know.
_UNSEEN_EMAILS = (
    "SELECT DISTINCT c.email FROM roster_import_chunk AS c WHERE c.email IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM source_records AS r "
    "WHERE r.source_id = :source AND r.external_id = c.external_id)"
)
# Only constant text is joined into these two (values are bound): hence the noqa.
_BY_EMAIL = text(
    "SELECT p.id, p.email, p.date_of_birth, s.person_id IS NOT NULL, "  # noqa: S608
    "EXISTS (SELECT 1 FROM source_records AS l WHERE l.person_id = p.id "
    "AND l.source_id = :source) "
    f"FROM ({_UNSEEN_EMAILS}) AS e CROSS JOIN people AS p "
    "LEFT JOIN roster_import_people AS s ON s.person_id = p.id "
    "WHERE p.email = e.email AND +p.id <= :cutoff"
).columns(
    column("id", Integer),
    column("email", String),
    column("date_of_birth", Date),
    column("seen", Boolean),
    column("listed", Boolean),
)
_MEMBERSHIPS = text(
    "SELECT m.id, m.person_id, m.constituency_id, m.left_on, m.opted_out_on FROM ("  # noqa: S608
    "SELECT r.person_id FROM roster_import_chunk AS c CROSS JOIN source_records AS r "
    "WHERE r.source_id = :source AND r.external_id = c.external_id "
    "UNION SELECT p.id FROM "
    f"({_UNSEEN_EMAILS}) AS e CROSS JOIN people AS p WHERE p.email = e.email "
    "AND +p.id <= :cutoff"
    ") AS x CROSS JOIN memberships AS m "
    "WHERE m.person_id = x.person_id AND +m.institution_id = :institution ORDER BY m.id"
).columns(
    column("id", Integer),
    column("person_id", Integer),
    column("constituency_id", Integer),
    column("left_on", Date),
    column("opted_out_on", Date),
)


_PG_KNOWN = text(
    "SELECT r.external_id, r.id, r.person_id, r.is_present, s.person_id IS NOT NULL, "
    "p.given_name, p.family_name, p.email, p.date_of_birth, p.postcode "
    "FROM source_records AS r JOIN people AS p ON p.id = r.person_id "
    "LEFT JOIN roster_import_people AS s ON s.person_id = r.person_id "
    "WHERE r.source_id = :source AND r.external_id = ANY(:ids)"
).columns(*_KNOWN.selected_columns)
_PG_BY_EMAIL = text(
    "SELECT p.id, p.email, p.date_of_birth, s.person_id IS NOT NULL, "
    "EXISTS (SELECT 1 FROM source_records AS l WHERE l.person_id = p.id "
    "AND l.source_id = :source) "
    "FROM people AS p LEFT JOIN roster_import_people AS s ON s.person_id = p.id "
    "WHERE p.email = ANY(:emails) AND p.id <= :cutoff"
).columns(*_BY_EMAIL.selected_columns)
_PG_MEMBERSHIPS = text(
    "SELECT m.id, m.person_id, m.constituency_id, m.left_on, m.opted_out_on "
    "FROM memberships AS m WHERE m.person_id = ANY(:people) "
    # + 0: by the person's index, never the institution's (a million rows, stale statistics).
    "AND m.institution_id + 0 = :institution ORDER BY m.id"
).columns(*_MEMBERSHIPS.selected_columns)


def _chunks(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_chunks(query: Callable[[Sequence[Any]], Iterable[Any]], keys: Iterable[Any]) -> list[Any]:
    """Run ``query`` for ``keys`` a few hundred at a time; return every row."""
    found: list[Any] = []
    for chunk in _chunks(list(keys)):
        found.extend(query(chunk))
    return found


@dataclass
class ChunkLookups:
    """What the database knows that a chunk's rows touch (see ``look_up``)."""

    #: What this source already knows: external id → (record id, person id, present).
    known: dict[str, tuple[int, int, bool]]
    #: person id → their details as stored, in ``changes.PERSON_FIELDS`` order.
    people: dict[int, tuple[object, ...]]
    #: email → (person id, date of birth) of the people made before this import with it.
    by_email: dict[str, list[tuple[int, date | None]]]
    #: People an earlier chunk of this roster was matched to.
    seen_before: set[int]
    #: People this source already lists under another external id.
    listed_here: set[int]
    #: person id → (membership id, constituency id) of their current membership.
    current: dict[int, tuple[int, int]]
    #: People who opted out of the institution and are not a current member since.
    opted_out: set[int]


def look_up(
    connection: Any, source_id: int, institution_id: int, person_cutoff: int, rows: list[RosterRow]
) -> ChunkLookups:
    """Everything the database knows that the chunk's rows touch, in three queries per
    five thousand rows.

    SQLite joins the chunk table (filled by ``duplicates.unique_rows``) in a fixed order.
    PostgreSQL is given the chunk's keys as arrays (``= ANY``), which it always looks up by
    index: joined with the chunk table it plans from the statistics of tables this very import
    is filling, stale until it commits, and hashes whole tables.

    :param person_cutoff: the largest person id before the import: people it makes are never
        matched by email.
    """
    postgresql = connection.dialect.name == "postgresql"
    values: dict[str, object] = {
        "source": source_id,
        "institution": institution_id,
        "cutoff": person_cutoff,
    }
    if postgresql:
        values["ids"] = [row.external_id for row in rows]
    # What this source already knows: external id → (record id, person id, present),
    # and the person's details as stored.
    known: dict[str, tuple[int, int, bool]] = {}
    stored: dict[int, tuple[object, ...]] = {}
    seen_before: set[int] = set()
    for external_id, record_id, person_id, present, was_seen, *details in connection.execute(
        _PG_KNOWN if postgresql else _KNOWN, values
    ):
        known[external_id] = (record_id, person_id, bool(present))
        stored[person_id] = tuple(details)
        if was_seen:
            seen_before.add(person_id)
    # Rows this source has not seen: the same person by email, made before this import;
    # and whether this source already lists them under another id.
    by_email: dict[str, list[tuple[int, date | None]]] = {}
    listed_here: set[int] = set()
    if postgresql:
        values["emails"] = sorted(
            {row.email for row in rows if row.email and row.external_id not in known}
        )
    for person_id, email, born, was_seen, listed in connection.execute(
        _PG_BY_EMAIL if postgresql else _BY_EMAIL, values
    ):
        by_email.setdefault(str(email), []).append((person_id, born))
        if was_seen:
            seen_before.add(person_id)
        if listed:
            listed_here.add(person_id)
    # Their memberships of the institution: the current one, and whether they opted out.
    current: dict[int, tuple[int, int]] = {}
    opted_out: set[int] = set()
    if postgresql:
        values["people"] = sorted(
            {pid for _, pid, _ in known.values()}
            | {pid for found in by_email.values() for pid, _ in found}
        )
    for membership_id, person_id, constituency_id, left_on, opted_out_on in connection.execute(
        _PG_MEMBERSHIPS if postgresql else _MEMBERSHIPS, values
    ):
        if left_on is None:
            current[person_id] = (membership_id, constituency_id)
        if opted_out_on is not None:
            opted_out.add(person_id)
        elif left_on is None:
            opted_out.discard(person_id)  # opted back in: a newer, current membership
    return ChunkLookups(known, stored, by_email, seen_before, listed_here, current, opted_out)
