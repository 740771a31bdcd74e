"""`assembly count FILE`: runs with no database and no settings, prints a result sheet or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assembly.counting import RULE_SETS, count_by_rules
from assembly.counting.formats import read_ballot_file
from tests.counting.test_golden import DATA

RENFREWSHIRE = DATA / "scotland/blt/2017/renfrewshire_2017_ward3.blt"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # A bare environment: no ASSEMBLY_* settings, as straight after install.
    environment = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", "count", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_prints_a_stage_table(tmp_path: Path) -> None:
    """The default output is a result sheet: quota, a column per stage, who was elected."""
    result = _run(str(RENFREWSHIRE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quota 1202.00000" in result.stdout
    assert "Stage 9" in result.stdout and "surplus 8" in result.stdout
    assert (
        "Elected, in order: JIM SHARKEY (Lab); Neill GRAHAM (C); "
        "Jennifer Marion ADAM-MCGREGOR (SNP)"
    ) in result.stdout
    assert not (tmp_path / "instance").exists()  # no app, no instance folder


def test_json_output_is_canonical_and_complete(tmp_path: Path) -> None:
    """--json prints canonical JSON with the elected names in order, quota and every stage."""
    result = _run(str(RENFREWSHIRE), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["elected"] == [
        "JIM SHARKEY (Lab)",
        "Neill GRAHAM (C)",
        "Jennifer Marion ADAM-MCGREGOR (SNP)",
    ]
    assert (data["quota"], data["scale"], len(data["stages"])) == (120200000, 100000, 9)
    assert data["rules"] == "scottish-2007" and data["rules_version"] == "1"
    assert result.stdout.strip() == json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_methods_and_seats_can_be_chosen(tmp_path: Path) -> None:
    """--method irv and --method fptp --seats N count the same file by other rules."""
    irv = json.loads(_run(str(RENFREWSHIRE), "--method", "irv", "--seats", "1", "--json").stdout)
    fptp = json.loads(_run(str(RENFREWSHIRE), "--method", "fptp", "--seats", "3", "--json").stdout)
    assert irv["method"] == "irv" and len(irv["elected"]) == 1
    assert fptp["method"] == "block" and len(fptp["elected"]) == 3


def test_unusable_input_exits_2_with_one_line(tmp_path: Path) -> None:
    """A missing file, a broken file or a bad seed: one line on stderr and exit status 2."""
    broken = tmp_path / "broken.blt"
    broken.write_text("3 1\n1 1 4 0\n0\nA\nB\nC\n")
    for args in (
        [str(tmp_path / "missing.blt")],
        [str(broken)],
        [str(RENFREWSHIRE), "--seed", "xyz"],
        [str(RENFREWSHIRE), "--method", "irv", "--seats", "2"],
    ):
        result = _run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("assembly count: ")
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("rules", sorted(RULE_SETS))
def test_the_rule_set_can_be_chosen(tmp_path: Path, rules: str) -> None:
    """--rules counts by the named rule set: the JSON is byte for byte the core's count of the
    same file by those rules; an unknown name is refused with the choices, exit 2."""
    result = _run(str(RENFREWSHIRE), "--rules", rules, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ballot_file = read_ballot_file(str(RENFREWSHIRE))
    expected = count_by_rules(ballot_file.profile, ballot_file.seats or 1, rules)
    assert result.stdout.strip() == expected.to_json().decode("utf-8")
    assert json.loads(result.stdout)["rules"] == rules


def test_an_unknown_rule_set_is_refused(tmp_path: Path) -> None:
    result = _run(str(RENFREWSHIRE), "--rules", "nonesuch", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nonesuch" in result.stderr and "scottish-2007" in result.stderr


def test_equal_rankings_are_refused_with_line_and_column(tmp_path: Path) -> None:
    """A BLT file with '2=3' on a ballot stops the count with one line saying where, and that
    the rule set cannot count equal rankings."""
    equal = tmp_path / "equal.blt"
    equal.write_bytes(b"4 1\r\n1 1 2 0\r\n1 1 2=3 4 0\r\n0\r\nA\r\nB\r\nC\r\nD\r\n")
    result = _run(str(equal))
    assert result.returncode == 2
    assert result.stderr == (
        "assembly count: equal.blt, line 3, column 5: equal rankings (2=3) cannot be counted:"
        " the rule sets here count ballots that rank candidates in strict order\n"
    )


def test_count_starts_without_flask_or_sqlalchemy(tmp_path: Path) -> None:
    """`assembly count` is dispatched before the web stack is imported (half a second of start)."""
    code = (
        "import sys; from assembly.cli import main; status = main(['count', sys.argv[1]]);"
        " print(status, 'flask' in sys.modules, 'sqlalchemy' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(RENFREWSHIRE)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )
    assert result.stderr.strip().splitlines()[-1] == "0 False False", result.stderr
    assert "Elected, in order:" in result.stdout
