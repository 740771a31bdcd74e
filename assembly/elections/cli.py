"""``assembly elections …``: the timer's dated steps."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from assembly.auth.actors import SystemActor
from assembly.clock import today
from assembly.elections.operations import tick
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.records.record import document_text

elections_cli = AppGroup("elections", help="Board elections.")


@elections_cli.command("tick")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Act as if it were this day (Europe/London); default today.",
)
def tick_command(day: object) -> None:
    """Make every dated step that is due: open and close nominations (freezing the roll),
    open and close the poll; send the notice of an assembly on the last day for it. Safe to
    run as often as you like: nothing is done twice."""
    from assembly.assemblies.operations import tick_assemblies

    when: date = day.date() if day else today()  # type: ignore[attr-defined]
    done = tick(SystemActor("timer"), when)
    noticed = tick_assemblies(SystemActor("timer"), when)
    db.session.commit()
    for election, state in done:
        click.echo(f"election {election.id} ({election.title}): {state.label}")
    for assembly in noticed:
        click.echo(f"assembly {assembly.id} ({assembly.title}): notice sent")
    click.echo(f"elections: {len(done)} step(s) made for {when.isoformat()}")
    if noticed:
        click.echo(f"assemblies: {len(noticed)} notice(s) sent")


simulate_cli = AppGroup("simulate", help="Run whole elections through the real operations.")


@simulate_cli.command("board-election")
@click.option("--institution", "slug", required=True, help="Short name (made if missing).")
@click.option("--seats", type=click.IntRange(1, 100), default=9, show_default=True)
@click.option("--voters", type=click.IntRange(3, 1_000_000), default=300, show_default=True)
@click.option("--seed", default="1", show_default=True, help="The same seed, the same result.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the signed election record to this file (check it with `assembly verify`).",
)
def simulate_board_election_command(
    slug: str, seats: int, voters: int, seed: str, as_json: bool, record_path: str | None
) -> None:
    """Enrol VOTERS synthetic members, run a board election for SEATS through every step
    (set-up, approval, nominations, roll, poll, count, declaration) and print the result."""
    from assembly.elections.simulate import simulate_board_election

    try:
        result = simulate_board_election(slug, seats=seats, voters=voters, seed=seed, today=today())
    except DomainError as error:
        db.session.rollback()
        click.echo(f"assembly simulate: {error.message}", err=True)
        raise SystemExit(1) from None
    if record_path and result.record is not None:
        Path(record_path).write_text(document_text(result.record), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"election {result.election_id} (seed {seed}): declared")
    if record_path:
        click.echo(f"  record (signed and countersigned): {record_path}")
    for key, contest in result.to_dict()["contests"].items():
        click.echo(
            f"  {key}: {contest['seats']} seat(s), {contest['ballots']:,} of "
            f"{contest['roll']:,} voted; elected: {', '.join(contest['elected']) or 'no one'}"
        )
