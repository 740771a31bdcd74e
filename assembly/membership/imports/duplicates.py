"""Rows that refuse the import: invalid rows, and an external id listed twice in one roster,
however many lines apart.

Each external id the roster lists is remembered in a scratch table (``scratch.seen_ids``) with
its line, so a repeat in a later chunk is found without holding a million ids in memory. Both
lines of a repeat are reported, each naming the other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from assembly.bulk import bulk_insert
from assembly.membership.imports.plan import ImportPlan
from assembly.membership.imports.rows import RosterRow, RowProblem
from assembly.membership.imports.scratch import chunk_rows, seen_ids

__all__ = ["unique_rows"]

# On SQLite, written as the lookups are (see ``lookups``): from the chunk table, by index.
_EARLIER_IDS = text(
    "SELECT c.external_id, i.line FROM roster_import_chunk AS c "
    "CROSS JOIN roster_import_ids AS i WHERE i.external_id = c.external_id"
)
_REMEMBER_IDS = text(
    "INSERT INTO roster_import_ids (external_id, line) "
    "SELECT c.external_id, c.line FROM roster_import_chunk AS c WHERE NOT EXISTS "
    "(SELECT 1 FROM roster_import_ids AS i WHERE i.external_id = c.external_id)"
)
_PG_EARLIER_IDS = text(
    "SELECT external_id, line FROM roster_import_ids WHERE external_id = ANY(:ids)"
)


def _twice(external_id: str, other_line: int) -> str:
    return (
        f"external_id {external_id!r} appears more than once in the file (also line {other_line})"
    )


def unique_rows(
    plan: ImportPlan,
    connection: Any,
    items: list[RosterRow | RowProblem],
    duplicates: set[str],
) -> list[RosterRow]:
    """Reject a chunk's invalid rows and repeated external ids; return the rest.

    On SQLite the rows returned are also put in the chunk table, for the lookups to join.

    :param duplicates: external ids already found twice, whose first line has been reported;
        added to.
    """
    first_lines: dict[str, int] = {}
    rows: list[RosterRow] = []
    repeated: list[tuple[RosterRow, int]] = []
    for item in items:
        plan.rows_total += 1
        if isinstance(item, RowProblem):
            plan.reject(item)
        elif item.external_id in first_lines:
            repeated.append((item, first_lines[item.external_id]))
        else:
            first_lines[item.external_id] = item.line
            rows.append(item)
    if connection.dialect.name == "postgresql":
        # The chunk's ids as an array, looked up by index (see ``lookups.look_up``).
        earlier = {
            key: line
            for key, line in connection.execute(
                _PG_EARLIER_IDS, {"ids": [row.external_id for row in rows]}
            )
        }
        bulk_insert(
            connection,
            seen_ids,
            (
                {"external_id": row.external_id, "line": row.line}
                for row in rows
                if row.external_id not in earlier
            ),
        )
    else:
        connection.execute(chunk_rows.delete())
        bulk_insert(
            connection,
            chunk_rows,
            ({"external_id": r.external_id, "email": r.email, "line": r.line} for r in rows),
        )
        # Ids an earlier chunk listed; then remember this chunk's.
        earlier = {key: line for key, line in connection.execute(_EARLIER_IDS)}
        connection.execute(_REMEMBER_IDS)
    repeated += [(row, earlier[row.external_id]) for row in rows if row.external_id in earlier]
    for row, first in sorted(repeated, key=lambda pair: pair[0].line):
        key = row.external_id
        if key not in duplicates:
            duplicates.add(key)
            plan.reject(RowProblem(first, key, _twice(key, row.line)))
        plan.reject(RowProblem(row.line, key, _twice(key, first)))
    return [row for row in rows if row.external_id not in duplicates]
