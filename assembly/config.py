"""Settings: defaults, the instance folder, and ``ASSEMBLY_*`` environment overrides.

Precedence, lowest first: the defaults below, ``<instance>/assembly.cfg`` (a Python file),
``ASSEMBLY_*`` environment variables, then the ``config`` mapping given to ``create_app``.

``ASSEMBLY_ENV`` is ``production`` (the default: safe unless told otherwise), ``development``
or ``testing``. Production refuses to start with a default secret key or without an explicit
database URL, and says why in one line.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("production", "development", "testing")

#: Settings read from the environment as ``ASSEMBLY_<NAME>``, with how to parse each.
ENV_SETTINGS: dict[str, str] = {
    "ENV": "str",
    "SECRET_KEY": "str",
    "DATABASE_URL": "str",
    "BASE_URL": "str",
    "MAIL_BACKEND": "str",
    "MAIL_FROM": "str",
    "SMTP_HOST": "str",
    "SMTP_PORT": "int",
    "SMTP_USERNAME": "str",
    "SMTP_PASSWORD": "str",
    "SMTP_STARTTLS": "bool",
    "SMTP_SSL": "bool",
    "SMTP_TIMEOUT": "int",
    "OUTBOX_DIR": "str",
    "COOKIE_SECURE": "bool",
    "RATELIMIT_STORAGE_URI": "str",
    "SIGN_IN_PER_ADDRESS": "int",
    "VERIFY_PAGE_E2E_BALLOTS": "int",
    "SIGN_IN_PER_CLIENT": "str",
    "CHECK_IN_SEARCH_PER_CLIENT": "str",
    "CAST_PER_VOTER": "str",
    "LOG_LEVEL": "str",
    "KEY_PASSPHRASE": "str",
}

#: Defaults shared by every environment.
DEFAULTS: dict[str, Any] = {
    "ENV": "production",
    "BASE_URL": "http://127.0.0.1:5000",
    "MAIL_FROM": "assembly <no-reply@assembly.invalid>",
    "MAIL_BACKEND": None,  # decided per environment below: "smtp" or "file"
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "SMTP_SSL": False,
    "SMTP_TIMEOUT": 30,
    "OUTBOX_DIR": None,  # default <instance>/outbox
    "SIGN_IN_TOKEN_MINUTES": 15,
    #: Sign-in emails per address per 15 minutes; further requests are answered the same way
    #: but send nothing, so that nobody can flood a member's inbox.
    "SIGN_IN_PER_ADDRESS": 3,
    #: Sign-in requests per client address (Flask-Limiter syntax).
    "SIGN_IN_PER_CLIENT": "20 per 15 minutes",
    #: Check-in searches (by name and date of birth) per client address: a teller at a busy
    #: door searches often; a script trying names is stopped.
    "CHECK_IN_SEARCH_PER_CLIENT": "300 per 10 minutes",
    #: Cast requests per voter (a signed-in member, or an attendee's pass): one succeeds; the
    #: rest say "already voted". Keyed by voter, not address: a whole hall may share one.
    "CAST_PER_VOTER": "20 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "NOTICE_MAX_ATTEMPTS": 8,
    "LOG_LEVEL": "INFO",
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    #: Large enough for a 64 MB roster upload or push.
    "MAX_CONTENT_LENGTH": 70 * 1024 * 1024,
    # The /verify page checks an end-to-end record's proofs (step 10) only up to this many
    # encrypted ballots (about 20 ms each); above it, the page says to run `assembly verify`.
    "VERIFY_PAGE_E2E_BALLOTS": 500,
}

DEVELOPMENT_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class ConfigError(Exception):
    """The settings cannot run the application; the message says which and why, in one line."""


def _parse(kind: str, name: str, raw: str) -> Any:
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"ASSEMBLY_{name} must be a whole number, not {raw!r}") from None
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"ASSEMBLY_{name} must be true or false, not {raw!r}")
    return raw


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Return the settings given as ``ASSEMBLY_*`` environment variables."""
    found: dict[str, Any] = {}
    for name, kind in ENV_SETTINGS.items():
        raw = environ.get(f"ASSEMBLY_{name}")
        if raw is not None and raw != "":
            found[name] = _parse(kind, name, raw)
    return found


