"""The `assembly` command with no settings: `--help` lists every command without a traceback,
the offline commands run, and each app command ends in one line and exit status 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from assembly import create_app
from assembly.cli import OFFLINE_COMMANDS, _app_commands
from tests.conftest import TEST_SECRET
from tests.records.test_verify_cli import PASSPHRASE, RECORD, _record_for

ROOT = Path(__file__).resolve().parent.parent
#: One seat, seven ballots: A has 4 first preferences, the quota, and is elected at once.
SMALL_BLT = '3 1\n4 1 0\n2 2 0\n1 3 2 0\n0\n"A"\n"B"\n"C"\n"Small"\n'


def _bare(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run `assembly ARGS` as a fresh install would: no ASSEMBLY_* settings at all, only
    ``variables`` (the command's own inputs), and this checkout's code."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def test_help_with_no_settings_lists_every_command_and_says_why_the_apps_cannot_run(
    tmp_path: Path,
) -> None:
    """`assembly --help` with no settings exits 0 with no traceback: the offline commands,
    the app's commands, and one sentence naming the missing setting and how to configure."""
    result = _bare("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    offline, app = result.stdout.split("Commands that need the app's settings:")
    assert "Commands that need no settings:" in offline
    for name in OFFLINE_COMMANDS:
        assert f"\n  {name} " in offline
    for name in ("db", "demo", "elections", "routes", "run", "timers", "users"):
        assert f"\n  {name} " in app
    reason = " ".join(app.split())
    assert (
        "The app's commands cannot run: production needs ASSEMBLY_SECRET_KEY (a long random "
        "string). Set the production settings (docs/configuration.md), or "
        "ASSEMBLY_ENV=development on your own machine."
    ) in reason
    assert "keys generate and record sign need no settings" in reason  # the epilog


def test_help_with_development_settings_lists_the_same_commands(tmp_path: Path) -> None:
    """With settings that make the app, `--help` lists the same commands and no reason."""
    bare = _bare("--help", cwd=tmp_path)
    development = _bare(
        "--help", cwd=tmp_path, ASSEMBLY_ENV="development", ASSEMBLY_INSTANCE_PATH=str(tmp_path)
    )
    assert development.returncode == 0, development.stderr
    assert "cannot run" not in development.stdout

    def names(output: str) -> list[str]:
        return re.findall(r"^  ([a-z-]+)  ", output, flags=re.MULTILINE)

    assert names(development.stdout) == names(bare.stdout)
    assert {"count", "db", "demo", "verify"} <= set(names(bare.stdout))


def test_the_app_commands_listed_without_an_app_are_the_apps(tmp_path: Path) -> None:
    """The list `--help` shows when the app cannot be made is exactly what the app adds."""
    app = create_app({"ENV": "testing", "SECRET_KEY": TEST_SECRET, "INSTANCE_PATH": str(tmp_path)})
    assert set(_app_commands()) == set(app.cli.list_commands(click.Context(app.cli)))


def test_count_needs_no_settings(tmp_path: Path) -> None:
    """`assembly count FILE` counts a small BLT file with no settings and makes no folder."""
    ballots = tmp_path / "small.blt"
    ballots.write_text(SMALL_BLT)
    result = _bare("count", str(ballots), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["elected"] == ["A"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["small.blt"]


def test_verify_keys_generate_and_record_sign_need_no_settings(tmp_path: Path) -> None:
    """`verify`, `keys generate` and `record sign` run with no settings (the passphrase is
    the commands' own input), and `verify` accepts the countersigned record."""
    assert _bare("verify", str(RECORD), cwd=tmp_path).returncode == 0
    key = tmp_path / "officer.key"
    made = _bare("keys", "generate", "--out", str(key), cwd=tmp_path, **_passphrase())
    assert made.returncode == 0, made.stderr
    record = _record_for((tmp_path / "officer.key.pub").read_text().strip(), tmp_path)
    sig = tmp_path / "record.sig"
    signed = _bare(
        "record",
        "sign",
        str(record),
        "--key",
        str(key),
        "--out",
        str(sig),
        cwd=tmp_path,
        **_passphrase(),
    )
    assert signed.returncode == 0, signed.stderr
    verified = _bare("verify", str(record), "--signature", str(sig), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout
    assert not (tmp_path / "instance").exists()


def _passphrase() -> dict[str, str]:
    return {"ASSEMBLY_RO_PASSPHRASE": PASSPHRASE}


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["db", "--help"],
        ["routes"],
        ["run", "--port", "0"],
        ["demo"],
        ["elections", "tick"],
        ["keys", "list"],
        ["timers", "run", "--once"],
    ],
    ids=" ".join,
)
def test_an_app_command_with_no_settings_says_why_in_one_line_and_exits_2(
    tmp_path: Path, args: list[str]
) -> None:
    """Every app command with no settings prints the missing setting in one line on stderr,
    no traceback, and exits 2."""
    result = _bare(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert _one_line(result) == (
        "assembly: configuration error: production needs ASSEMBLY_SECRET_KEY (a long random string)"
    )


def test_invalid_settings_are_one_line_and_leave_no_instance_folder(tmp_path: Path) -> None:
    """An invalid setting is named in one line with exit 2, and the app's instance folder is
    not made for settings that cannot run it; `--help` still lists the offline commands."""
    instance = tmp_path / "instance"
    settings = {"ASSEMBLY_ENV": "staging", "ASSEMBLY_INSTANCE_PATH": str(instance)}
    result = _bare("db", "upgrade", cwd=tmp_path, **settings)
    assert result.returncode == 2
    assert "ASSEMBLY_ENV must be one of production, development, testing" in _one_line(result)
    shown = _bare("--help", cwd=tmp_path, **settings)
    assert shown.returncode == 0 and "\n  verify " in shown.stdout
    assert "cannot run: ASSEMBLY_ENV must be one of" in " ".join(shown.stdout.split())
    assert not instance.exists()


def test_an_unknown_command_with_no_settings_is_a_usage_error(tmp_path: Path) -> None:
    """A name that is no command, offline or the app's, says so (exit 2), not a settings
    error."""
    result = _bare("nosuch", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such command 'nosuch'." in result.stderr
    assert "Traceback" not in result.stderr and "configuration error" not in result.stderr
