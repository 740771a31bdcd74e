"""``assembly users …``: grant roles and make sign-in links from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from assembly.auth.actors import CLI
from assembly.auth.models import Role
from assembly.auth.operations import ensure_user, grant_role, normalise_email
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.queries import get_institution

users_cli = AppGroup("users", help="Manage users and their roles.")


@users_cli.command("grant")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([*(r.value for r in Role), "admin"]),
    help="secretary, returning_officer, teller, or admin (platform admin).",
)
@click.option("--institution", "slug", help="The institution's short name (not for admin).")
@click.option("--name", default="", help="The person's full name.")
def grant(email: str, role: str, slug: str | None, name: str) -> None:
    """Give EMAIL a role in an institution, or make them a platform admin."""
    try:
        if role == "admin":
            user = ensure_user(CLI, email, name)
            if not user.is_platform_admin:
                from assembly.audit.operations import record_event

                user.is_platform_admin = True
                record_event(CLI, "user.made_admin", subject=user, data={"email": user.email})
            db.session.commit()
            click.echo(f"{user.email} is a platform admin")
            return
        if not slug:
            raise click.UsageError("--institution is required for this role")
        institution = get_institution(slug)
        if institution is None:
            raise click.ClickException(f"no institution with the short name {slug!r}")
        grant_role(CLI, institution, normalise_email(email), Role(role), display_name=name)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{normalise_email(email)} is now {Role(role).label.lower()} of {slug}")


@users_cli.command("link")
@click.argument("email")
def link(email: str) -> None:
    """Print a single-use sign-in link for EMAIL (valid 15 minutes)."""
    from assembly.auth.operations import issue_sign_in_link

    try:
        url = issue_sign_in_link(CLI, email)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(url)
