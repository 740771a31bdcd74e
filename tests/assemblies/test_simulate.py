"""`assembly simulate assembly`: a whole assembly through the real operations, the same
result from the same seed, and a record that `assembly verify` passes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskCliRunner

from assembly.cli import cli


def test_the_command_runs_an_assembly_and_writes_a_record_that_verifies(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """60 attendees elect a leader from three candidates; the record, signed and
    countersigned, passes `assembly verify` (exit 0); a ballot changed fails it (exit 1)."""
    path = tmp_path / "assembly.json"
    args = ["simulate", "assembly", "--institution", "sim-assembly", "--attendees", "60"]
    result = runner.invoke(args=[*args, "--seed", "a", "--record", str(path)])
    assert result.exit_code == 0, result.output
    assert "60 present" in result.output and "leader:" in result.output
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["body"]["kind"] == "assembly"
    assert sum(a["present"] for a in record["body"]["assembly"]["attendance"]) == 60
    verified = CliRunner().invoke(cli, ["verify", str(path)])
    assert verified.exit_code == 0, verified.output
    ballots = record["body"]["contests"][0]["ballots"]["items"]
    ballots[0]["tracker"] = ballots[1]["tracker"]  # one ballot replaced by a copy of another
    path.write_text(json.dumps(record), encoding="utf-8")
    assert CliRunner().invoke(cli, ["verify", str(path)]).exit_code == 1


def test_the_same_seed_gives_the_same_result(app: Flask, runner: FlaskCliRunner) -> None:
    outcomes = []
    for slug in ("sim-seed-one", "sim-seed-two"):
        result = runner.invoke(
            args=[
                "simulate",
                "assembly",
                "--institution",
                slug,
                "--attendees",
                "30",
                "--seed",
                "same",
                "--json",
            ]
        )
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        outcomes.append((document["outcome"], [v["summary"] for v in document["votes"]]))
    assert outcomes[0] == outcomes[1]
