"""``assembly simulate assembly``: a whole annual assembly through the real operations."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assembly.clock import today
from assembly.elections.cli import simulate_cli
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.records.record import document_text

__all__ = ["simulate_assembly_command"]


@simulate_cli.command("assembly")
@click.option("--institution", "slug", required=True, help="Short name (made if missing).")
@click.option("--attendees", type=click.IntRange(1, 200_000), default=200, show_default=True)
@click.option("--candidates", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--seed", default="1", show_default=True, help="The same seed, the same result.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the signed record of the assembly to this file (check it with `assembly verify`).",
)
def simulate_assembly_command(
    slug: str, attendees: int, candidates: int, seed: str, as_json: bool, record_path: str | None
) -> None:
    """Enrol ATTENDEES synthetic members, hold an assembly at which they are all present,
    elect the leader from CANDIDATES and declare the result."""
    from assembly.assemblies.simulate import simulate_assembly

    try:
        result = simulate_assembly(
            slug, attendees, seed, candidates=candidates, today=today(), record=bool(record_path)
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(f"assembly simulate: {error.message}", err=True)
        raise SystemExit(1) from None
    if record_path and result.record is not None:
        Path(record_path).write_text(document_text(result.record), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"assembly {result.assembly_id} (seed {seed}): {result.outcome}")
    click.echo(f"  {result.attendees:,} present")
    for vote in result.votes:
        click.echo(f"  vote {vote['number']} ({vote['kind']}): {vote['summary']}")
    if result.leader:
        click.echo(f"  leader: {result.leader}")
    if record_path:
        click.echo(f"  record (signed and countersigned): {record_path}")
