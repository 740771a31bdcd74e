"""Importing a roster a chunk at a time: ``plan_import`` (the preview), ``apply_import`` (the
import) and ``record_run`` (the import run that records either).

Each chunk of rows goes through the steps in turn: rows that refuse the import are rejected
(``duplicates``), ineligible ones skipped (``eligibility``), the rest looked up (``lookups``)
and matched (``matching``); at the end, the leavers are found (``leavers``). When applying,
each step's changes are written at once (``writing``), in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import func, select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.clock import utcnow
from assembly.errors import RosterError
from assembly.extensions import db
from assembly.membership.imports.changes import Changes
from assembly.membership.imports.duplicates import unique_rows
from assembly.membership.imports.eligibility import districts_of, eligibility_reason
from assembly.membership.imports.leavers import find_leavers
from assembly.membership.imports.lookups import look_up
from assembly.membership.imports.matching import plan_rows
from assembly.membership.imports.plan import ImportPlan, RosterRefused
from assembly.membership.imports.rows import RosterRow, RowProblem
from assembly.membership.imports.scratch import clear_scratch, prepare_scratch
from assembly.membership.imports.writing import lock_for_writing, write_changes
from assembly.membership.models import Constituency, ImportRun, ImportStatus, Person, RosterSource

__all__ = ["PG_READ_CHUNK", "READ_CHUNK", "apply_import", "plan_import", "record_run"]

#: Rows read, planned and written together: what memory holds at once.
READ_CHUNK = 5_000
#: On PostgreSQL each chunk costs a few round trips more (arrays, COPY): larger chunks.
PG_READ_CHUNK = 20_000


class _Importer:
    """Reads a roster a chunk at a time, plans each chunk and (to apply) writes it at once.

    A chunk is planned against the database as it was before the import: people the import
    itself makes are never matched by email, and a person met twice is a conflict whichever
    way they were met. So the plan of a preview and the changes of an import are the same.
    """

    def __init__(self, source: RosterSource, mode: str, effective_on: date, *, write: bool):
        if mode not in {"snapshot", "delta"}:
            raise RosterError("The import mode must be snapshot or delta.")
        self.plan = ImportPlan(source, mode, effective_on)
        self.write = write
        self.source = source
        self.constituencies = {
            c.id: c
            for c in db.session.scalars(
                select(Constituency).where(Constituency.institution_id == source.institution_id)
            )
        }
        self.constituency = self.constituencies[source.constituency_id]
        self.districts = districts_of(self.constituency)
        self.connection = db.session.connection()
        self.chunk_size = (
            PG_READ_CHUNK if self.connection.dialect.name == "postgresql" else READ_CHUNK
        )
        #: People made by this import have larger ids: they are not matched by email.
        self.person_cutoff = int(db.session.scalar(select(func.max(Person.id))) or 0)
        #: External ids seen twice whose first line has been reported.
        self.duplicates: set[str] = set()
        prepare_scratch(self.connection)
        if write:
            lock_for_writing(self.connection, source)

    def run(
        self,
        rows: Iterable[RosterRow | RowProblem],
        leaving_ids: Iterable[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> ImportPlan:
        chunk: list[RosterRow | RowProblem] = []
        for item in rows:
            chunk.append(item)
            if len(chunk) >= self.chunk_size:
                self._chunk(chunk)
                if progress is not None:
                    progress(chunk[-1].line)
                chunk = []
        if chunk:
            self._chunk(chunk)
            if progress is not None:
                progress(chunk[-1].line)
        if not self.plan.is_refused:
            for changes in find_leavers(
                self.plan,
                self.constituency,
                self.connection,
                leaving_ids,
                batch_size=READ_CHUNK,
            ):
                self._apply(changes)
        self.plan.invalid.sort(key=lambda problem: problem.line)
        clear_scratch(self.connection)
        return self.plan

    def _chunk(self, items: list[RosterRow | RowProblem]) -> None:
        plan = self.plan
        rows = unique_rows(plan, self.connection, items, self.duplicates)
        if plan.is_refused:
            return  # nothing will be applied: only the problems are still of interest
        eligible: list[RosterRow] = []
        for row in rows:
            reason = eligibility_reason(row, self.constituency, self.districts, plan.effective_on)
            if reason is None:
                eligible.append(row)
            else:
                plan.skip(row, f"ineligible: {reason}")
        if not eligible:
            return
        lookups = look_up(
            self.connection,
            self.source.id,
            self.source.institution_id,
            self.person_cutoff,
            eligible,
        )
        self._apply(
            plan_rows(
                plan, self.constituency, self.constituencies, self.connection, eligible, lookups
            )
        )

    def _apply(self, changes: Changes) -> None:
        """Count ``changes`` and, when applying, write them."""
        self.plan.writes += changes.size()
        if self.write:
            write_changes(self.connection, self.source, self.plan.effective_on, changes)


def plan_import(
    source: RosterSource,
    rows: Iterable[RosterRow | RowProblem],
    *,
    mode: str,
    effective_on: date,
    leaving_ids: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Work out what importing ``rows`` into ``source`` would change. Changes nothing.

    :param mode: ``snapshot`` (absent people leave) or ``delta`` (only ``leaving_ids`` leave).
    :param leaving_ids: for a delta, the external ids of people who left.
    :param progress: told the line reached after each chunk of rows.
    """
    return _Importer(source, mode, effective_on, write=False).run(rows, leaving_ids, progress)


