"""``assembly verify``, ``assembly record sign`` and ``assembly keys generate``: the commands
that need no app, no database and no settings.

Anyone runs ``verify`` on a published record. The returning officer runs ``keys generate`` on
their own machine before the poll opens (and registers the ``.pub`` file on the election's
page), then ``record sign`` on the counted record: their private key never reaches the server.

Exit codes: 0 when all is well; 1 when a check fails or a command refuses (a wrong key, a file
it will not overwrite); 2 when an input cannot be read. The ``keys`` and ``record`` groups are
shared: the application adds its own (database-bound) subcommands to them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from assembly.records.record import ROLES, body_sha256, signature_file
from assembly.records.schema import validate_record
from assembly.records.signing import (
    RECORD,
    KeyProblem,
    fingerprint,
    generate_private_key,
    group_fingerprint,
    load_private_key,
    private_key_pem,
    public_key_text,
    verify_signature,
)
from assembly.records.verify import Report, Step, read_json, verify_record

__all__ = ["keys_group", "record_group", "verify_command"]

#: Where ``keys generate`` and ``record sign`` read the passphrase from, if set (otherwise
#: they ask for it, without echoing it).
PASSPHRASE_VARIABLE = "ASSEMBLY_RO_PASSPHRASE"  # noqa: S105 — a variable name, not a secret
MIN_PASSPHRASE = 12
_FINGERPRINT = re.compile(r"[0-9a-f]{64}\Z")
_F = TypeVar("_F", bound=Callable[..., Any])
#: Every path the commands take names a file.
_FILE = click.Path(dir_okay=False)


def _file_option(
    name: str, dest: str, metavar: str, help: str, required: bool = False
) -> Callable[[_F], _F]:
    """An option naming a file: ``--name PATH``, passed to the command as ``dest``."""
    return click.option(name, dest, metavar=metavar, required=required, type=_FILE, help=help)


#: The record a command reads, its first argument.
_record_argument = click.argument("record_path", metavar="RECORD", type=_FILE)


def _fail(command: str, message: str, code: int) -> NoReturn:
    click.echo(f"assembly {command}: {message}", err=True)
    sys.exit(code)


def _read_json(command: str, path: str, what: str) -> Any:
    """The JSON in ``path``, read as bytes (``json`` decodes UTF-8 itself; ``read_json``
    pauses the garbage collector, which matters for a large record); a file that cannot be
    read or is not JSON ends the command with exit code 2."""
    try:
        with open(path, "rb") as file:
            return read_json(file)
    except OSError as error:
        _fail(command, f"cannot read the {what} {path}: {error.strerror or error}", 2)
    except (ValueError, RecursionError) as error:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        _fail(command, f"the {what} {path} is not JSON: {error}", 2)


def _read_json_if_given(command: str, path: str | None, what: str) -> Any:
    """The JSON in ``path`` (``_read_json``), or None when no path was given."""
    return _read_json(command, path, what) if path else None


def _passphrase(prompt: str, confirm: bool = False) -> str:
    """The passphrase from ``ASSEMBLY_RO_PASSPHRASE`` if it is set, else asked for without
    echoing it (twice, when ``confirm``)."""
    passphrase = os.environ.get(PASSPHRASE_VARIABLE)
    if passphrase is None:
        passphrase = click.prompt(
            prompt, hide_input=True, confirmation_prompt=confirm, default="", show_default=False
        )
    return passphrase


# -- assembly verify -----------------------------------------------------------------------------


def _print_step(step: Step) -> None:
    verdict = "PASS" if step.passed else "FAIL"
    click.echo(f"{step.number}. {verdict} {step.name}")
    for line in step.details:
        click.echo(f"     {line}")


def _summary(report: Report) -> str:
    failed = [str(step.number) for step in report.steps if not step.passed]
    if not failed:
        return f"All {len(report.steps)} steps passed."
    return f"FAILED: step(s) {', '.join(failed)} of {len(report.steps)}."


@click.command("verify")
@_record_argument
@_file_option(
    "--signature",
    "signature_path",
    "SIG",
    "The returning officer's detached signature file (assembly record sign).",
)
@_file_option(
    "--receipt",
    "receipt_path",
    "RECEIPT",
    "A voter's receipt: check it is signed and its ballot is in the record.",
)
@click.option("--tracker", metavar="T", help="A ballot's tracker to look up.")
@_file_option(
    "--roll-proof",
    "roll_proof_path",
    "PROOF",
    "A member's roll proof (from the record page): check they were on the roll.",
)
@click.option(
    "--fingerprint",
    "fingerprints",
    metavar="FP",
    multiple=True,
    help="The election key's fingerprint, as the institution published it. Repeat the "
    "option with the returning officer's to check that key too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(
    record_path: str,
    signature_path: str | None,
    receipt_path: str | None,
    tracker: str | None,
    roll_proof_path: str | None,
    fingerprints: tuple[str, ...],
    as_json: bool,
) -> None:
    """Verify an election record offline: schema, hashes, signatures, ballots, roll and a
    full recount. Exit status 0 only when every step passes."""
    given = [re.sub(r"[\s:]", "", f).lower() for f in fingerprints]
    for value, original in zip(given, fingerprints, strict=True):
        if not _FINGERPRINT.match(value):
            _fail(
                "verify",
                f"--fingerprint must be 64 hex digits (spaces allowed), not {original!r}",
                2,
            )
    record = _read_json("verify", record_path, "record")
    signature = _read_json_if_given("verify", signature_path, "signature file")
    receipt = _read_json_if_given("verify", receipt_path, "receipt")
    roll_proof = _read_json_if_given("verify", roll_proof_path, "roll proof")
    report = verify_record(
        record,
        signature=signature,
        receipt=receipt,
        tracker=tracker,
        fingerprints=given,
        roll_proof=roll_proof,
        on_step=None if as_json else _print_step,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_summary(report))
    sys.exit(0 if report.ok else 1)


# -- assembly keys generate ----------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """Keys: the returning officer's own signing key (generate) and the deployment's
    election keys (list, rotate)."""


def _new_passphrase() -> str:
    passphrase = _passphrase("Passphrase for the new key", confirm=True)
    if len(passphrase) < MIN_PASSPHRASE:
        _fail(
            "keys generate",
            f"the passphrase must have at least {MIN_PASSPHRASE} characters: it is all that "
            "protects the key if the file is copied",
            1,
        )
    return passphrase


@keys_group.command("generate")
@_file_option(
    "--out",
    "out",
    "KEYFILE",
    "Where to write the encrypted private key; the public key goes to KEYFILE.pub.",
    required=True,
)
def generate_command(out: str) -> None:
    """Make the returning officer's Ed25519 key pair, on your own machine."""
    key_path, public_path = Path(out), Path(out + ".pub")
    for path in (key_path, public_path):
        if path.exists():
            _fail(
                "keys generate", f"{path} exists: it is never overwritten (choose another --out)", 1
            )
    passphrase = _new_passphrase()
    key = generate_private_key()
    public = public_key_text(key)
    try:
        # Created here, readable by its owner only; O_EXCL: never over a file made meanwhile.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(private_key_pem(key, passphrase))
        with open(public_path, "x", encoding="ascii") as file:
            file.write(public + "\n")
    except OSError as error:
        _fail("keys generate", f"cannot write the key: {error}", 2)
    click.echo(f"Wrote the encrypted private key to {key_path} (readable by you only).")
    click.echo(f"Wrote the public key to {public_path}.")
    click.echo(f"Fingerprint: {group_fingerprint(fingerprint(public))}")
    click.echo(
        f"Register {public_path} on the election's page before the poll opens, and keep "
        f"{key_path} and its passphrase to yourself: you sign the record with them."
    )


