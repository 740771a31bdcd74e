"""``assembly institutions …``: create and list institutions."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from assembly.auth.actors import CLI
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.models import Institution, InstitutionKind
from assembly.membership.operations import create_institution

institutions_cli = AppGroup("institutions", help="Create and list institutions.")


@institutions_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The institution's full name.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in InstitutionKind]))
@click.option("--area", default="", help="The area it serves.")
@click.option("--leader-title", default="", help="Headteacher, Chief Executive …")
def create(slug: str, name: str, kind: str, area: str, leader_title: str) -> None:
    """Create institution SLUG with its three default constituencies."""
    try:
        institution = create_institution(
            CLI,
            slug=slug,
            name=name,
            kind=InstitutionKind(kind),
            area=area,
            leader_title=leader_title,
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(
        f"created {institution.slug}: {institution.name} ({institution.kind.value}), "
        "constituencies workers, users, community (1/3 each)"
    )


@institutions_cli.command("list")
def list_() -> None:
    """List every institution."""
    for institution in db.session.scalars(select(Institution).order_by(Institution.slug)):
        click.echo(f"{institution.slug}\t{institution.kind.value}\t{institution.name}")
