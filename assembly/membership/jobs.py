"""Roster uploads checked and applied in the background, with their progress on disk.

A hundred thousand rows take seconds and a million a minute: longer than a request should
wait (and than gunicorn lets a sync worker be silent). So an upload is kept, recorded as an
import run, and checked in a thread; confirming it applies it in a thread. The thread writes
its progress to a small file beside the kept upload, which any worker process can read, and
the run's page refreshes itself until the work is done.

If the process dies half way (a deploy, a crash), the transaction is lost — nothing was
changed — and the run's progress file stops moving: after ``STALE_AFTER`` the page says the
import stopped and asks for the file again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from assembly import background
from assembly.auth.models import User
from assembly.clock import utcnow
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.imports import RosterFileError, RosterRefused
from assembly.membership.models import ImportRun
from assembly.membership.operations import (
    apply_roster,
    check_roster,
    fail_run,
    refuse_run,
    upload_path,
)
from assembly.redact import failure

#: Every background job, roster imports and trustees' uploads alike (``assembly.background``).
wait_for_jobs = background.wait_for_jobs

__all__ = [
    "STALE_AFTER",
    "Progress",
    "read_progress",
    "start_apply",
    "start_check",
    "wait_for_jobs",
]

log = logging.getLogger(__name__)

#: Seconds without progress after which a running import is taken to have stopped.
STALE_AFTER = 600
UNEXPECTED = "An unexpected error stopped the import. Nothing was changed. Upload the file again."


def _progress_path(upload_dir: str, run_id: int) -> str:
    return os.path.join(upload_dir, f"{run_id}.progress")


class Progress:
    """Writes how far a run has got, atomically, for the run's page to read."""

    def __init__(self, upload_dir: str, run_id: int, phase: str, total: int) -> None:
        self.path = _progress_path(upload_dir, run_id)
        self.phase, self.total = phase, total
        self(0)

    def __call__(self, line: int) -> None:
        temporary = f"{self.path}.{threading.get_ident()}"
        with open(temporary, "w") as handle:
            json.dump({"phase": self.phase, "line": line, "total": self.total}, handle)
        os.replace(temporary, self.path)

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.path)


@dataclass(frozen=True)
class RunProgress:
    phase: str
    line: int
    total: int
    #: True when nothing has moved for ``STALE_AFTER`` seconds: the work has stopped.
    stalled: bool

    @property
    def percent(self) -> int:
        return min(99, 100 * self.line // max(self.total, 1))


def read_progress(upload_dir: str, run: ImportRun) -> RunProgress | None:
    """How far a checking or applying run has got (None for a run that is not running)."""
    if not run.status.is_running:
        return None
    path = _progress_path(upload_dir, run.id)
    try:
        with open(path) as handle:
            values = json.load(handle)
        age = time.time() - os.path.getmtime(path)
    except (OSError, ValueError):
        # The file is written before the work starts and removed only after the run's new
        # status is committed: a missing file means the run has just finished (this request
        # read the status before that commit) — unless the run is old, left by a server that
        # stopped and lost it.
        age = (utcnow() - run.created_at).total_seconds()
        return RunProgress(
            run.status.value, run.lines_total, run.lines_total, stalled=age > STALE_AFTER
        )
    return RunProgress(
        values.get("phase", run.status.value),
        int(values.get("line", 0)),
        int(values.get("total", run.lines_total)),
        stalled=age > STALE_AFTER,
    )


def _start(work: Callable[[], None]) -> None:
    background.start(work, "roster-import")


def _forget_upload(upload_dir: str, run_id: int) -> None:
    with contextlib.suppress(OSError):
        os.remove(upload_path(upload_dir, run_id))


def _fail(run_id: int, reason: str, upload_dir: str) -> None:
    db.session.rollback()
    run = db.session.get(ImportRun, run_id)
    if run is not None and run.status.is_running:
        fail_run(run, reason)
        db.session.commit()
    _forget_upload(upload_dir, run_id)


def start_check(run: ImportRun, user_id: int, upload_dir: str) -> None:
    """Check a received upload in the background (the run must be committed first)."""
    run_id = run.id
    progress = Progress(upload_dir, run_id, "checking", run.lines_total)

    def work() -> None:
        try:
            job_run = db.session.get(ImportRun, run_id)
            actor = db.session.get(User, user_id)
            assert job_run is not None and actor is not None
            plan = check_roster(actor, job_run, upload_dir=upload_dir, progress=progress)
            db.session.commit()
            if plan.is_refused:
                _forget_upload(upload_dir, run_id)
        except (DomainError, RosterFileError) as error:
            _fail(run_id, getattr(error, "message", None) or str(error), upload_dir)
        except Exception as error:
            log.error("checking roster upload %s failed: %s", run_id, failure(error))
            _fail(run_id, UNEXPECTED, upload_dir)
        finally:
            progress.clear()

    _start(work)


def start_apply(run: ImportRun, user_id: int, upload_dir: str) -> None:
    """Apply a confirmed upload in the background (the run must be committed first)."""
    run_id = run.id
    progress = Progress(upload_dir, run_id, "applying", run.lines_total)

    def work() -> None:
        try:
            job_run = db.session.get(ImportRun, run_id)
            actor = db.session.get(User, user_id)
            assert job_run is not None and actor is not None
            try:
                apply_roster(actor, job_run, upload_dir=upload_dir, progress=progress)
            except RosterRefused as refused:
                db.session.rollback()
                job_run = db.session.get(ImportRun, run_id)
                assert job_run is not None
                refuse_run(actor, job_run, refused.plan)
            db.session.commit()
            _forget_upload(upload_dir, run_id)
        except (DomainError, RosterFileError) as error:
            _fail(run_id, getattr(error, "message", None) or str(error), upload_dir)
        except Exception as error:
            log.error("applying roster upload %s failed: %s", run_id, failure(error))
            _fail(run_id, UNEXPECTED, upload_dir)
        finally:
            progress.clear()

    _start(work)
