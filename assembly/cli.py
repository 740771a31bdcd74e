"""The ``assembly`` command: a FlaskGroup over ``create_app``.

Configuration errors and an unreachable database end in one line and a non-zero exit,
never a traceback. ``assembly count`` runs before Flask and SQLAlchemy are even imported: it
needs neither, and importing them was most of the half second a recount took to start. The
group itself, ``cli``, is built on first use (``from assembly.cli import cli`` builds it).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from flask.cli import FlaskGroup


def _create_app():  # type: ignore[no-untyped-def]
    from assembly import create_app

    return create_app()


@cache
def _group() -> FlaskGroup:
    from flask.cli import FlaskGroup

    @click.group(
        cls=FlaskGroup,
        create_app=_create_app,
        add_version_option=False,
        add_default_commands=True,
        set_debug_flag=False,
        load_dotenv=False,
    )
    def cli() -> None:
        """Run and manage assembly (settings: ASSEMBLY_* environment variables)."""

    _add_standalone_commands(cli)
    return cli


def _add_standalone_commands(cli: click.Group) -> None:
    # Commands that need no app, no database and no settings: added to the group itself, so
    # FlaskGroup never loads the app for them.
    from assembly.offline.count import count_command
    from assembly.offline.verify import keys_group, record_group, verify_command
    from assembly.ops.timers import timers_group
    from assembly.records.cli import add_key_commands

    add_key_commands(keys_group)

    cli.add_command(count_command)
    cli.add_command(verify_command)
    cli.add_command(keys_group)
    cli.add_command(record_group)
    cli.add_command(timers_group)


def __getattr__(name: str) -> object:
    if name == "cli":
        return _group()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _run(command: click.Command, args: list[str] | None, prog_name: str) -> int:
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as error:
        return error.exit_code
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["count"]:
        from assembly.offline.count import count_command

        return _run(count_command, args[1:], "assembly count")

    from sqlalchemy.exc import OperationalError

    from assembly.config import ConfigError

    try:
        return _run(_group(), argv, "assembly")
    except ConfigError as error:
        click.echo(f"assembly: configuration error: {error}", err=True)
        return 2
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(f"assembly: cannot use the database: {reason}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
