"""The ``assembly`` command (``main``): the group of ``cli_group`` (the offline commands and
the app's), with configuration errors and an unreachable database ending in one line and exit
2, never a traceback.

``assembly count`` runs before Flask and SQLAlchemy are even imported: it needs neither, and
importing them was most of the half second a recount took to start. So this module imports
the group only when it is used: ``from assembly.cli import cli`` still gives it.
"""

from __future__ import annotations

import sys

import click

#: What ``from assembly.cli import …`` finds in ``cli_group``, imported when first asked for.
_GROUP_NAMES = frozenset({"cli", "OFFLINE_COMMANDS", "EPILOG", "AssemblyGroup", "_app_commands"})


def __getattr__(name: str) -> object:
    if name in _GROUP_NAMES:
        from assembly import cli_group

        return getattr(cli_group, name)
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

    from assembly.cli_group import cli
    from assembly.config import ConfigError

    try:
        return _run(cli, args, "assembly")
    except ConfigError as error:
        click.echo(f"assembly: configuration error: {error}", err=True)
        return 2
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(f"assembly: cannot use the database: {reason}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