# -- assembly record sign ------------------------------------------------------------------------


@click.group("record")
def record_group() -> None:
    """Election records: the returning officer's countersignature."""


def _signable(record: Any) -> tuple[str, dict[str, Any]]:
    """The record's body hash and the returning officer's key entry, once the record is
    checked: its schema, its body hash and the election key's signature."""
    problems = validate_record(record, limit=3)
    if problems:
        _fail("record sign", "this is not a record of format 1: " + "; ".join(problems), 1)
    digest = body_sha256(record["body"])
    if digest != record["body_sha256"]:
        _fail(
            "record sign",
            f"the record's body hashes to {digest}, not its body_sha256 {record['body_sha256']}: "
            "it was changed; do not sign it",
            1,
        )
    election = record["body"]["keys"]["election"]
    signed = [
        s
        for s in record["signatures"]
        if s["role"] == ROLES[0]
        and verify_signature(election["public_key"], s["signature"], RECORD, digest)
    ]
    if not signed:
        _fail(
            "record sign",
            "the record has no valid election signature: download it again from the "
            "election's record page",
            1,
        )
    officer: dict[str, Any] = record["body"]["keys"]["returning_officer"]
    return digest, officer


@record_group.command("sign")
@_record_argument
@_file_option(
    "--key",
    "key_path",
    "KEYFILE",
    "Your encrypted private key (assembly keys generate).",
    required=True,
)
@_file_option("--out", "out", "SIG", "Where to write the detached signature.", required=True)
@click.option("--force", is_flag=True, help="Replace SIG if it exists.")
def sign_command(record_path: str, key_path: str, out: str, force: bool) -> None:
    """Countersign a counted record as its returning officer: write the detached signature
    to upload on the election's record page."""
    if Path(out).exists() and not force:
        _fail("record sign", f"{out} exists: give --force to replace it", 1)
    record = _read_json("record sign", record_path, "record")
    digest, officer = _signable(record)
    try:
        pem = Path(key_path).read_bytes()
    except OSError as error:
        _fail("record sign", f"cannot read the key {key_path}: {error.strerror or error}", 2)
    passphrase = _passphrase("Passphrase of your key")
    try:
        key = load_private_key(pem, passphrase)
    except KeyProblem as error:
        _fail("record sign", str(error), 1)
    mine = fingerprint(public_key_text(key))
    if mine != officer["fingerprint"]:
        _fail(
            "record sign",
            f"this key (fingerprint {group_fingerprint(mine)}) is not the returning officer's "
            f"key the record names ({group_fingerprint(officer['fingerprint'])}): sign with the "
            "key whose .pub file you registered",
            1,
        )
    document = signature_file("returning_officer", digest, key)
    try:
        with open(out, "w" if force else "x", encoding="utf-8") as file:
            file.write(json.dumps(document, indent=1) + "\n")
    except OSError as error:
        _fail("record sign", f"cannot write {out}: {error.strerror or error}", 2)
    click.echo(f"Signed the record's body {digest} as its returning officer.")
    click.echo(f"Wrote {out}: upload it on the election's record page.")
