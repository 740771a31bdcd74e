"""Importing rosters as a secretary: a file at once (``import_roster``, the command line), or
an upload kept, checked in the background, confirmed and applied as an import run.

The import itself (matching, precedence, leavers, writing) is ``membership.imports``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from datetime import date
from typing import BinaryIO

from assembly.auth.actors import Actor, actor_label
from assembly.auth.permissions import can_manage
from assembly.clock import today
from assembly.errors import InvalidTransition, NotEligible, RosterError
from assembly.extensions import db
from assembly.membership.imports import (
    ImportPlan,
    RosterFile,
    RosterReader,
    RosterRefused,
    apply_import,
    open_roster,
    plan_import,
    record_run,
)
from assembly.membership.models import ImportRun, ImportStatus, RosterSource

__all__ = [
    "apply_roster",
    "check_roster",
    "confirm_roster",
    "fail_run",
    "import_roster",
    "receive_roster",
    "refuse_run",
    "upload_path",
]


def _open(actor: Actor, source: RosterSource, handle: BinaryIO) -> tuple[RosterReader, RosterFile]:
    """Check the actor may import; open the file and read its header with the source's mapping.

    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all (size, encoding, header).
    """
    if not can_manage(actor, source.institution):
        raise NotEligible("Only the institution's secretary can import rosters.")
    opened = open_roster(handle)
    return RosterReader(opened.text, json.loads(source.column_mapping or "{}")), opened


def import_roster(
    actor: Actor,
    source: RosterSource,
    roster: BinaryIO | bytes,
    *,
    mode: str = "snapshot",
    file_name: str = "",
    effective_on: date | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportPlan, ImportRun | None]:
    """Read a roster file a chunk at a time and apply it (or, ``dry_run``, only plan it).

    :param progress: told the line reached after each chunk.
    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all (encoding, size, header).
    :raises RosterRefused: rows are invalid (the plan lists them); roll back.
    """
    handle = io.BytesIO(roster) if isinstance(roster, bytes) else roster
    reader, opened = _open(actor, source, handle)
    day = effective_on or today()
    try:
        if dry_run:
            plan = plan_import(source, reader, mode=mode, effective_on=day, progress=progress)
            if plan.is_refused:
                raise RosterRefused(plan)
            return plan, None
        return apply_import(
            actor,
            source,
            reader,
            mode=mode,
            effective_on=day,
            file_name=file_name,
            file_sha256=opened.sha256,
            progress=progress,
        )
    finally:
        opened.text.detach()  # the caller owns the file


def upload_path(upload_dir: str, run_id: int) -> str:
    """Where an uploaded roster is kept between its preview and its confirmation."""
    return os.path.join(upload_dir, f"{run_id}.csv")


def receive_roster(
    actor: Actor,
    source: RosterSource,
    handle: BinaryIO,
    *,
    mode: str,
    file_name: str,
    upload_dir: str,
    effective_on: date | None = None,
) -> ImportRun:
    """Keep an uploaded roster to be checked (``check_roster``); change no member.

    The file itself and its header are checked now, so an unusable file is refused at once.

    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all.
    """
    if mode not in {"snapshot", "delta"}:
        raise RosterError("The import mode must be snapshot or delta.")
    _, opened = _open(actor, source, handle)
    opened.text.detach()
    run = ImportRun(
        source_id=source.id,
        mode=mode,
        status=ImportStatus.checking,
        actor_label=actor_label(actor),
        file_name=file_name,
        file_sha256=opened.sha256,
        effective_on=effective_on or today(),
        lines_total=opened.lines,
    )
    db.session.add(run)
    db.session.flush()
    os.makedirs(upload_dir, exist_ok=True)
    handle.seek(0)
    with open(upload_path(upload_dir, run.id), "wb") as kept:
        shutil.copyfileobj(handle, kept, 1 << 20)
    return run


def _kept(actor: Actor, run: ImportRun, upload_dir: str) -> tuple[RosterReader, RosterFile]:
    try:
        handle = open(upload_path(upload_dir, run.id), "rb")  # noqa: SIM115 (closed by caller)
    except OSError:
        raise RosterError("The uploaded file is no longer kept. Upload it again.") from None
    return _open(actor, run.source, handle)


def check_roster(
    actor: Actor,
    run: ImportRun,
    *,
    upload_dir: str,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Plan a kept upload: the run becomes a preview waiting for confirmation, or refused.

    :raises InvalidTransition: the run is not waiting to be checked.
    """
    if run.status != ImportStatus.checking:
        raise InvalidTransition("This upload has already been checked.")
    reader, opened = _kept(actor, run, upload_dir)
    try:
        plan = plan_import(
            run.source, reader, mode=run.mode, effective_on=run.effective_on, progress=progress
        )
    finally:
        opened.text.close()
    record_run(
        actor, plan, ImportStatus.refused if plan.is_refused else ImportStatus.previewed, run=run
    )
    return plan


def confirm_roster(actor: Actor, run: ImportRun) -> None:
    """Confirm a previewed upload: it is applied next (``apply_roster``).

    :raises NotEligible: the actor is not the institution's secretary.
    :raises InvalidTransition: the run is not a preview waiting for confirmation.
    """
    if not can_manage(actor, run.source.institution):
        raise NotEligible("Only the institution's secretary can import rosters.")
    if run.status != ImportStatus.previewed:
        raise InvalidTransition("This import has already been applied or refused.")
    run.status = ImportStatus.applying
    db.session.flush()


def apply_roster(
    actor: Actor,
    run: ImportRun,
    *,
    upload_dir: str,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Apply a confirmed upload, planned afresh against the members as they are now.

    :raises InvalidTransition: the run was not confirmed.
    :raises RosterError: the kept file is gone.
    :raises RosterRefused: its rows no longer import (roll back, then ``refuse_run``).
    """
    if run.status != ImportStatus.applying:
        raise InvalidTransition("This import was not confirmed.")
    reader, opened = _kept(actor, run, upload_dir)
    try:
        plan, _ = apply_import(
            actor,
            run.source,
            reader,
            mode=run.mode,
            effective_on=run.effective_on,
            run=run,
            progress=progress,
        )
    finally:
        opened.text.close()
    return plan


def refuse_run(actor: Actor, run: ImportRun, plan: ImportPlan) -> None:
    """Record that a confirmed upload was refused when applied (after the rollback)."""
    record_run(actor, plan, ImportStatus.refused, run=run)


def fail_run(run: ImportRun, reason: str) -> None:
    """Record that an import stopped before it finished; nothing of it was applied."""
    run.status = ImportStatus.failed
    run.error = reason[:2000]
    db.session.flush()
