"""Row locks on a poll: shared while a ballot is stored, exclusive while the poll closes.

``FOR SHARE`` lets casts run side by side on PostgreSQL; ``FOR UPDATE``, taken by closing and
counting, waits for every cast that holds the share lock, and every cast that comes after it
waits for the close and then sees the poll closed. SQLite ignores both clauses: a writing
transaction there is exclusive already, and every cast, entry and close begins as a writer.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import inspect, select

from assembly.extensions import db

__all__ = ["lock_row"]

Row = TypeVar("Row")


def lock_row(instance: Row, *, shared: bool = False) -> Row:
    """Reload ``instance``'s row locked (shared or exclusive) and return it with fresh values.

    The identity map is refreshed (``populate_existing``), so that the state read after the
    lock is the one the lock protects, not what the request read before it.
    """
    state: Any = inspect(instance)
    model = type(instance)
    identity = state.identity
    key = identity[0] if identity else instance.id  # type: ignore[attr-defined]
    return db.session.scalars(
        select(model)
        .where(model.id == key)  # type: ignore[attr-defined]
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    ).one()
