"""``assembly elections …``: the timer's dated steps."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from assembly.auth.actors import SystemActor
from assembly.clock import today
from assembly.elections.operations import tick
from assembly.extensions import db

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
    open and close the poll. Safe to run as often as you like: nothing is done twice."""
    when: date = day.date() if day else today()  # type: ignore[attr-defined]
    done = tick(SystemActor("timer"), when)
    db.session.commit()
    for election, state in done:
        click.echo(f"election {election.id} ({election.title}): {state.label}")
    click.echo(f"elections: {len(done)} step(s) made for {when.isoformat()}")
