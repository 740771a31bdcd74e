"""``assembly keys list`` and ``assembly keys rotate``: the deployment's election keys.

They join the standalone ``keys`` group (``assembly keys generate`` needs no app), so they load
the application themselves (``with_appcontext``) and import the database code only when run.
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

__all__ = ["add_key_commands"]


def _rows() -> list[dict[str, str | None]]:
    from assembly.records.operations import list_signing_keys
    from assembly.records.signing import group_fingerprint

    return [
        {
            "fingerprint": group_fingerprint(key.fingerprint),
            "public_key": key.public_key,
            "created_at": key.created_at.isoformat(timespec="seconds"),
            "retired_at": key.retired_at.isoformat(timespec="seconds") if key.retired_at else None,
        }
        for key in list_signing_keys()
    ]


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
@with_appcontext
def list_command(as_json: bool) -> None:
    """List the deployment's election keys, newest first: the current one and those retired
    (which still verify what they signed). The same list is public at /keys."""
    rows = _rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No election key yet: one is made when the first election is approved.")
        return
    for row in rows:
        state = f"retired {row['retired_at']}" if row["retired_at"] else "current"
        click.echo(f"{row['fingerprint']}  made {row['created_at']}  {state}")


@click.command("rotate")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def rotate_command(yes: bool) -> None:
    """Retire the current election key and make a new one. Elections approved already keep
    signing with the key they were approved under; the retired key stays listed at /keys."""
    from assembly.auth.actors import SystemActor
    from assembly.errors import DomainError
    from assembly.extensions import db
    from assembly.records.operations import rotate_signing_key
    from assembly.records.signing import group_fingerprint

    if not yes:
        click.confirm(
            "Retire the current election key and make a new one? Elections approved from now "
            "on sign with the new key; this cannot be undone",
            abort=True,
        )
    try:
        key = rotate_signing_key(SystemActor("cli"))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"New election key: {group_fingerprint(key.fingerprint)}")
    click.echo("The keys before it are retired and stay listed at /keys.")


def add_key_commands(group: click.Group) -> None:
    """Add the database-bound subcommands to the ``keys`` group."""
    group.add_command(list_command)
    group.add_command(rotate_command)
