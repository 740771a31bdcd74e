"""The application factory: settings, extensions, blueprints, error pages and commands."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from assembly import clock
from assembly.config import ConfigError, resolve
from assembly.extensions import csrf, db, limiter, login_manager, migrate
from assembly.redact import redact_paths
from assembly.version import __version__

if TYPE_CHECKING:
    from click import Command

__all__ = ["ConfigError", "app_commands", "create_app"]

PACKAGE_ROOT = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.dirname(PACKAGE_ROOT)


def _instance_path() -> str:
    return os.environ.get("ASSEMBLY_INSTANCE_PATH") or os.path.join(PROJECT_ROOT, "instance")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the application: settings, extensions, blueprints, error pages and commands.

    :raises ConfigError: the settings cannot run the application (one-line reason).
    """
    instance_path = (config or {}).get("INSTANCE_PATH") or _instance_path()
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PACKAGE_ROOT, "static"),
    )
    from_file: dict[str, Any] = {}
    cfg_path = os.path.join(app.instance_path, "assembly.cfg")
    if os.path.exists(cfg_path):
        scope: dict[str, Any] = {}
        with open(cfg_path, encoding="utf-8") as handle:
            exec(compile(handle.read(), cfg_path, "exec"), scope)  # noqa: S102 - operator's file
        from_file = scope
    app.config.update(resolve(app.instance_path, from_file, os.environ, config))
    # Only once the settings hold: settings that cannot run the app leave nothing behind.
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    logging.getLogger("werkzeug").addFilter(_redact_sign_in_tokens)

    if app.config["ENV"] == "production":
        # nginx in front sets X-Forwarded-For and -Proto (deploy/nginx.conf).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]

    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_security_headers(app)
    from assembly.errors import register_error_handlers

    register_error_handlers(app)
    _register_commands(app)
    return app


def _redact_sign_in_tokens(record: logging.LogRecord) -> bool:
    """Keep sign-in and pass tokens (credentials) out of the development server's log."""
    if record.args and isinstance(record.args, tuple):
        record.args = tuple(redact_paths(a) if isinstance(a, str) else a for a in record.args)
    return True


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout on every SQLite connection."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Let SQLAlchemy, not the driver, begin transactions (``_sqlite_begin``): the driver's own
    # implicit BEGIN comes too late to choose IMMEDIATE and breaks savepoints.
    dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    """Begin SQLite transactions DEFERRED, or IMMEDIATE (as a writer, queuing behind other
    writers for the busy timeout) when the work asked for it with ``begin_writing()``.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    if another writer committed in between; casting and imports must not.
    """
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _init_extensions(app: Flask) -> None:
    from assembly.auth.models import User
    from assembly.auth.queries import get_user, get_user_reference

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"))
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    # If the shared store (memcached) is down, count in each process rather than fail every
    # request: looser limits for a while are better than no poll.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        view = app.view_functions.get(request.endpoint or "") if has_request_context() else None
        if getattr(view, "account_checked_by_view", False):
            return get_user_reference(int(user_id))
        return get_user(int(user_id))

    # Import every model so that metadata (and so migrations) sees them all.
    import assembly.assemblies.models
    import assembly.assemblies.notices
    import assembly.audit.models
    import assembly.e2e.models
    import assembly.elections.models
    import assembly.elections.notices
    import assembly.membership.models
    import assembly.membership.notices
    import assembly.notices.models
    import assembly.records.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from assembly.api.views import bp as api_bp
    from assembly.assemblies.views import bp as assemblies_bp
    from assembly.audit.views import bp as audit_bp
    from assembly.auth.views import bp as auth_bp
    from assembly.elections.views import bp as elections_bp
    from assembly.membership.views import bp as membership_bp
    from assembly.ops.health import bp as ops_bp
    from assembly.records.views import bp as records_bp

    app.register_blueprint(membership_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(elections_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(assemblies_bp)
    _register_record_kinds()


def _register_record_kinds() -> None:
    """The kinds of record the records service keeps and the verify page lists."""
    from assembly.assemblies.record import RECORD_KIND as ASSEMBLY_RECORDS
    from assembly.elections.record import RECORD_KIND as ELECTION_RECORDS
    from assembly.records.kinds import register_kind

    register_kind(ELECTION_RECORDS)
    register_kind(ASSEMBLY_RECORDS)


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from assembly.auth.forms import ConfirmForm
    from assembly.records.signing import group_fingerprint

    app.jinja_env.filters["london"] = clock.london
    app.jinja_env.filters["long_date"] = clock.long_date
    app.jinja_env.filters["fingerprint"] = group_fingerprint

    @app.template_filter("fraction")
    def fraction(value: Any) -> str:
        return (
            f"{value.numerator}/{value.denominator}"
            if value.denominator != 1
            else str(value.numerator)
        )

    @app.template_filter("percent")
    def percent(value: Any) -> str:
        # Display only; the stored value stays an exact fraction.
        return f"{float(value) * 100:.1f}%"

    @app.context_processor
    def inject() -> dict[str, Any]:
        signed_in = has_request_context() and current_user.is_authenticated
        # formdata=None: the sign-out button only needs its CSRF token, and must not read the
        # request's body (on a 413 page that body was refused unread).
        sign_out = ConfirmForm(formdata=None) if signed_in else None
        return {"version": __version__, "sign_out_form": sign_out}


def _register_security_headers(app: Flask) -> None:
    production = app.config["ENV"] == "production"

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
            "object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        if request.path.startswith("/sign-in/link/") or "/pass/" in request.path:
            # The token is in the path: never let it leak through caches or referrers.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
        return response


def app_commands() -> list[Command]:
    """Return the app's own commands (each feature's ``cli.py``), which the factory adds.

    Importing them needs no settings, so ``assembly --help`` can list them when the settings
    cannot make the app.
    """
    import assembly.assemblies.cli  # noqa: F401 - adds `simulate assembly`
    from assembly.audit.cli import audit_cli
    from assembly.auth.cli import users_cli
    from assembly.elections.cli import elections_cli, simulate_cli
    from assembly.membership.cli import institutions_cli
    from assembly.membership.roster_cli import roster_cli
    from assembly.notices.cli import notices_cli
    from assembly.ops.backup import backup_command, restore_command
    from assembly.ops.demo import demo_command
    from assembly.privacy.cli import privacy_cli

    return [
        audit_cli,
        users_cli,
        institutions_cli,
        notices_cli,
        roster_cli,
        elections_cli,
        simulate_cli,
        demo_command,
        backup_command,
        restore_command,
        privacy_cli,
    ]


def _register_commands(app: Flask) -> None:
    for command in app_commands():
        app.cli.add_command(command)
