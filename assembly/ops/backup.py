"""``assembly backup FILE`` and ``assembly restore FILE``: the whole database, consistently.

SQLite is copied with its online backup API (a consistent snapshot while the service runs;
WAL writers are not stopped). PostgreSQL is dumped with ``pg_dump --format=custom`` and
restored with ``pg_restore --clean``; the client programs are found on ``PATH``, in
``ASSEMBLY_PG_BIN``, or in Debian's ``/usr/lib/postgresql/<version>/bin``.

After a restore the audit chain and every published election and assembly record are checked
again, so a restore that lost or changed anything is reported, not trusted.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from assembly.extensions import db

__all__ = ["BackupError", "backup_command", "restore_command", "verify_everything"]


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why."""


def _sqlite_path() -> Path | None:
    url = make_url(str(db.engine.url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _libpq_url() -> str:
    """The database URL as the PostgreSQL programs take it (no SQLAlchemy driver name)."""
    url = make_url(str(db.engine.url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pg_program(name: str) -> str:
    folder = os.environ.get("ASSEMBLY_PG_BIN")
    candidates = [str(Path(folder) / name)] if folder else []
    found = shutil.which(name)
    if found:
        candidates.append(found)
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(
        f"{name} was not found: install PostgreSQL's client programs, or set ASSEMBLY_PG_BIN "
        "to the folder that holds them"
    )


def _run(arguments: list[str]) -> None:
    # The programs are PostgreSQL's own, found above; the arguments are ours, no shell.
    result = subprocess.run(arguments, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(arguments[0]).name} failed: {detail[-1] if detail else ''}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database page by page with its backup API (consistent while in use)."""
    origin = sqlite3.connect(source)
    try:
        destination = sqlite3.connect(target)
        try:
            origin.backup(destination)
        finally:
            destination.close()
    finally:
        origin.close()


def backup(target: Path) -> None:
    """Write a consistent copy of the whole database to ``target`` (never over a file)."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file")
    source = _sqlite_path()
    partial = target.with_name(target.name + ".partial")
    try:
        if source is not None:
            _sqlite_copy(source, partial)
        else:
            _run(
                [
                    _pg_program("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    str(partial),
                    _libpq_url(),
                ]
            )
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def restore(source: Path) -> None:
    """Replace the whole database with the backup in ``source``."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    db.session.remove()
    db.engine.dispose()
    target = _sqlite_path()
    if target is not None:
        try:
            check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                intact = check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
            finally:
                check.close()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} is not a SQLite backup: {error}") from None
        if not intact or "audit_events" not in tables:
            raise BackupError(f"{source} is not an intact backup of this service's database")
        _sqlite_copy(source, target)
    else:
        _run(
            [
                _pg_program("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                _libpq_url(),
                str(source),
            ]
        )
    db.engine.dispose()


@dataclass(frozen=True)
class Checked:
    what: str
    ok: bool
    detail: str


def verify_everything() -> list[Checked]:
    """The audit chain and every stored election and assembly record, checked again."""
    from assembly.audit.operations import verify_chain
    from assembly.records.operations import list_records, published
    from assembly.records.verify import verify_record

    chain = verify_chain()
    results = [Checked("audit chain", chain.ok, f"{chain.checked:,} event(s)")]
    for row in list_records():
        report = verify_record(published(row))
        results.append(_checked(f"{row.kind} {row.subject_id} record", report))
    return results


def _checked(what: str, report: object) -> Checked:
    steps = report.steps  # type: ignore[attr-defined]
    # A record not yet countersigned fails only step 4, which is the officer's to add.
    failed = [s.number for s in steps if not s.passed]
    pending = failed == [4]
    return Checked(
        what,
        not failed or pending,
        "every step passed"
        if not failed
        else "awaiting the returning officer's countersignature"
        if pending
        else f"FAILED step(s) {', '.join(map(str, failed))}",
    )


def _report(results: list[Checked]) -> bool:
    for result in results:
        click.echo(f"  {'ok ' if result.ok else 'BAD'} {result.what}: {result.detail}")
    return all(r.ok for r in results)


@click.command("backup")
@click.argument("target", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(target: Path) -> None:
    """Write a consistent copy of the whole database to FILE (SQLite online backup, or
    pg_dump's custom format), then check the audit chain and every record it holds."""
    try:
        backup(target)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup: wrote {target} ({target.stat().st_size:,} bytes)")
    if not _report(verify_everything()):
        raise SystemExit(1)


@click.command("restore")
@click.argument(
    "source", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the whole database with the backup in FILE, then check the audit chain and
    every election and assembly record again. Everything written since the backup is lost."""
    if not yes:
        click.confirm(
            f"Replace the whole database with {source}? Everything written since that "
            "backup is lost",
            abort=True,
        )
    try:
        restore(source)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restore: the database is now the backup {source}")
    if not _report(verify_everything()):
        raise SystemExit(1)
