"""Bulk writes: many rows in a few statements, in the caller's transaction.

On PostgreSQL rows go in with ``COPY … FROM STDIN`` (ids taken from the table's sequence in one
query); on SQLite through the driver's ``executemany`` with each column's bind processor. A
hundred thousand rows take about a second either way, which row-by-row ORM inserts never will.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text

__all__ = ["BATCH", "bulk_insert", "bulk_statement"]

#: Rows per bulk statement: bounds the memory that parameter lists take.
BATCH = 5_000


def bulk_statement(
    connection: Any, statement: Any, params: Iterable[dict[str, object]]
) -> list[int]:
    """Execute ``statement`` for every parameter set, ``BATCH`` at a time.

    Returns the ids the statement returns (for ``INSERT … RETURNING id``), in order.
    """
    ids: list[int] = []
    batch: list[dict[str, object]] = []

    def flush() -> None:
        result = connection.execute(statement, batch)
        if result.returns_rows:
            ids.extend(row[0] for row in result)
        batch.clear()

    for item in params:
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ids


def _sqlite_insert(connection: Any, table: Any, rows: Iterable[dict[str, object]]) -> None:
    """``INSERT`` many rows through the driver's ``executemany``, ``BATCH`` at a time.

    Values go through each column's own bind processor, as SQLAlchemy would send them, but
    without its per-row statement bookkeeping (most of the time of a large import).
    """
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    columns = list(first)
    dialect = connection.dialect
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
    order = list(compiled.positiontup or ())
    processors = [table.c[name].type.bind_processor(dialect) for name in order]
    cursor = connection.connection.driver_connection.cursor()

    def values(row: dict[str, object]) -> tuple[object, ...]:
        return tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(order, processors, strict=True)
        )

    batch = [values(first)]
    for row in iterator:
        batch.append(values(row))
        if len(batch) >= BATCH:
            cursor.executemany(str(compiled), batch)
            batch.clear()
    if batch:
        cursor.executemany(str(compiled), batch)
    cursor.close()


def bulk_insert(
    connection: Any, table: Any, rows: Iterable[dict[str, object]], *, returning_ids: bool = False
) -> list[int]:
    """Insert many rows; return their new ids (in order) if asked.

    On PostgreSQL this is ``COPY … FROM STDIN`` with ids taken from the table's sequence in
    one query (a hundred thousand rows in well under a second); elsewhere it is batched
    ``INSERT … RETURNING``. Either way it runs in the caller's transaction.
    """
    if connection.dialect.name != "postgresql":
        if not returning_ids:
            _sqlite_insert(connection, table, rows)
            return []
        # SQLite returns ids in order only one row per statement: number the rows instead,
        # after the largest id, which is what SQLite would give them. The caller holds the
        # database's write lock (``_lock_for_writing``), so nobody else can take these ids.
        after = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        numbers: list[int] = []

        def numbered() -> Iterable[dict[str, object]]:
            for row in rows:
                numbers.append(after + len(numbers) + 1)
                yield {**row, "id": numbers[-1]}

        _sqlite_insert(connection, table, numbered())
        return numbers
    batch = list(rows)
    if not batch:
        return []
    ids: list[int] = []
    if returning_ids:
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        ids = list(
            connection.execute(
                text("SELECT nextval(:sequence) FROM generate_series(1, :n)"),
                {"sequence": sequence, "n": len(batch)},
            ).scalars()
        )
        for row, new_id in zip(batch, ids, strict=True):
            row["id"] = new_id
    columns = list(batch[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in batch:
            copy.write_row([row[c] for c in columns])
    return ids
