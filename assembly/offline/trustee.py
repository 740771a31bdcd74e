"""``assembly trustee shuffle|open``: a trustee's steps after the close of an end-to-end
verifiable poll, on their own computer, with no settings, no database and no connection.

The task file is what the trustees' page downloads (every contest's label, the election key
and the rows the next step takes); the output is what the page takes back. ``open`` reads the
trustee key file their browser saved at the ceremony; its secret never leaves this command.

Pure: the standard library, click and ``assembly.crypto``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from assembly.crypto import poll
from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import G, GroupError, Point, scalar_from_hex
from assembly.offline.verify import _fail, _read_json

__all__ = ["trustee_group"]


@click.group("trustee")
def trustee_group() -> None:
    """A trustee's shuffle and opening of an end-to-end verifiable poll (no settings)."""


def _rows(command: str, entry: Any) -> list[list[Ciphertext]]:
    try:
        return [[Ciphertext.from_json(c) for c in row] for row in entry["rows"]]
    except (GroupError, KeyError, TypeError, ValueError) as error:
        _fail(command, f"the task's rows cannot be read: {error}", 2)


def _polls(command: str, task: Any) -> list[Any]:
    if not isinstance(task, dict) or not isinstance(task.get("polls"), list):
        _fail(command, "the task file is not a trustees' task (it has no polls)", 2)
    return list(task["polls"])


def _write(output: str, document: dict[str, Any]) -> None:
    with open(output, "w", encoding="utf-8") as file:
        json.dump(document, file, separators=(",", ":"))
        file.write("\n")


@trustee_group.command("shuffle")
@click.argument("task_path", metavar="TASK", type=click.Path(dir_okay=False))
@click.option("--trustee", "number", type=int, required=True, help="Your trustee number.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def shuffle_command(task_path: str, number: int, output: str) -> None:
    """Re-encrypt and permute every contest's rows, with a proof each."""
    task = _read_json("trustee shuffle", task_path, "task file")
    try:
        key = Point.from_hex(str(task["election_key"]))
    except (GroupError, KeyError, TypeError) as error:
        _fail("trustee shuffle", f"the task's election key cannot be read: {error}", 2)
    done = []
    for entry in _polls("trustee shuffle", task):
        rows = _rows("trustee shuffle", entry)
        if not rows:
            _fail("trustee shuffle", f"poll {entry.get('poll')} has no ballots to shuffle", 1)
        shuffled = poll.mix(key, rows, str(entry["label"]), number)
        done.append({"poll": entry["poll"], "shuffle": shuffled.to_json()})
        click.echo(f"poll {entry['poll']}: {len(rows)} ballots shuffled and proved")
    _write(output, {"ceremony": task.get("ceremony"), "trustee": number, "polls": done})
    click.echo(f"wrote {output}: upload it on the trustees' page")


@trustee_group.command("open")
@click.argument("task_path", metavar="TASK", type=click.Path(dir_okay=False))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The trustee key file your browser saved at the ceremony.",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def open_command(task_path: str, key_path: str, output: str) -> None:
    """Your decryption shares of every contest's last shuffle, with a proof each."""
    task = _read_json("trustee open", task_path, "task file")
    keys = _read_json("trustee open", key_path, "key file")
    try:
        number = int(keys["number"])
        secret = scalar_from_hex(str(keys["secret"]))
    except (GroupError, KeyError, TypeError, ValueError) as error:
        _fail("trustee open", f"the key file has no decryption key: {error}", 2)
    if keys.get("ceremony") != task.get("ceremony"):
        _fail("trustee open", "the key file is another ceremony's", 2)
    if keys.get("public") and (G * secret).hex() != keys["public"]:
        _fail("trustee open", "the key file's secret is not its public key's", 2)
    done = []
    for entry in _polls("trustee open", task):
        rows = _rows("trustee open", entry)
        opening = poll.open_rows(secret, number, rows, str(entry["label"]))
        done.append({"poll": entry["poll"], "opening": opening.to_json()})
        click.echo(f"poll {entry['poll']}: {len(rows)} rows opened with proofs")
    _write(output, {"ceremony": task.get("ceremony"), "trustee": number, "polls": done})
    click.echo(f"wrote {output}: upload it on the trustees' page")
