"""The scratch tables an import keeps what the roster has listed so far in.

They are temporary tables, private to the database connection: duplicate external ids and
people listed twice are found, and a snapshot's leavers computed, without holding a million
ids in memory. Each import starts and ends with them empty.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, text

__all__ = ["chunk_rows", "clear_scratch", "prepare_scratch", "seen_ids", "seen_people"]

_scratch = MetaData()
#: The external ids the roster has listed, with the line of each.
seen_ids = Table(
    "roster_import_ids",
    _scratch,
    Column("external_id", String(100), primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
#: The people the roster's rows have been matched to.
seen_people = Table(
    "roster_import_people",
    _scratch,
    Column("person_id", Integer, primary_key=True),
    prefixes=["TEMPORARY"],
)
#: The rows of the chunk being planned, joined with the members' tables to look them up.
chunk_rows = Table(
    "roster_import_chunk",
    _scratch,
    Column("external_id", String(100), primary_key=True),
    Column("email", String(254)),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def prepare_scratch(connection: Any) -> None:
    """Make the scratch tables on ``connection`` if it has none yet, and empty them."""
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_ids "
            "(external_id VARCHAR(100) PRIMARY KEY, line INTEGER NOT NULL)"
        )
    )
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_people "
            "(person_id INTEGER PRIMARY KEY)"
        )
    )
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_chunk "
            "(external_id VARCHAR(100) PRIMARY KEY, email VARCHAR(254), line INTEGER NOT NULL)"
        )
    )
    clear_scratch(connection)


def clear_scratch(connection: Any) -> None:
    """Empty the scratch tables."""
    for table in (seen_ids, seen_people, chunk_rows):
        connection.execute(table.delete())
