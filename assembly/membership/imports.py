"""Roster imports: compare a roster with the members the institution has, then apply the
difference in one transaction.

``plan_import`` only reads: it matches each row to a person (same source and external id; or,
across sources, the same email address and — when both have one — date of birth), checks
eligibility and opt-outs, applies constituency precedence, and finds leavers. ``apply_plan``
writes the whole difference with bulk statements (a hundred thousand rows in seconds), records
the import run, one audit event, and one welcome notice per new member. It never commits.

Rules:

- The same source and external id is always the same person. Across sources, a single person
  with the same normalised email (and the same date of birth when both rows have one) is the
  same person; anything else that looks like a match is a *conflict*, reported, never guessed.
- A person belongs to one constituency of an institution: the one with the lowest precedence
  number among the sources that list them. A move ends one membership and starts another.
- A person missing from a full snapshot leaves (their membership ends on the import date),
  unless another source of the institution still lists them, in which case they move there.
- Someone under the constituency's minimum age, or outside its postcode districts, is reported
  as ineligible and not enrolled. Someone who opted out is never re-enrolled by an import.
- Invalid rows (a bad email, a formula, a duplicate external id …) refuse the whole import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.clock import utcnow
from assembly.errors import RosterError
from assembly.extensions import db
from assembly.membership.models import (
    Constituency,
    ImportRun,
    ImportStatus,
    Membership,
    Person,
    RosterSource,
    SourceRecord,
)
from assembly.membership.rosters import RosterRow, RowProblem
from assembly.notices.models import OutboxMessage

__all__ = ["ImportPlan", "apply_plan", "plan_import", "record_run"]

SAMPLE_SIZE = 20
#: Rows per IN (...) query: well under SQLite's limit of bound parameters.
CHUNK = 900

PERSON_FIELDS = ("given_name", "family_name", "email", "date_of_birth", "postcode")


def _chunks(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: Rows per bulk statement: bounds the memory that parameter lists take.
BATCH = 5_000


def _bulk(connection: Any, statement: Any, params: Iterable[dict[str, object]]) -> list[int]:
    """Execute ``statement`` for every parameter set, ``BATCH`` at a time.

    Returns the ids the statement returns (for ``INSERT … RETURNING id``), in order.
    """
    ids: list[int] = []
    batch: list[dict[str, object]] = []

    def flush() -> None:
        result = connection.execute(statement, batch)
        if result.returns_rows:
            ids.extend(row[0] for row in result)
        batch.clear()

    for item in params:
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ids


def _insert(
    connection: Any, table: Any, rows: Iterable[dict[str, object]], *, returning_ids: bool = False
) -> list[int]:
    """Insert many rows; return their new ids (in order) if asked.

    On PostgreSQL this is ``COPY … FROM STDIN`` with ids taken from the table's sequence in
    one query (a hundred thousand rows in well under a second); elsewhere it is batched
    ``INSERT … RETURNING``. Either way it runs in the caller's transaction.
    """
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if returning_ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
        return _bulk(connection, statement, rows)
    batch = list(rows)
    if not batch:
        return []
    ids: list[int] = []
    if returning_ids:
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        ids = list(
            connection.execute(
                text("SELECT nextval(:sequence) FROM generate_series(1, :n)"),
                {"sequence": sequence, "n": len(batch)},
            ).scalars()
        )
        for row, new_id in zip(batch, ids, strict=True):
            row["id"] = new_id
    columns = list(batch[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in batch:
            copy.write_row([row[c] for c in columns])
    return ids


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass
class ImportPlan:
    """The difference between a roster and the institution's members, and what is wrong."""

    source: RosterSource
    mode: str
    effective_on: date
    rows_total: int
    #: Rows that make a new person.
    new_people: list[RosterRow] = field(default_factory=list)
    #: (row, person id): rows newly tied to an existing person of another source.
    links: list[tuple[RosterRow, int]] = field(default_factory=list)
    #: (person id, new field values) for people whose details changed.
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    #: Person ids (or rows, for new people) who start a membership in this constituency.
    joins: list[int] = field(default_factory=list)
    #: (membership id, person id): current memberships in another constituency to end and
    #: restart here (this constituency has precedence).
    moves: list[tuple[int, int]] = field(default_factory=list)
    #: (membership id, person id, constituency id to move to or None): people who leave.
    leaves: list[tuple[int, int, int | None]] = field(default_factory=list)
    #: Source records to mark present again, and absent (leavers).
    present_again: list[int] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)
    unchanged: int = 0
    #: Rows for people held in a constituency with higher precedence: recorded, not moved.
    held_elsewhere: int = 0
    invalid: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)
    samples: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    @property
    def is_refused(self) -> bool:
        return bool(self.invalid)

    @property
    def has_changes(self) -> bool:
        return bool(
            self.new_people
            or self.links
            or self.updates
            or self.joins
            or self.moves
            or self.leaves
            or self.present_again
            or self.absent
        )

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows_total,
            "new": len(self.new_people) + len(self.joins),
            "changed": len(self.updates) + len(self.moves),
            "leaving": len(self.leaves),
            "unchanged": self.unchanged,
            "held_elsewhere": self.held_elsewhere,
            "skipped": len(self.skipped),
            "rejected": len(self.invalid),
        }

    def skip(self, row: RosterRow, reason: str) -> None:
        """Report a row that is not applied (ineligible, conflict, opted out)."""
        self.skipped.append(RowProblem(row.line, row.external_id, reason))
        self._sample("skipped", row, reason=reason)

    def _sample(self, kind: str, row: RosterRow | None, **extra: object) -> None:
        bucket = self.samples.setdefault(kind, [])
        if len(bucket) < SAMPLE_SIZE:
            item: dict[str, object] = {}
            if row is not None:
                item = {
                    "line": row.line,
                    "external_id": row.external_id,
                    "name": f"{row.given_name} {row.family_name}",
                }
            item.update(extra)
            bucket.append(item)