def record_run(
    actor: Actor,
    plan: ImportPlan,
    status: ImportStatus,
    *,
    run: ImportRun | None = None,
    file_name: str = "",
    file_sha256: str = "",
    idempotency_key: str | None = None,
) -> ImportRun:
    """Make (or refresh) the import run that records ``plan``: its counts, samples, problems."""
    if run is None:
        run = ImportRun(
            source_id=plan.source.id,
            file_name=file_name,
            file_sha256=file_sha256,
            idempotency_key=idempotency_key,
            effective_on=plan.effective_on,
        )
        db.session.add(run)
    run.mode = plan.mode
    run.status = status
    run.actor_label = actor_label(actor)
    run.rows_total = plan.rows_total
    run.counts = json.dumps(plan.counts())
    run.samples = json.dumps(plan.samples)
    run.effective_on = plan.effective_on
    run.problems = json.dumps(
        [
            {"line": p.line, "external_id": p.external_id, "reason": p.reason}
            for p in (plan.invalid + plan.skipped)
        ]
    )
    db.session.flush()
    return run


def apply_import(
    actor: Actor,
    source: RosterSource,
    rows: Iterable[RosterRow | RowProblem],
    *,
    mode: str,
    effective_on: date,
    leaving_ids: Iterable[str] = (),
    run: ImportRun | None = None,
    file_name: str = "",
    file_sha256: str = "",
    idempotency_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportPlan, ImportRun]:
    """Import ``rows`` into ``source`` in the caller's transaction, a chunk at a time, and
    record the run (or complete ``run``, a previewed one) and one audit event.

    :raises RosterRefused: some rows are invalid. Chunks before the first invalid row may
        have been written: the caller rolls the transaction back (views and commands do).
    """
    plan = _Importer(source, mode, effective_on, write=True).run(rows, leaving_ids, progress)
    if plan.is_refused:
        raise RosterRefused(plan)
    run = record_run(
        actor,
        plan,
        ImportStatus.applied,
        run=run,
        file_name=file_name,
        file_sha256=file_sha256,
        idempotency_key=idempotency_key,
    )
    run.applied_at = utcnow()
    if plan.has_changes:  # the same roster again changes nothing and announces nothing
        record_event(
            actor,
            "roster.imported",
            institution=source.institution,
            subject=run,
            data={
                "source": source.key,
                "mode": plan.mode,
                "file_sha256": file_sha256,
                "counts": plan.counts(),
            },
        )
    return plan, run
