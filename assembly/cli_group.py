"""The ``assembly`` command group: the offline commands, and the app's (a FlaskGroup over
``create_app``). ``assembly.cli.main`` runs it (and ``assembly count`` without it).

``count``, ``verify``, ``keys generate`` and ``record sign`` need no settings, no database and no
app: they are the group's own commands, so running them never creates the app. Every other
command is the app's, or needs it, and loads it from the ``ASSEMBLY_*`` settings when it runs.

``assembly --help`` lists both kinds. When the settings cannot make the app it still lists the
app's commands (the factory's list, imported without making an app), says in one line why they
cannot run yet, and exits 0: only running an app command exits 2. Configuration errors and an
unreachable database end in one line and exit 2, never a traceback.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, ScriptInfo

from assembly.config import ConfigError

#: The group's own commands that need no settings. ``keys`` and ``record`` also hold app
#: subcommands (``keys list``, ``keys rotate``), which load the app themselves.
OFFLINE_COMMANDS = ("count", "keys", "record", "trustee", "verify")

EPILOG = (
    "count, verify, keys generate and record sign need no settings and no database. Every "
    "other command loads the app from the ASSEMBLY_* settings: if they are missing or invalid "
    "it prints one line ('assembly: configuration error: ...') and exits 2. On your own "
    "machine ASSEMBLY_ENV=development (the Makefile sets it) needs no other setting."
)

#: Where ``list_commands`` leaves the reason the app could not be made, for the help text.
_CONFIG_ERROR = "assembly.config_error"


def _create_app():  # type: ignore[no-untyped-def]
    from assembly import create_app

    return create_app()


def _app_commands() -> dict[str, click.Command]:
    """The app's commands by name, without making an app: the factory's and Flask-Migrate's."""
    from flask_migrate.cli import db

    from assembly.app import app_commands

    commands = {command.name: command for command in app_commands() if command.name}
    # Flask-Migrate adds its group to the app under this name (Migrate(command="db")).
    commands["db"] = db
    return commands


class AssemblyGroup(FlaskGroup):
    """A FlaskGroup whose listing and lookup survive settings that cannot make the app."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except ConfigError as error:
            ctx.meta[_CONFIG_ERROR] = str(error)
            self._load_plugin_commands()
            return sorted({*click.Group.list_commands(self, ctx), *_app_commands()})
        except Exception:  # noqa: S110 - a fault in the code: FlaskGroup shows its traceback
            pass
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        try:
            return super().get_command(ctx, name)
        except ConfigError:
            if name in _app_commands():
                raise  # an app command: main() prints the reason and exits 2
            return None  # no such command, app or not: click says so

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the offline commands, then the app's, then why the app's cannot run (if so)."""
        names = self.list_commands(ctx)
        reason = ctx.meta.get(_CONFIG_ERROR)
        unloaded = _app_commands() if reason else {}
        rows: dict[str, list[tuple[str, click.Command]]] = {"offline": [], "app": []}
        for name in names:
            command = unloaded.get(name) or self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows["offline" if name in OFFLINE_COMMANDS else "app"].append((name, command))
        for kind, title in (
            ("offline", "Commands that need no settings"),
            ("app", "Commands that need the app's settings"),
        ):
            if not rows[kind]:
                continue
            limit = formatter.width - 6 - max(len(name) for name, _ in rows[kind])
            with formatter.section(title):
                formatter.write_dl(
                    [(name, command.get_short_help_str(limit)) for name, command in rows[kind]]
                )
        if reason:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(
                    f"The app's commands cannot run: {reason}. Set the production settings "
                    "(docs/configuration.md), or ASSEMBLY_ENV=development on your own machine."
                )


@click.group(
    cls=AssemblyGroup,
    create_app=_create_app,
    add_version_option=False,
    add_default_commands=True,
    set_debug_flag=False,
    load_dotenv=False,
    epilog=EPILOG,
)
def cli() -> None:
    """Run and manage assembly (settings: ASSEMBLY_* environment variables)."""


def _add_standalone_commands() -> None:
    # Commands that make no app themselves: added to the group itself, so FlaskGroup never
    # loads the app to find them. `timers run` and the `keys` subcommands added here load it
    # when they run.
    from assembly.offline.count import count_command
    from assembly.offline.trustee import trustee_group
    from assembly.offline.verify import keys_group, record_group, verify_command
    from assembly.ops.timers import timers_group
    from assembly.records.cli import add_key_commands

    add_key_commands(keys_group)

    cli.add_command(count_command)
    cli.add_command(verify_command)
    cli.add_command(keys_group)
    cli.add_command(record_group)
    cli.add_command(trustee_group)
    cli.add_command(timers_group)


_add_standalone_commands()
