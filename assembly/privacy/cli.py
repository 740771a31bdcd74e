"""``assembly privacy …``: the retention purge (run nightly by a timer), a person's data as
JSON, and erasure; thin wrappers over ``privacy.operations`` that commit once."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from assembly.auth.actors import CLI, SystemActor
from assembly.clock import today
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.privacy.operations import erase_person, export_person, purge_expired_ballots

__all__ = ["privacy_cli"]

privacy_cli = AppGroup("privacy", help="Members' personal data: retention, export, erasure.")


@privacy_cli.command("purge")
def purge_command() -> None:
    """Delete the ballot data of elections and assemblies declared more than a year ago (the
    signed records keep every ballot, with no voter). Run daily by the timer."""
    done = purge_expired_ballots(SystemActor("retention"))
    db.session.commit()
    for line in done:
        click.echo(f"purged {line}")
    click.echo(f"retention: {len(done)} election(s) and assembly(ies) purged")


@privacy_cli.command("export")
@click.argument("email")
def export_command(email: str) -> None:
    """Print, as JSON, everything held about the people with EMAIL."""
    click.echo(json.dumps(export_person(email), indent=2, ensure_ascii=False))


@privacy_cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str, yes: bool) -> None:
    """Erase the personal data of the people with EMAIL (names, address, date of birth,
    postcode; memberships end). Signed records stay valid."""
    if not yes:
        click.confirm(
            f"Erase everything personal held about {email}? This cannot be undone", abort=True
        )
    try:
        count = erase_person(CLI, email, today())
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"erased {count} person(s) with that address")