def _person_values(row: RosterRow) -> dict[str, object]:
    return {
        "given_name": row.given_name,
        "family_name": row.family_name,
        "email": row.email,
        "date_of_birth": row.date_of_birth,
        "postcode": row.postcode,
    }


def _eligibility(
    row: RosterRow, constituency: Constituency, districts: frozenset[str], day: date
) -> str | None:
    if (
        constituency.minimum_age
        and row.date_of_birth is not None
        and _age_on(row.date_of_birth, day) < constituency.minimum_age
    ):
        return f"under {constituency.minimum_age}, the minimum age for {constituency.name}"
    if districts:
        if row.postcode_district is None:
            return f"no postcode: {constituency.name} is for residents of its area"
        if row.postcode_district not in districts:
            return f"postcode district {row.postcode_district} is outside the area"
    return None


def eligibility_problem(row: RosterRow, constituency: Constituency, day: date) -> str | None:
    """Return why ``row`` may not join ``constituency`` on ``day`` (age, area), or None."""
    return _eligibility(row, constituency, _districts(constituency), day)


def _districts(constituency: Constituency) -> frozenset[str]:
    """The postcode districts a constituency is limited to (empty: anywhere)."""
    return frozenset(constituency.postcode_districts.upper().replace(",", " ").split())


def plan_import(
    source: RosterSource,
    rows: Sequence[RosterRow | RowProblem],
    *,
    mode: str,
    effective_on: date,
    leaving_ids: Iterable[str] = (),
) -> ImportPlan:
    """Work out what importing ``rows`` into ``source`` would change. Reads only.

    :param mode: ``snapshot`` (absent people leave) or ``delta`` (only ``leaving_ids`` leave).
    :param leaving_ids: for a delta, the external ids of people who left.
    """
    if mode not in {"snapshot", "delta"}:
        raise RosterError("The import mode must be snapshot or delta.")
    plan = ImportPlan(source, mode, effective_on, rows_total=len(rows))
    plan.invalid = [r for r in rows if isinstance(r, RowProblem)]
    valid = [r for r in rows if isinstance(r, RosterRow)]
    if plan.invalid:
        for problem in plan.invalid[:SAMPLE_SIZE]:
            plan.samples.setdefault("rejected", []).append(
                {"line": problem.line, "external_id": problem.external_id, "reason": problem.reason}
            )
        return plan

    institution_id = source.institution_id
    constituencies = {
        c.id: c
        for c in db.session.scalars(
            select(Constituency).where(Constituency.institution_id == institution_id)
        )
    }
    constituency = constituencies[source.constituency_id]
    districts = _districts(constituency)

    # What this source already knows: external id → (record id, person id, present).
    known = {
        external_id: (record_id, person_id, present)
        for record_id, external_id, person_id, present in db.session.execute(
            select(
                SourceRecord.id,
                SourceRecord.external_id,
                SourceRecord.person_id,
                SourceRecord.is_present,
            ).where(SourceRecord.source_id == source.id)
        )
    }
    # Everyone with a membership of the institution: current membership, and opt-outs.
    current: dict[int, tuple[int, int]] = {}
    opted_out: set[int] = set()
    for membership_id, person_id, constituency_id, left_on, opted_out_on in db.session.execute(
        select(
            Membership.id,
            Membership.person_id,
            Membership.constituency_id,
            Membership.left_on,
            Membership.opted_out_on,
        )
        .where(Membership.institution_id == institution_id)
        .order_by(Membership.id)
    ):
        if left_on is None:
            current[person_id] = (membership_id, constituency_id)
        if opted_out_on is not None:
            opted_out.add(person_id)
        elif left_on is None:
            opted_out.discard(person_id)  # opted back in: a newer, current membership

    people: dict[int, tuple[object, ...]] = {}
    known_ids = [person_id for _, person_id, _ in known.values()]
    for chunk in _chunks(known_ids):
        for pid, *stored in db.session.execute(
            select(
                Person.id,
                Person.given_name,
                Person.family_name,
                Person.email,
                Person.date_of_birth,
                Person.postcode,
            ).where(Person.id.in_(chunk))
        ):
            people[pid] = tuple(stored)

    # Rows this source has not seen: look for the same person by email in other sources.
    unseen_emails = sorted({r.email for r in valid if r.external_id not in known and r.email})
    by_email: dict[str, list[tuple[int, date | None]]] = {}
    for chunk in _chunks(unseen_emails):
        for pid, email, born in db.session.execute(
            select(Person.id, Person.email, Person.date_of_birth).where(Person.email.in_(chunk))
        ):
            by_email.setdefault(str(email), []).append((pid, born))
    # People this source already lists (under some external id): a second id is a conflict.
    listed_here = {person_id for _, person_id, _ in known.values()}

    seen_persons: set[int] = set()
    for row in valid:
        reason = _eligibility(row, constituency, districts, effective_on)
        if reason is not None:
            plan.skip(row, f"ineligible: {reason}")
            continue
        record = known.get(row.external_id)
        if record is not None:
            record_id, person_id, present = record
            if not present:
                plan.present_again.append(record_id)
            wanted = _person_values(row)
            if people.get(person_id) != tuple(wanted[f] for f in PERSON_FIELDS):
                plan.updates.append((person_id, wanted))
                plan._sample("changed", row)
        else:
            matches = by_email.get(row.email or "", [])
            conflict = None
            if len(matches) > 1:
                conflict = f"{len(matches)} people already have the email {row.email}"
            elif (
                matches
                and matches[0][1]
                and row.date_of_birth
                and (matches[0][1] != row.date_of_birth)
            ):
                conflict = f"{row.email} belongs to someone with another date of birth"
            elif matches and matches[0][0] in listed_here:
                conflict = f"{row.email} is already listed in this source under another id"
            if conflict is not None:
                plan.skip(row, f"conflict: {conflict}")
                continue
            if matches:
                person_id = matches[0][0]
                plan.links.append((row, person_id))
            else:
                person_id = -1
        if person_id in seen_persons:
            plan.skip(row, "conflict: the same person is on two rows")
            continue
        if person_id >= 0:
            seen_persons.add(person_id)
        if person_id in opted_out:
            plan.skip(row, "opted out: not enrolled again")
            continue
        if person_id < 0:
            plan.new_people.append(row)
            plan._sample("new", row)
            continue
        membership = current.get(person_id)
        if membership is None:
            plan.joins.append(person_id)
            plan._sample("new", row)
        elif membership[1] == constituency.id:
            if not (plan.updates and plan.updates[-1][0] == person_id):
                plan.unchanged += 1
                plan._sample("unchanged", row)
        elif constituencies[membership[1]].precedence > constituency.precedence:
            plan.moves.append((membership[0], person_id))
            plan._sample("changed", row, reason=f"moves from {constituencies[membership[1]].name}")
        else:
            plan.held_elsewhere += 1
            plan._sample(
                "held_elsewhere", row, reason=f"stays in {constituencies[membership[1]].name}"
            )

    _plan_leavers(plan, known, current, constituency, valid, leaving_ids)
    return plan


