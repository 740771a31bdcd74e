"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
``ASSEMBLY_TEST_DATABASE_URL`` is set), the app, its client and runner, ``login_as`` and
factories. The schema comes from the real migrations, built once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from assembly import create_app
from assembly.auth.actors import SYSTEM
from assembly.auth.models import Role, User
from assembly.extensions import db
from assembly.membership.models import Institution, InstitutionKind, Membership, Person
from assembly.membership.operations import create_institution, enrol_person
from assembly.membership.queries import get_constituency

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"
PG_URL = os.environ.get("ASSEMBLY_TEST_DATABASE_URL")


def base_config(instance: Path, database_url: str) -> dict[str, Any]:
    return {
        "ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "BASE_URL": "http://localhost",
        "MAIL_BACKEND": "file",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
    }


def upgrade_to_head(instance: Path, database_url: str) -> None:
    """Build the schema with the real migrations."""
    from flask_migrate import upgrade

    app = create_app(base_config(instance, database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_admin_url() -> str | None:
    return PG_URL


def make_pg_database(admin_url: str, name: str) -> str:
    """Create (afresh) the database ``name`` on the server of ``admin_url``; return its URL."""
    engine = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return a database URL (SQLite template file, or PostgreSQL database) at head."""
    instance = tmp_path_factory.mktemp("schema-instance")
    if PG_URL:
        name = f"assembly_test_{_worker()}_{os.getpid()}"
        url = make_pg_database(PG_URL, name)
        upgrade_to_head(instance, url)
        yield url
        drop_pg_database(PG_URL, name)
    else:
        path = instance / "template.sqlite3"
        url = f"sqlite:///{path}"
        upgrade_to_head(instance, url)
        yield url


TABLES_TO_KEEP = {"alembic_version"}


def _reset_pg(url: str) -> None:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            if row[0] not in TABLES_TO_KEEP
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
        )
    engine.dispose()


@pytest.fixture
def database_url(schema: str, tmp_path: Path) -> str:
    """A fresh database for one test: a copy of the template, or a truncated PostgreSQL."""
    if PG_URL:
        _reset_pg(schema)
        return schema
    source = Path(make_url(schema).database or "")
    target = tmp_path / "assembly.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Return a function that creates an app on this test's database with extra settings."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config = base_config(tmp_path / "instance", database_url)
        config.update(overrides)
        app = create_app(config)
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    from assembly.membership.jobs import wait_for_jobs

    application = make_app()
    with application.app_context():
        yield application
        db.session.rollback()
        # A background roster import a test started must end before its database goes.
        assert wait_for_jobs(), "a background roster import did not finish"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- factories ------------------------------------------------------------------------------


def make_institution(**overrides: Any) -> Institution:
    """Create and commit an institution (default: a school with a unique slug)."""
    values: dict[str, Any] = {
        "slug": f"school-{uuid.uuid4().hex[:8]}",
        "name": "Test School",
        "kind": InstitutionKind.school,
        "area": "Testville",
    }
    values.update(overrides)
    institution = create_institution(SYSTEM, **values)
    db.session.commit()
    return institution


def make_user(email: str | None = None, *, admin: bool = False, name: str = "") -> User:
    user = User(
        email=(email or f"user-{uuid.uuid4().hex[:8]}@example.org").lower(),
        display_name=name,
        is_platform_admin=admin,
    )
    db.session.add(user)
    db.session.commit()
    return user


def grant(user: User, institution: Institution, role: Role) -> None:
    from assembly.auth.operations import grant_role

    grant_role(SYSTEM, institution, user.email, role)
    db.session.commit()


def make_member(
    institution: Institution, key: str = "workers", email: str | None = None, **person: Any
) -> Membership:
    """Enrol a new person in ``institution``'s ``key`` constituency and commit."""
    constituency = get_constituency(institution, key)
    assert constituency is not None
    values: dict[str, Any] = {
        "given_name": "Pat",
        "family_name": "Member",
        "email": (email or f"member-{uuid.uuid4().hex[:8]}@example.org").lower(),
    }
    values.update(person)
    membership = enrol_person(SYSTEM, constituency, Person(**values), source="test")
    db.session.commit()
    return membership


@pytest.fixture
def login_as(client: FlaskClient, app: Flask) -> Callable[[str], None]:
    """Sign ``email`` in through the real link flow (ask for a link, follow it)."""
    from assembly.auth.actors import CLI
    from assembly.auth.operations import issue_sign_in_link

    def sign_in(email: str) -> None:
        link = issue_sign_in_link(CLI, email)
        db.session.commit()
        path = re.sub(r"^https?://[^/]+", "", link)
        response = client.post(path)
        assert response.status_code == 302, response.get_data(as_text=True)

    return sign_in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
