"""The app factory and its settings: environments, the database URL, refusals in production."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from assembly import create_app
from assembly.config import ConfigError, normalise_database_url
from assembly.extensions import db
from tests.conftest import TEST_SECRET
from tests.servers import child_environment


def _production(tmp_path: Path, **overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "ENV": "production",
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        "KEY_PASSPHRASE": "a passphrase for the election key",
        "RATELIMIT_STORAGE_URI": "memcached://127.0.0.1:11211",
    }
    config.update(overrides)
    return config


def test_testing_app_uses_the_given_settings(app) -> None:
    """create_app(config) applies the mapping it is given on top of the defaults."""
    assert app.config["TESTING"] is True
    assert app.config["SECRET_KEY"] == TEST_SECRET
    assert app.config["SIGN_IN_TOKEN_MINUTES"] == 15


def test_database_connections_are_configured(app) -> None:
    """SQLite runs with WAL and enforced foreign keys; PostgreSQL through psycopg 3."""
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    else:
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"


def test_production_refuses_a_missing_secret_key(tmp_path: Path) -> None:
    """Production without ASSEMBLY_SECRET_KEY refuses to start and says what is missing."""
    with pytest.raises(ConfigError, match="ASSEMBLY_SECRET_KEY"):
        create_app(_production(tmp_path, SECRET_KEY=None))


def test_production_refuses_a_weak_secret_key(tmp_path: Path) -> None:
    """A short or well-known secret key is refused in production."""
    with pytest.raises(ConfigError, match="too weak"):
        create_app(_production(tmp_path, SECRET_KEY="change-me"))


def test_production_refuses_rate_limits_counted_per_process(tmp_path: Path) -> None:
    """Production runs several processes: limits counted in each one's memory would be as
    many times looser, so a shared store is required."""
    for missing in ("memory://", None):
        config = _production(tmp_path)
        if missing is None:
            del config["RATELIMIT_STORAGE_URI"]
        else:
            config["RATELIMIT_STORAGE_URI"] = missing
        with pytest.raises(ConfigError, match="ASSEMBLY_RATELIMIT_STORAGE_URI"):
            create_app(config)


def test_a_store_that_is_down_does_not_stop_sign_in(database_url: str, tmp_path: Path) -> None:
    """With memcached unreachable the limits fall back to each process's memory: sign-in
    still answers, and still limits."""
    from tests.conftest import free_port

    app = create_app(
        _production(
            tmp_path,
            DATABASE_URL=database_url,
            RATELIMIT_STORAGE_URI=f"memcached://127.0.0.1:{free_port()}",
            SIGN_IN_PER_CLIENT="2 per minute",
            WTF_CSRF_ENABLED=False,
        )
    )
    client = app.test_client()
    statuses = [
        client.post(
            "/sign-in", data={"email": "x@example.org"}, base_url="https://localhost"
        ).status_code
        for _ in range(3)
    ]
    # This app's own engine: closed here, or its pooled connection is left to the garbage
    # collector, whose ResourceWarning (an error here) lands on whichever test runs next.
    with app.app_context():
        db.engine.dispose()
    assert statuses == [302, 302, 429]


def test_production_refuses_a_missing_database_url(tmp_path: Path) -> None:
    """Production never falls back to the embedded SQLite file."""
    with pytest.raises(ConfigError, match="ASSEMBLY_DATABASE_URL"):
        create_app(_production(tmp_path, DATABASE_URL=None))


@pytest.mark.parametrize("passphrase", [None, "", "too short"])
def test_production_refuses_a_missing_or_short_key_passphrase(
    tmp_path: Path, passphrase: str | None
) -> None:
    """The election key is kept encrypted: production needs a passphrase of 16+ characters."""
    with pytest.raises(ConfigError, match="ASSEMBLY_KEY_PASSPHRASE"):
        create_app(_production(tmp_path, KEY_PASSPHRASE=passphrase))


def test_production_cookies_are_secure_httponly_and_samesite(tmp_path: Path) -> None:
    """Session and remember cookies are Secure, HttpOnly and SameSite in production."""
    app = create_app(_production(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    with pytest.raises(ConfigError, match="Secure"):
        create_app(_production(tmp_path, COOKIE_SECURE=False))


def test_production_sends_hsts_and_a_strict_content_security_policy(tmp_path: Path) -> None:
    """Responses carry HSTS in production, and a CSP that forbids inline script and framing."""
    app = create_app(_production(tmp_path))
    response = app.test_client().get("/healthz")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u:p@localhost/db", "only postgresql:// and sqlite://"),
        ("postgresql+asyncpg://u@localhost/db", "use postgresql://"),
        ("postgresql://u@localhost", "names no database"),
    ],
)
def test_bad_database_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    """An unusable ASSEMBLY_DATABASE_URL is refused with a reason naming the problem."""
    with pytest.raises(ConfigError, match=message):
        normalise_database_url(url)


def test_postgresql_urls_use_psycopg3() -> None:
    """postgresql:// is served by the psycopg 3 driver."""
    assert normalise_database_url("postgresql://u:p@h/d").startswith("postgresql+psycopg://")