def _plan_leavers(
    plan: ImportPlan,
    known: dict[str, tuple[int, int, bool]],
    current: dict[int, tuple[int, int]],
    constituency: Constituency,
    valid: list[RosterRow],
    leaving_ids: Iterable[str],
) -> None:
    if plan.mode == "snapshot":
        listed = {row.external_id for row in valid}
        gone = [(eid, rec) for eid, rec in known.items() if eid not in listed and rec[2]]
    else:
        gone = [(eid, known[eid]) for eid in leaving_ids if eid in known and known[eid][2]]
    if not gone:
        return
    gone_people = [person_id for _, (_, person_id, _) in gone]
    # Where else is each leaver still listed? They move to the best such constituency.
    elsewhere: dict[int, int] = {}
    for chunk in _chunks(gone_people):
        for person_id, constituency_id, precedence in db.session.execute(
            select(SourceRecord.person_id, RosterSource.constituency_id, Constituency.precedence)
            .join(RosterSource, SourceRecord.source_id == RosterSource.id)
            .join(Constituency, RosterSource.constituency_id == Constituency.id)
            .where(
                SourceRecord.person_id.in_(chunk),
                SourceRecord.is_present.is_(True),
                RosterSource.institution_id == plan.source.institution_id,
                RosterSource.id != plan.source.id,
            )
        ):
            best = elsewhere.get(person_id)
            if best is None or precedence < best:
                elsewhere[person_id] = constituency_id
    for external_id, (record_id, person_id, _) in gone:
        plan.absent.append(record_id)
        membership = current.get(person_id)
        if membership is None or membership[1] != constituency.id:
            continue
        plan.leaves.append((membership[0], person_id, elsewhere.get(person_id)))
        plan._sample(
            "leaving",
            None,
            external_id=external_id,
            reason="moves to another constituency" if person_id in elsewhere else "membership ends",
        )


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


