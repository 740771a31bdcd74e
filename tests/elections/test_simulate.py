"""`assembly simulate board-election` runs a whole election through the real operations; the
same seed gives the same result."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from assembly.clock import today
from assembly.counting import count_stv
from assembly.elections.count import contest_profile, contest_seed
from assembly.elections.models import Ballot, Election, RollMark
from assembly.elections.simulate import simulate_board_election
from assembly.elections.states import ElectionState
from assembly.extensions import db


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
            contest_profile(contest), contest.seats, seed=contest_seed(election, contest)
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