def test_environment_variables_override_the_instance_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASSEMBLY_* variables win over instance/assembly.cfg, which wins over the defaults."""
    (tmp_path / "assembly.cfg").write_text(
        'BASE_URL = "https://from-file.example"\nMAIL_FROM = "file@example.org"\n'
    )
    monkeypatch.setenv("ASSEMBLY_MAIL_FROM", "env@example.org")
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["BASE_URL"] == "https://from-file.example"
    assert app.config["MAIL_FROM"] == "env@example.org"


def test_development_makes_and_keeps_its_own_secret(tmp_path: Path) -> None:
    """Without a configured secret, development makes one in the instance folder and reuses it."""
    first = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    second = create_app({"ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]


def _cli(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run `assembly ARGS` with only these settings (as ASSEMBLY_<NAME>)."""
    environment = child_environment(INSTANCE_PATH=str(tmp_path), **settings)
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_cli_missing_secret_in_production_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """`assembly` in production without a secret prints one line, no traceback, and exits 2."""
    result = _cli(
        tmp_path,
        "audit",
        "verify",
        ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "ASSEMBLY_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_cli_bad_database_url_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """An unparseable ASSEMBLY_DATABASE_URL gives a one-line error and exit 2."""
    result = _cli(tmp_path, "audit", "verify", ENV="development", DATABASE_URL="nonsense://")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "ASSEMBLY_DATABASE_URL" in result.stderr


def test_cli_unreachable_database_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """A database that cannot be reached gives a one-line error and exit 2, not a traceback."""
    from tests.conftest import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/assembly"
    result = _cli(tmp_path, "audit", "verify", ENV="development", DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot use the database" in result.stderr
    assert "secret" not in result.stderr  # the password never reaches the terminal


def test_production_session_cookie_flags(database_url: str, tmp_path: Path) -> None:
    """Signing in on a production app sets a Secure, HttpOnly, SameSite=Lax session cookie."""
    from assembly.auth.actors import CLI
    from assembly.auth.operations import issue_sign_in_link
    from tests.conftest import make_user

    app = create_app(
        _production(
            tmp_path,
            DATABASE_URL=database_url,
            BASE_URL="https://assembly.test",
            WTF_CSRF_ENABLED=False,
        )
    )
    with app.app_context():
        make_user("cookie@example.org")
        link = issue_sign_in_link(CLI, "cookie@example.org")
        db.session.commit()
        client = app.test_client()
        response = client.post(
            link.removeprefix("https://assembly.test"), base_url="https://assembly.test"
        )
        assert response.status_code == 302
        cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        db.session.remove()
        db.engine.dispose()


def test_an_oversized_request_from_a_signed_in_user_gets_the_413_page(
    app: Flask, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """Every page builds the sign-out button for a signed-in user; on a 413 it must not read
    the refused body again, so the error page renders (not a 500)."""
    from tests.conftest import make_user

    make_user("big@example.org")
    login_as("big@example.org")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/sign-out", data={"x": "y" * 5000})
    assert response.status_code == 413
    assert "Sign out" in response.get_data(as_text=True)