def apply_plan(
    actor: Actor,
    plan: ImportPlan,
    *,
    run: ImportRun | None = None,
    file_name: str = "",
    file_sha256: str = "",
    idempotency_key: str | None = None,
) -> ImportRun:
    """Write the plan in the caller's transaction and record the run (or complete ``run``,
    a previewed one).

    :raises RosterError: the plan has invalid rows; nothing is written.
    """
    source = plan.source
    if plan.is_refused:
        raise RosterError(
            f"{len(plan.invalid)} row(s) cannot be imported, so nothing was imported. "
            f"First: line {plan.invalid[0].line}: {plan.invalid[0].reason}"
        )
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
    if not plan.has_changes:
        return run  # the same roster again: nothing to do, nothing to announce

    day = plan.effective_on
    connection = db.session.connection()
    people_table = Person.__table__
    now = utcnow()
    new_ids = _insert(
        connection,
        people_table,
        ({**_person_values(r), "created_at": now} for r in plan.new_people),
        returning_ids=True,
    )
    records_table = SourceRecord.__table__
    _insert(
        connection,
        records_table,
        (
            {
                "source_id": source.id,
                "external_id": r.external_id,
                "person_id": pid,
                "is_present": True,
            }
            for r, pid in [*zip(plan.new_people, new_ids, strict=True), *plan.links]
        ),
    )
    _bulk(
        connection,
        update(people_table)
        .where(people_table.c.id == bindparam("person_id"))
        .values({f: bindparam(f) for f in PERSON_FIELDS}),
        ({"person_id": pid, **values} for pid, values in plan.updates),
    )
    for ids, present in ((plan.present_again, True), (plan.absent, False)):
        _bulk(
            connection,
            update(records_table)
            .where(records_table.c.id == bindparam("rid"))
            .values(is_present=present),
            ({"rid": rid} for rid in ids),
        )
    memberships_table = Membership.__table__
    ended = [m for m, _ in plan.moves] + [m for m, _, _ in plan.leaves]
    _bulk(
        connection,
        update(memberships_table)
        .where(memberships_table.c.id == bindparam("mid"))
        .values(left_on=day),
        ({"mid": mid} for mid in ended),
    )
    starts = [(pid, source.constituency_id, source.key) for pid in [*new_ids, *plan.joins]]
    starts += [(pid, source.constituency_id, source.key) for _, pid in plan.moves]
    starts += [(pid, to, "moved") for _, pid, to in plan.leaves if to is not None]
    welcome_count = len(new_ids) + len(plan.joins)
    membership_ids = _insert(
        connection,
        memberships_table,
        (
            {
                "institution_id": source.institution_id,
                "person_id": pid,
                "constituency_id": cid,
                "joined_on": day,
                "left_on": None,
                "opted_out_on": None,
                "source": key,
            }
            for pid, cid, key in starts
        ),
        returning_ids=True,
    )
    _queue_welcomes(plan, new_ids, membership_ids[:welcome_count])
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
    return run


def _queue_welcomes(plan: ImportPlan, new_ids: list[int], membership_ids: list[int]) -> None:
    """One welcome notice per new member with an email address (rendered at delivery)."""
    emails = {pid: row.email for row, pid in zip(plan.new_people, new_ids, strict=True)}
    if plan.joins:
        for chunk in _chunks(plan.joins):
            for person_id, email in db.session.execute(
                select(Person.id, Person.email).where(Person.id.in_(chunk))
            ):
                emails[person_id] = email
    person_ids = [*new_ids, *plan.joins]
    now = utcnow()
    messages: Iterable[dict[str, object]] = (
        {
            "institution_id": plan.source.institution_id,
            "kind": "welcome",
            "to_address": emails[pid],
            "subject": "",
            "body_text": "",
            "body_html": "",
            "template": "welcome",
            "context": json.dumps({"membership_id": mid}),
            "status": "queued",
            "attempts": 0,
            "message_id": "",
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        for pid, mid in zip(person_ids, membership_ids, strict=True)
        if emails.get(pid)
    )
    _insert(db.session.connection(), OutboxMessage.__table__, messages)
