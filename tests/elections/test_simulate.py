"""`assembly simulate board-election` runs a whole election through the real operations; the
same seed gives the same result."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from assembly.clock import today
from assembly.counting import count_stv
from assembly.elections.count import contest_profile
from assembly.elections.models import Election
from assembly.elections.simulate import simulate_board_election
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.polls.models import Ballot, RollMark
from assembly.records.record import contest_seed
from assembly.records.verify import verify_record


def test_a_simulation_runs_every_step_and_repeats_exactly(app: Flask) -> None:
    """Every voter votes once, the election is declared, the winners are the counting core's,
    and a second run with the same seed elects the same people."""
    first = simulate_board_election("sim-school", seats=3, voters=30, seed="42", today=today())
    election = db.session.get(Election, first.election_id)
    assert election is not None and election.state == ElectionState.declared
    assert sum(first.ballots.values()) == 30 == sum(first.roll.values())
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 30
    assert db.session.scalar(select(func.count()).select_from(RollMark)) == 30
    for contest in election.contests:
        core = count_stv(
            contest_profile(contest), contest.seats, seed=contest_seed(election.seed, contest.id)
        )
        assert first.elected[contest.constituency.key] == core.elected_names
    second = simulate_board_election("sim-school", seats=3, voters=30, seed="42", today=today())
    assert second.election_id != first.election_id
    assert second.elected == first.elected


def test_the_command_prints_the_result(app: Flask, runner: FlaskCliRunner) -> None:
    """The command prints each contest's turnout and winners, or JSON."""
    result = runner.invoke(
        args=[
            "simulate",
            "board-election",
            "--institution",
            "sim-cli",
            "--seats",
            "3",
            "--voters",
            "12",
            "--seed",
            "s",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document["contests"]) == {"workers", "users", "community"}
    assert all(len(c["elected"]) == 1 for c in document["contests"].values())


def test_the_command_writes_a_record_that_verifies(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """`--record FILE` writes the signed and countersigned record; the standalone verifier
    passes every step on it, the receipts the voters were given check against it, and one
    changed ballot fails it."""
    path = tmp_path / "record.json"
    result = runner.invoke(
        args=[
            "simulate",
            "board-election",
            "--institution",
            "sim-record",
            "--seats",
            "3",
            "--voters",
            "15",
            "--seed",
            "r",
            "--record",
            str(path),
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"record (signed and countersigned): {path}" in result.output
    record = json.loads(path.read_text(encoding="utf-8"))
    assert {s["role"] for s in record["signatures"]} == {"election", "returning_officer"}
    assert sum(c["ballots"]["count"] for c in record["body"]["contests"]) == 15
    report = verify_record(record)
    assert report.ok, report.to_dict()
    contest = next(c for c in record["body"]["contests"] if c["ballots"]["items"])
    contest["ballots"]["items"][0]["ranking"].reverse()
    if len(contest["ballots"]["items"][0]["ranking"]) == 1:
        contest["ballots"]["items"][0]["ranking"] = [c["id"] for c in contest["candidates"][:2]]
    tampered = verify_record(record)
    assert not tampered.ok
    failed = [step.name for step in tampered.steps if not step.passed]
    assert any("ballot" in name.lower() for name in failed), failed


def test_a_poll_closing_soon_is_open_today(app: Flask) -> None:
    """The smoke test's simulation: the steps are dated back so that the poll is open today,
    and members cast on today's date as they would through the web; then it declares."""
    from datetime import timedelta

    from assembly.elections.simulate import (
        cast_simulated_ballots,
        declare_simulated_poll,
        open_simulated_poll,
    )

    poll = open_simulated_poll(
        "soon", seats=3, voters=12, seed="7", today=today(), poll_closes_on=today() + timedelta(7)
    )
    election = poll.election
    assert election.state == ElectionState.poll_open
    assert election.poll_opens_on <= today() <= election.poll_closes_on
    assert sum(poll.result.roll.values()) == 12
    cast_simulated_ballots(poll, today=today())
    result = declare_simulated_poll(poll)
    assert db.session.get(Election, election.id).state == ElectionState.declared
    assert result.record is not None and all(result.elected.values())
