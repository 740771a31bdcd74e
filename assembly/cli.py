"""The ``assembly`` command: a FlaskGroup over ``create_app``.

Configuration errors and an unreachable database end in one line and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import OperationalError


def _create_app():  # type: ignore[no-untyped-def]
    from assembly import create_app

    return create_app()


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


def _add_standalone_commands() -> None:
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


_add_standalone_commands()


def main(argv: list[str] | None = None) -> int:
    from assembly.config import ConfigError

    try:
        cli.main(args=argv, prog_name="assembly", standalone_mode=False)
    except ConfigError as error:
        click.echo(f"assembly: configuration error: {error}", err=True)
        return 2
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(f"assembly: cannot use the database: {reason}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as error:
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
