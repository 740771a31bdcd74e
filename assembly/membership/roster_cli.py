"""``assembly roster import``: import a roster CSV for one constituency."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from assembly.auth.actors import CLI
from assembly.errors import DomainError, RosterError
from assembly.extensions import db
from assembly.membership.imports import ImportPlan, RosterFileError, RosterRefused
from assembly.membership.operations import ensure_csv_source, import_roster
from assembly.membership.queries import get_constituency, get_institution

roster_cli = AppGroup("roster", help="Import rosters of members.")


def _fail(message: str, code: int) -> None:
    click.echo(f"assembly roster: {message}", err=True)
    sys.exit(code)


def _summary(plan: ImportPlan) -> str:
    counts = plan.counts()
    return ", ".join(
        f"{counts[k]:,} {k.replace('_', ' ')}"
        for k in ("new", "changed", "leaving", "unchanged", "held_elsewhere", "skipped", "rejected")
    )


def _refused(plan: ImportPlan) -> None:
    """Print why a roster was refused and exit 1."""
    click.echo(f"refused: {_summary(plan)}", err=True)
    for problem in plan.invalid[:50]:
        click.echo(
            f"  line {problem.line}: {problem.external_id or '-'}: {problem.reason}", err=True
        )
    if plan.invalid_total > 50:
        click.echo(f"  … and {plan.invalid_total - 50:,} more", err=True)
    click.echo("nothing was imported", err=True)
    sys.exit(1)


@roster_cli.command("import")
@click.option("--institution", "slug", required=True, help="The institution's short name.")
@click.option("--constituency", "key", required=True, help="workers, users, community …")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--snapshot/--delta",
    default=True,
    help="A snapshot lists everyone (absent people leave); a delta only joins.",
)
@click.option(
    "--date",
    "effective",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The import date (default today): leavers leave and joiners join on it.",
)
def import_command(
    slug: str, key: str, path: str, dry_run: bool, snapshot: bool, effective: object
) -> None:
    """Import FILE (CSV) as the roster of one constituency; print the difference."""
    institution = get_institution(slug)
    if institution is None:
        _fail(f"no institution with the short name {slug!r}", 2)
        return
    constituency = get_constituency(institution, key)
    if constituency is None:
        _fail(f"{institution.name} has no constituency {key!r}", 2)
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        _fail(f"{path}: {error.strerror or error}", 2)
        return
    started = time.perf_counter()
    with handle:
        lines = max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")), 1)
        handle.seek(0)
        bar = click.progressbar(
            length=lines, label=f"importing {Path(path).name}", file=sys.stderr, show_pos=True
        )
        reached = 0

        def progress(line: int) -> None:
            nonlocal reached
            bar.update(min(line, lines) - reached)
            reached = min(line, lines)

        try:
            source = ensure_csv_source(CLI, constituency)
            plan, run = import_roster(
                CLI,
                source,
                handle,
                mode="snapshot" if snapshot else "delta",
                file_name=Path(path).name,
                effective_on=effective.date() if effective else date.today(),  # type: ignore[attr-defined]
                dry_run=dry_run,
                progress=progress,
            )
        except RosterFileError as error:
            db.session.rollback()
            click.echo("", err=True)
            _fail(str(error), 2)
            return
        except RosterRefused as refused:
            db.session.rollback()
            click.echo("", err=True)
            _refused(refused.plan)
            return
        except DomainError as error:
            db.session.rollback()
            click.echo("", err=True)
            _fail(error.message, 1)
            return
        finally:
            bar.render_finish()
    summary = _summary(plan)
    for problem in plan.skipped[:20]:
        click.echo(
            f"  skipped line {problem.line}: {problem.external_id}: {problem.reason}", err=True
        )
    if dry_run:
        db.session.rollback()
        click.echo(f"dry run: {summary} (nothing changed)")
        return
    db.session.commit()
    elapsed = time.perf_counter() - started
    assert run is not None
    click.echo(f"imported run {run.id}: {summary} in {elapsed:.1f} s")


__all__ = ["RosterError", "roster_cli"]


token_cli = AppGroup("token", help="Service tokens for the roster push API.")
roster_cli.add_command(token_cli)


@token_cli.command("create")
@click.option("--institution", "slug", required=True)
@click.option(
    "--constituency",
    "key",
    required=True,
    help="The constituency whose CSV/API roster source the token may push to.",
)
@click.option("--name", required=True, help="What uses it, e.g. 'HR system nightly feed'.")
@click.option("--days", default=90, show_default=True, help="How long it lasts (1–366).")
def token_create(slug: str, key: str, name: str, days: int) -> None:
    """Make a service token and print it (it is shown only once)."""
    from assembly.api.tokens import issue_token

    institution = get_institution(slug)
    constituency = get_constituency(institution, key) if institution else None
    if constituency is None:
        _fail(f"no constituency {key!r} in an institution {slug!r}", 2)
        return
    try:
        source = ensure_csv_source(CLI, constituency)
        row, token = issue_token(CLI, source, name=name, days=days)
    except DomainError as error:
        db.session.rollback()
        _fail(error.message, 2)
        return
    db.session.commit()
    click.echo(f"token {row.id} for source {source.key}, expires {row.expires_at:%Y-%m-%d}:")
    click.echo(token)
    click.echo(f"push to: /api/v1/institutions/{slug}/rosters/{source.key}/imports", err=True)


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke service token TOKEN_ID at once."""
    from assembly.api.tokens import revoke_token
    from assembly.membership.models import ServiceToken

    row = db.session.get(ServiceToken, token_id)
    if row is None:
        _fail(f"no service token {token_id}", 2)
        return
    revoke_token(CLI, row)
    db.session.commit()
    click.echo(f"token {token_id} ({row.name}) revoked")