def normalise_database_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver named for PostgreSQL; refuse anything else.

    :raises ConfigError: the URL cannot be parsed or names a database we do not support.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "ASSEMBLY_DATABASE_URL is not a database URL "
            "(expected postgresql://user:password@host/dbname or sqlite:///path)"
        ) from None
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
            parsed = parsed.set(drivername="postgresql+psycopg")
        else:
            raise ConfigError(
                f"ASSEMBLY_DATABASE_URL uses driver {parsed.drivername!r}; "
                "use postgresql:// (psycopg 3)"
            )
        if not parsed.database:
            raise ConfigError("ASSEMBLY_DATABASE_URL names no database")
        return parsed.render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.render_as_string(hide_password=False)
    raise ConfigError(
        f"ASSEMBLY_DATABASE_URL uses {backend!r}; only postgresql:// and sqlite:// are supported"
    )


def resolve(
    instance_path: str,
    from_file: dict[str, Any],
    environ: os._Environ[str] | dict[str, str],
    overrides: dict[str, Any] | None,
) -> dict[str, Any]:
    """Merge every source of settings and check that they can run the application.

    :raises ConfigError: with a one-line reason.
    """
    settings: dict[str, Any] = dict(DEFAULTS)
    settings.update({k: v for k, v in from_file.items() if k.isupper()})
    settings.update(from_environment(environ))
    settings.update(overrides or {})

    env = settings["ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ASSEMBLY_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    production = env == "production"
    settings["TESTING"] = env == "testing" or bool(settings.get("TESTING"))

    secret = settings.get("SECRET_KEY")
    if production:
        if not secret:
            raise ConfigError("production needs ASSEMBLY_SECRET_KEY (a long random string)")
        if len(secret) < 32 or secret in {"dev", "change-me", "secret"}:
            raise ConfigError("ASSEMBLY_SECRET_KEY is too weak: use at least 32 random characters")
        if not settings.get("DATABASE_URL"):
            raise ConfigError(
                "production needs ASSEMBLY_DATABASE_URL (postgresql://user:password@host/dbname)"
            )
        passphrase = settings.get("KEY_PASSPHRASE") or ""
        if len(passphrase) < 16:
            raise ConfigError(
                "production needs ASSEMBLY_KEY_PASSPHRASE (at least 16 characters): it encrypts "
                "the election key that signs records and receipts"
            )
        if str(settings.get("RATELIMIT_STORAGE_URI") or "").startswith("memory://"):
            raise ConfigError(
                "production needs ASSEMBLY_RATELIMIT_STORAGE_URI, a store every app process "
                "shares (memcached://127.0.0.1:11211): counted in each process, a limit is as "
                "many times looser as there are processes"
            )
    elif not secret:
        settings["SECRET_KEY"] = _development_secret(instance_path)
    if not settings.get("KEY_PASSPHRASE"):
        # Development and tests only: production refuses to start without its own.
        settings["KEY_PASSPHRASE"] = "election-key:" + settings["SECRET_KEY"]

    url = settings.get("DATABASE_URL") or settings.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + os.path.join(instance_path, "assembly.sqlite3")
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)

    if settings["MAIL_BACKEND"] is None:
        settings["MAIL_BACKEND"] = "smtp" if production else "file"
    if settings["MAIL_BACKEND"] not in {"smtp", "file"}:
        raise ConfigError(
            f"ASSEMBLY_MAIL_BACKEND must be smtp or file, not {settings['MAIL_BACKEND']!r}"
        )
    if not settings.get("OUTBOX_DIR"):
        settings["OUTBOX_DIR"] = os.path.join(instance_path, "outbox")

    cookie_secure = settings.get("COOKIE_SECURE")
    if cookie_secure is None:
        # Development serves plain http on 127.0.0.1, where browsers drop Secure cookies.
        cookie_secure = production
    if production and not cookie_secure:
        raise ConfigError("production cookies must be Secure: unset ASSEMBLY_COOKIE_SECURE")
    settings["SESSION_COOKIE_SECURE"] = cookie_secure
    settings["REMEMBER_COOKIE_SECURE"] = cookie_secure
    settings["PREFERRED_URL_SCHEME"] = "https" if production else "http"
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
        # A server's connections can be dropped under the pool (a restart, a failover): test
        # them before use. A SQLite file cannot, and the ping costs every request a query.
        "pool_pre_ping": not settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
        **settings["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    return settings


def _development_secret(instance_path: str) -> str:
    """Return this instance's development secret, made once and kept in the instance folder."""
    path = Path(instance_path) / DEVELOPMENT_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
