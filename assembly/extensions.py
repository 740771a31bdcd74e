"""Flask extensions, created unbound here and bound to the application in ``create_app``."""

from __future__ import annotations

import functools
from typing import Any

from flask import Response, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Insert, MetaData, Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

#: Stable constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_address() -> str:
    """Return the client's address as seen by the application (nginx sets it via ProxyFix)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=True)


def refused(response: Response) -> bool:
    """Whether a cast was refused, for the casting limits (``deduct_when``): only refusals
    count against them. A stored vote (a redirect to its receipt) happens once per voter, so
    counting it held nobody back and cost every cast a write to the limits' store."""
    return response.status_code != 302


def begin_writing() -> None:
    """Start a fresh transaction as a writer: on SQLite ``BEGIN IMMEDIATE`` (it waits for the
    write lock instead of failing when another writer got there first); on PostgreSQL an
    ordinary transaction. Anything read before is rolled back, so call it first."""
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})


def identity_of(instance: Any) -> Any:
    """The primary key of a mapped instance, without loading it.

    After a commit or rollback every instance is expired, and reading even ``instance.id``
    loads the whole row again; the identity map already knows the key. A new instance has no
    identity yet: its ``id`` attribute answers (flushing first if need be is the caller's).
    """
    state = inspect(instance, raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else instance.id


@functools.cache
def insert_or_ignore(table: Table, dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL: a row whose key or unique
    value is taken is skipped, and the result's ``rowcount`` says whether it went in. Unlike a
    caught IntegrityError it leaves a PostgreSQL transaction usable. Built once per table."""
    construct = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Without preserve_rowcount the driver's cursor is closed before the count is read (-1
    # from psycopg).
    return construct(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
