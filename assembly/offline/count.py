"""``assembly count FILE``: count a ballot file with no database and no app configuration."""

from __future__ import annotations

import sys
from fractions import Fraction

import click

from assembly.counting import METHODS, BallotError, CountResult, LotNeeded, count
from assembly.counting.formats import read_ballot_file
from assembly.counting.rulesets import DEFAULT_RULES, RULE_SETS


def _fail(message: str) -> None:
    click.echo(f"assembly count: {message}", err=True)
    sys.exit(2)


def _value(value: int | Fraction, scale: int) -> str:
    if scale == 1:
        if isinstance(value, Fraction) and value.denominator != 1:
            return f"{float(value):.5f}"  # display only; the JSON form is exact
        return str(int(value))
    whole, part = divmod(int(value), scale)
    return f"{whole}.{part:0{len(str(scale)) - 1}d}"


def render_table(result: CountResult) -> str:
    """Return the count as a result sheet: a row per candidate, a column per stage."""
    names = [c.name if len(c.name) <= 32 else c.name[:31] + "…" for c in result.candidates]
    width = max(14, *(len(n) for n in names), len("Non-transferable"))
    column = 13
    lines = []
    quota = "" if result.quota is None else f", quota {_value(result.quota, result.scale)}"
    lines.append(
        f"{result.method.upper()} ({result.rules} v{result.rules_version}): "
        f"{result.seats} seat(s), valid {_value(result.valid, 1)}"
        f"{quota}"
    )
    header = "Candidate".ljust(width) + "".join(
        f"Stage {s.number}".rjust(column) for s in result.stages
    )
    lines.append(header)
    actions = "".ljust(width) + "".join(
        (
            {
                "first-preferences": "first",
                "surplus": f"surplus {s.candidate}",
                "exclusion": f"excl. {s.candidate}",
                "votes": "votes",
            }[s.action]
        ).rjust(column)
        for s in result.stages
    )
    lines.append(actions)
    for index, name in enumerate(names):
        candidate_id = result.candidates[index].id
        row = f"{candidate_id}. {name}".ljust(width + 4)[:width]
        cells = []
        for stage in result.stages:
            mark = "*" if candidate_id in stage.elected else ""
            cells.append((_value(stage.totals[index], result.scale) + mark).rjust(column))
        lines.append(row + "".join(cells))
    lines.append(
        "Non-transferable".ljust(width)
        + "".join(_value(s.non_transferable, result.scale).rjust(column) for s in result.stages)
    )
    lines.append("")
    lines.append(
        "Elected, in order: "
        + "; ".join(result.elected_names)
        + (f" ({result.unfilled} seat(s) unfilled)" if result.unfilled else "")
    )
    for stage in result.stages:
        for tie in stage.tie_breaks:
            how = "by lot" if tie.by_lot else f"by stage {tie.stage}"
            lines.append(
                f"Stage {stage.number}: {tie.purpose} tie between "
                f"{', '.join(tie.candidates)} decided {how} for {tie.chosen}"
            )
    lines.append("* elected at this stage")
    return "\n".join(lines)


@click.command("count")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(METHODS), default="stv", show_default=True)
@click.option("--seats", type=int, help="Seats to fill (default: as the file says, or 1).")
@click.option(
    "--rules",
    type=click.Choice(sorted(RULE_SETS)),
    default=DEFAULT_RULES,
    show_default=True,
    help="STV rule set (docs/counting.md).",
)
@click.option("--seed", help="Hex seed for lots, fixed before the count.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as canonical JSON.")
def count_command(
    path: str, method: str, seats: int | None, rules: str, seed: str | None, as_json: bool
) -> None:
    """Count a BLT or PrefLib (.soi/.toi) ballot file and print every stage."""
    try:
        ballot_file = read_ballot_file(path)
        seats = seats or ballot_file.seats or 1
        if seed is not None:
            bytes.fromhex(seed)
        result = count(ballot_file.profile, method, seats, seed=seed, rules=rules)
    except (BallotError, LotNeeded) as error:
        _fail(str(error))
        return
    except ValueError:
        _fail(f"--seed must be hexadecimal, not {seed!r}")
        return
    if as_json:
        click.echo(result.to_json().decode("utf-8"))
    else:
        click.echo(render_table(result))
