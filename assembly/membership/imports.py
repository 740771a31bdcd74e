"""Roster imports: compare a roster with the members the institution has, then apply the
difference in one transaction.

A roster is read five thousand rows at a time, so memory stays flat however long it is. Each
chunk is matched to people (same source and external id; or, across sources, the same email
address and — when both have one — date of birth), checked for eligibility and opt-outs,
placed by constituency precedence, and — when applying — written at once with bulk
statements; leavers are found at the end. ``plan_import`` changes nothing (the preview);
``apply_import`` writes, records the import run, one audit event, and one welcome notice per
new member. It never commits: a roster with any invalid row is refused as a whole and the
caller rolls back.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    select,
    text,
    update,
)

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.bulk import bulk_insert, bulk_statement
from assembly.clock import age_on, utcnow
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
from assembly.notices.operations import queue_bulk_notices

__all__ = [
    "ImportPlan",
    "RosterRefused",
    "apply_import",
    "bulk_insert",
    "eligibility_problem",
    "plan_import",
    "record_run",
]

SAMPLE_SIZE = 20
#: Problem rows kept for the run's page and download (the counts cover them all).
PROBLEM_LIMIT = 50_000
#: Rows read, planned and written together: what memory holds at once.
READ_CHUNK = 5_000
#: On PostgreSQL each chunk costs a few round trips more (arrays, COPY): larger chunks.
PG_READ_CHUNK = 20_000
#: Rows per IN (...) query: well under SQLite's limit of bound parameters.
CHUNK = 900

PERSON_FIELDS = ("given_name", "family_name", "email", "date_of_birth", "postcode")


def _chunks(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class ImportPlan:
    """What a roster changes (or changed), counted, with samples and the problem rows.

    Only counts, the first rows of each kind and the problem rows are kept: a plan of a
    million rows takes as little memory as one of a thousand.
    """

    source: RosterSource
    mode: str
    effective_on: date
    rows_total: int = 0
    new: int = 0
    changed: int = 0
    leaving: int = 0
    unchanged: int = 0
    #: Rows for people held in a constituency with higher precedence: recorded, not moved.
    held_elsewhere: int = 0
    #: Rows to write (people, source records, memberships): none for the same roster again.
    writes: int = 0
    invalid: list[RowProblem] = field(default_factory=list)
    invalid_total: int = 0
    skipped: list[RowProblem] = field(default_factory=list)
    skipped_total: int = 0
    samples: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    @property
    def is_refused(self) -> bool:
        return self.invalid_total > 0

    @property
    def has_changes(self) -> bool:
        return self.writes > 0

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows_total,
            "new": self.new,
            "changed": self.changed,
            "leaving": self.leaving,
            "unchanged": self.unchanged,
            "held_elsewhere": self.held_elsewhere,
            "skipped": self.skipped_total,
            "rejected": self.invalid_total,
        }

    def reject(self, problem: RowProblem) -> None:
        """Report a row that cannot be imported: the whole import is refused."""
        self.invalid_total += 1
        if len(self.invalid) < PROBLEM_LIMIT:
            self.invalid.append(problem)
        bucket = self.samples.setdefault("rejected", [])
        if len(bucket) < SAMPLE_SIZE:
            bucket.append(
                {"line": problem.line, "external_id": problem.external_id, "reason": problem.reason}
            )

    def skip(self, row: RosterRow, reason: str) -> None:
        """Report a row that is not applied (ineligible, conflict, opted out)."""
        self.skipped_total += 1
        if len(self.skipped) < PROBLEM_LIMIT:
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


class RosterRefused(RosterError):
    """Rows of the roster are invalid, so none of it may be applied.

    Raised after writing has begun: the caller's transaction must be rolled back.
    """

    status = 422

    def __init__(self, plan: ImportPlan) -> None:
        first = plan.invalid[0]
        super().__init__(
            f"{plan.invalid_total:,} row(s) cannot be imported, so nothing was imported. "
            f"First: line {first.line}: {first.reason}"
        )
        self.plan = plan


@dataclass
class _Changes:
    """The writes one chunk of a roster needs (see ``_Importer._write``)."""

    #: Rows that make a new person.
    new_people: list[RosterRow] = field(default_factory=list)
    #: (row, person id): rows newly tied to an existing person of another source.
    links: list[tuple[RosterRow, int]] = field(default_factory=list)
    #: (person id, new field values) for people whose details changed.
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    #: Person ids who start a membership in this constituency.
    joins: list[int] = field(default_factory=list)
    #: (membership id, person id): current memberships in another constituency to end and
    #: restart here (this constituency has precedence).
    moves: list[tuple[int, int]] = field(default_factory=list)
    #: (membership id, person id, constituency id to move to or None): people who leave.
    leaves: list[tuple[int, int, int | None]] = field(default_factory=list)
    #: Source records to mark present again, and absent (leavers).
    present_again: list[int] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)

    def size(self) -> int:
        return (
            len(self.new_people)
            + len(self.links)
            + len(self.updates)
            + len(self.joins)
            + len(self.moves)
            + len(self.leaves)
            + len(self.present_again)
            + len(self.absent)
        )


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
        and age_on(row.date_of_birth, day) < constituency.minimum_age
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


# Scratch tables, private to the database connection, that remember what the roster has
# listed so far: duplicate external ids and people listed twice are found, and a snapshot's
# leavers computed, without holding a million ids in memory.
_scratch = MetaData()
_seen_ids = Table(
    "roster_import_ids",
    _scratch,
    Column("external_id", String(100), primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_seen_people = Table(
    "roster_import_people",
    _scratch,
    Column("person_id", Integer, primary_key=True),
    prefixes=["TEMPORARY"],
)
#: The rows of the chunk being planned, joined with the members' tables to look them up.
_chunk_rows = Table(
    "roster_import_chunk",
    _scratch,
    Column("external_id", String(100), primary_key=True),
    Column("email", String(254)),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def _prepare_scratch(connection: Any) -> None:
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_ids "
            "(external_id VARCHAR(100) PRIMARY KEY, line INTEGER NOT NULL)"
        )
    )
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_people "
            "(person_id INTEGER PRIMARY KEY)"
        )
    )
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS roster_import_chunk "
            "(external_id VARCHAR(100) PRIMARY KEY, email VARCHAR(254), line INTEGER NOT NULL)"
        )
    )
    for table in (_seen_ids, _seen_people, _chunk_rows):
        connection.execute(table.delete())


# The chunk's lookups. Joins are written as CROSS JOIN with the conditions in WHERE, which
# PostgreSQL plans freely and SQLite never reorders: it must start from the chunk (five
# thousand rows) and look each row up by index, never scan a million-row table per chunk (it
# has no statistics to know better). A unary + keeps SQLite off an unhelpful index.
_EARLIER_IDS = text(
    "SELECT c.external_id, i.line FROM roster_import_chunk AS c "
    "CROSS JOIN roster_import_ids AS i WHERE i.external_id = c.external_id"
)
_REMEMBER_IDS = text(
    "INSERT INTO roster_import_ids (external_id, line) "
    "SELECT c.external_id, c.line FROM roster_import_chunk AS c WHERE NOT EXISTS "
    "(SELECT 1 FROM roster_import_ids AS i WHERE i.external_id = c.external_id)"
)
_KNOWN = text(
    "SELECT r.external_id, r.id, r.person_id, r.is_present, s.person_id IS NOT NULL, "
    "p.given_name, p.family_name, p.email, p.date_of_birth, p.postcode "
    "FROM roster_import_chunk AS c CROSS JOIN source_records AS r CROSS JOIN people AS p "
    "LEFT JOIN roster_import_people AS s ON s.person_id = r.person_id "
    "WHERE r.source_id = :source AND r.external_id = c.external_id AND p.id = r.person_id"
).columns(
    column("external_id", String),
    column("id", Integer),
    column("person_id", Integer),
    column("is_present", Boolean),
    column("seen", Boolean),
    column("given_name", String),
    column("family_name", String),
    column("email", String),
    column("date_of_birth", Date),
    column("postcode", String),
)
#: Distinct emails of the chunk's rows that the source does not know.
_UNSEEN_EMAILS = (
    "SELECT DISTINCT c.email FROM roster_import_chunk AS c WHERE c.email IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM source_records AS r "
    "WHERE r.source_id = :source AND r.external_id = c.external_id)"
)
# Only constant text is joined into these two (values are bound): hence the noqa.
_BY_EMAIL = text(
    "SELECT p.id, p.email, p.date_of_birth, s.person_id IS NOT NULL, "  # noqa: S608
    "EXISTS (SELECT 1 FROM source_records AS l WHERE l.person_id = p.id "
    "AND l.source_id = :source) "
    f"FROM ({_UNSEEN_EMAILS}) AS e CROSS JOIN people AS p "
    "LEFT JOIN roster_import_people AS s ON s.person_id = p.id "
    "WHERE p.email = e.email AND +p.id <= :cutoff"
).columns(
    column("id", Integer),
    column("email", String),
    column("date_of_birth", Date),
    column("seen", Boolean),
    column("listed", Boolean),
)
_MEMBERSHIPS = text(
    "SELECT m.id, m.person_id, m.constituency_id, m.left_on, m.opted_out_on FROM ("  # noqa: S608
    "SELECT r.person_id FROM roster_import_chunk AS c CROSS JOIN source_records AS r "
    "WHERE r.source_id = :source AND r.external_id = c.external_id "
    "UNION SELECT p.id FROM "
    f"({_UNSEEN_EMAILS}) AS e CROSS JOIN people AS p WHERE p.email = e.email "
    "AND +p.id <= :cutoff"
    ") AS x CROSS JOIN memberships AS m "
    "WHERE m.person_id = x.person_id AND +m.institution_id = :institution ORDER BY m.id"
).columns(
    column("id", Integer),
    column("person_id", Integer),
    column("constituency_id", Integer),
    column("left_on", Date),
    column("opted_out_on", Date),
)


_PG_EARLIER_IDS = text(
    "SELECT external_id, line FROM roster_import_ids WHERE external_id = ANY(:ids)"
)
_PG_KNOWN = text(
    "SELECT r.external_id, r.id, r.person_id, r.is_present, s.person_id IS NOT NULL, "
    "p.given_name, p.family_name, p.email, p.date_of_birth, p.postcode "
    "FROM source_records AS r JOIN people AS p ON p.id = r.person_id "
    "LEFT JOIN roster_import_people AS s ON s.person_id = r.person_id "
    "WHERE r.source_id = :source AND r.external_id = ANY(:ids)"
).columns(*_KNOWN.selected_columns)
_PG_BY_EMAIL = text(
    "SELECT p.id, p.email, p.date_of_birth, s.person_id IS NOT NULL, "
    "EXISTS (SELECT 1 FROM source_records AS l WHERE l.person_id = p.id "
    "AND l.source_id = :source) "
    "FROM people AS p LEFT JOIN roster_import_people AS s ON s.person_id = p.id "
    "WHERE p.email = ANY(:emails) AND p.id <= :cutoff"
).columns(*_BY_EMAIL.selected_columns)
_PG_MEMBERSHIPS = text(
    "SELECT m.id, m.person_id, m.constituency_id, m.left_on, m.opted_out_on "
    "FROM memberships AS m WHERE m.person_id = ANY(:people) "
    # + 0: by the person's index, never the institution's (a million rows, stale statistics).
    "AND m.institution_id + 0 = :institution ORDER BY m.id"
).columns(*_MEMBERSHIPS.selected_columns)


def _lock_for_writing(connection: Any, source: RosterSource) -> None:
    """Take the database's write lock now, for the whole import (SQLite takes it at the first
    write): the plan then reads what no other writer can change until the commit, and new
    rows can be numbered safely. On PostgreSQL this locks the source's row: two imports of one
    source run one after the other."""
    table = RosterSource.__table__
    connection.execute(update(table).where(table.c.id == source.id).values(id=table.c.id))


def _in_chunks(query: Callable[[Sequence[Any]], Iterable[Any]], keys: Iterable[Any]) -> list[Any]:
    """Run ``query`` for ``keys`` a few hundred at a time; return every row."""
    found: list[Any] = []
    for chunk in _chunks(list(keys)):
        found.extend(query(chunk))
    return found


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
        self.districts = _districts(self.constituency)
        self.connection = db.session.connection()
        self.chunk_size = (
            PG_READ_CHUNK if self.connection.dialect.name == "postgresql" else READ_CHUNK
        )
        #: People made by this import have larger ids: they are not matched by email.
        self.person_cutoff = int(db.session.scalar(select(func.max(Person.id))) or 0)
        #: External ids seen twice whose first line has been reported.
        self.duplicates: set[str] = set()
        _prepare_scratch(self.connection)
        if write:
            _lock_for_writing(self.connection, source)

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
            self._leavers(leaving_ids)
        self.plan.invalid.sort(key=lambda problem: problem.line)
        for table in (_seen_ids, _seen_people, _chunk_rows):
            self.connection.execute(table.delete())
        return self.plan

    # -- rows -------------------------------------------------------------------------------

    def _unique(self, items: list[RosterRow | RowProblem]) -> list[RosterRow]:
        """Reject invalid rows and repeated external ids; put the rest in the chunk table."""
        plan, connection = self.plan, self.connection
        first_lines: dict[str, int] = {}
        rows: list[RosterRow] = []
        repeated: list[tuple[RosterRow, int]] = []
        for item in items:
            plan.rows_total += 1
            if isinstance(item, RowProblem):
                plan.reject(item)
            elif item.external_id in first_lines:
                repeated.append((item, first_lines[item.external_id]))
            else:
                first_lines[item.external_id] = item.line
                rows.append(item)
        if connection.dialect.name == "postgresql":
            # The chunk's ids as an array, looked up by index (see ``_lookups``).
            earlier = {
                key: line
                for key, line in connection.execute(
                    _PG_EARLIER_IDS, {"ids": [row.external_id for row in rows]}
                )
            }
            bulk_insert(
                connection,
                _seen_ids,
                (
                    {"external_id": row.external_id, "line": row.line}
                    for row in rows
                    if row.external_id not in earlier
                ),
            )
        else:
            connection.execute(_chunk_rows.delete())
            bulk_insert(
                connection,
                _chunk_rows,
                ({"external_id": r.external_id, "email": r.email, "line": r.line} for r in rows),
            )
            # Ids an earlier chunk listed; then remember this chunk's.
            earlier = {key: line for key, line in connection.execute(_EARLIER_IDS)}
            connection.execute(_REMEMBER_IDS)
        repeated += [(row, earlier[row.external_id]) for row in rows if row.external_id in earlier]
        for row, first in sorted(repeated, key=lambda pair: pair[0].line):
            key = row.external_id
            if key not in self.duplicates:
                self.duplicates.add(key)
                plan.reject(RowProblem(first, key, _twice(key, row.line)))
            plan.reject(RowProblem(row.line, key, _twice(key, first)))
        return [row for row in rows if row.external_id not in self.duplicates]

    def _chunk(self, items: list[RosterRow | RowProblem]) -> None:
        rows = self._unique(items)
        plan = self.plan
        if plan.is_refused:
            return  # nothing will be applied: only the problems are still of interest
        eligible: list[RosterRow] = []
        for row in rows:
            reason = _eligibility(row, self.constituency, self.districts, plan.effective_on)
            if reason is None:
                eligible.append(row)
            else:
                plan.skip(row, f"ineligible: {reason}")
        if not eligible:
            return
        lookups = self._lookups(eligible)
        changes = self._plan_rows(eligible, *lookups)
        self.plan.writes += changes.size()
        if self.write:
            self._write(changes)

    def _lookups(self, rows: list[RosterRow]) -> tuple[Any, ...]:
        """Everything the database knows that the chunk's rows touch, in three queries per
        five thousand rows.

        SQLite joins the chunk table in a fixed order. PostgreSQL is given the chunk's keys as
        arrays (``= ANY``), which it always looks up by index: joined with the chunk table it
        plans from the statistics of tables this very import is filling, stale until it
        commits, and hashes whole tables.
        """
        connection = self.connection
        postgresql = connection.dialect.name == "postgresql"
        values: dict[str, object] = {
            "source": self.source.id,
            "institution": self.source.institution_id,
            "cutoff": self.person_cutoff,
        }
        if postgresql:
            values["ids"] = [row.external_id for row in rows]
        # What this source already knows: external id → (record id, person id, present),
        # and the person's details as stored.
        known: dict[str, tuple[int, int, bool]] = {}
        stored: dict[int, tuple[object, ...]] = {}
        seen_before: set[int] = set()
        for external_id, record_id, person_id, present, was_seen, *details in connection.execute(
            _PG_KNOWN if postgresql else _KNOWN, values
        ):
            known[external_id] = (record_id, person_id, bool(present))
            stored[person_id] = tuple(details)
            if was_seen:
                seen_before.add(person_id)
        # Rows this source has not seen: the same person by email, made before this import;
        # and whether this source already lists them under another id.
        by_email: dict[str, list[tuple[int, date | None]]] = {}
        listed_here: set[int] = set()
        if postgresql:
            values["emails"] = sorted(
                {row.email for row in rows if row.email and row.external_id not in known}
            )
        for person_id, email, born, was_seen, listed in connection.execute(
            _PG_BY_EMAIL if postgresql else _BY_EMAIL, values
        ):
            by_email.setdefault(str(email), []).append((person_id, born))
            if was_seen:
                seen_before.add(person_id)
            if listed:
                listed_here.add(person_id)
        # Their memberships of the institution: the current one, and whether they opted out.
        current: dict[int, tuple[int, int]] = {}
        opted_out: set[int] = set()
        if postgresql:
            values["people"] = sorted(
                {pid for _, pid, _ in known.values()}
                | {pid for found in by_email.values() for pid, _ in found}
            )
        for membership_id, person_id, constituency_id, left_on, opted_out_on in connection.execute(
            _PG_MEMBERSHIPS if postgresql else _MEMBERSHIPS, values
        ):
            if left_on is None:
                current[person_id] = (membership_id, constituency_id)
            if opted_out_on is not None:
                opted_out.add(person_id)
            elif left_on is None:
                opted_out.discard(person_id)  # opted back in: a newer, current membership
        return known, stored, by_email, seen_before, listed_here, current, opted_out

    def _plan_rows(
        self,
        rows: list[RosterRow],
        known: dict[str, tuple[int, int, bool]],
        people: dict[int, tuple[object, ...]],
        by_email: dict[str, list[tuple[int, date | None]]],
        seen_before: set[int],
        listed_here: set[int],
        current: dict[int, tuple[int, int]],
        opted_out: set[int],
    ) -> _Changes:
        plan, constituency, constituencies = self.plan, self.constituency, self.constituencies
        changes = _Changes()
        seen: set[int] = set()
        for row in rows:
            record = known.get(row.external_id)
            person_id: int | None
            if record is not None:
                record_id, person_id, present = record
            else:
                matches = by_email.get(row.email or "", [])
                conflict = None
                if len(matches) > 1:
                    conflict = f"{len(matches)} people already have the email {row.email}"
                elif (
                    matches
                    and matches[0][1]
                    and row.date_of_birth
                    and row.date_of_birth != matches[0][1]
                ):
                    conflict = f"{row.email} belongs to someone with another date of birth"
                if conflict is not None:
                    plan.skip(row, f"conflict: {conflict}")
                    continue
                person_id = matches[0][0] if matches else None
            if person_id is not None:
                if person_id in seen or person_id in seen_before:
                    plan.skip(row, "conflict: the same person is on two rows")
                    continue
                if record is None and person_id in listed_here:
                    plan.skip(
                        row,
                        f"conflict: {row.email} is already listed in this source under another id",
                    )
                    continue
                seen.add(person_id)
            updated = False
            if record is not None:
                if not present:
                    changes.present_again.append(record_id)
                wanted = _person_values(row)
                if people.get(record[1]) != tuple(wanted[f] for f in PERSON_FIELDS):
                    changes.updates.append((record[1], wanted))
                    plan.changed += 1
                    plan._sample("changed", row)
                    updated = True
            elif person_id is not None:
                changes.links.append((row, person_id))
            if person_id is None:
                changes.new_people.append(row)
                plan.new += 1
                plan._sample("new", row)
                continue
            if person_id in opted_out:
                plan.skip(row, "opted out: not enrolled again")
                continue
            membership = current.get(person_id)
            if membership is None:
                changes.joins.append(person_id)
                plan.new += 1
                plan._sample("new", row)
            elif membership[1] == constituency.id:
                if not updated:
                    plan.unchanged += 1
                    plan._sample("unchanged", row)
            elif constituencies[membership[1]].precedence > constituency.precedence:
                changes.moves.append((membership[0], person_id))
                plan.changed += 1
                plan._sample(
                    "changed", row, reason=f"moves from {constituencies[membership[1]].name}"
                )
            else:
                plan.held_elsewhere += 1
                plan._sample(
                    "held_elsewhere", row, reason=f"stays in {constituencies[membership[1]].name}"
                )
        bulk_insert(self.connection, _seen_people, ({"person_id": pid} for pid in seen))
        return changes

    # -- leavers ----------------------------------------------------------------------------

    def _leavers(self, leaving_ids: Iterable[str]) -> None:
        """Find who leaves (absent from a snapshot, or named by a delta), in batches."""
        source = self.source
        records = SourceRecord.__table__
        if self.plan.mode == "snapshot":
            if self.connection.dialect.name == "postgresql":
                # The ids the roster listed: statistics, so that the anti-join probes them.
                self.connection.execute(text("ANALYZE roster_import_ids"))
            after = 0
            while True:
                batch = db.session.execute(
                    select(records.c.id, records.c.external_id, records.c.person_id)
                    .where(
                        # Walk the records in id order from where the last batch ended (the
                        # unary + keeps SQLite from scanning the whole source per batch).
                        literal_column("+source_records.source_id") == source.id,
                        records.c.is_present.is_(True),
                        records.c.id > after,
                        ~exists().where(_seen_ids.c.external_id == records.c.external_id),
                    )
                    .order_by(records.c.id)
                    .limit(READ_CHUNK)
                ).all()
                if not batch:
                    return
                after = batch[-1][0]
                self._leave(batch)
        else:
            wanted = sorted(set(leaving_ids))
            for start in range(0, len(wanted), READ_CHUNK):
                self._leave(
                    _in_chunks(
                        lambda keys: db.session.execute(
                            select(records.c.id, records.c.external_id, records.c.person_id).where(
                                records.c.source_id == source.id,
                                records.c.is_present.is_(True),
                                records.c.external_id.in_(keys),
                            )
                        ),
                        wanted[start : start + READ_CHUNK],
                    )
                )

    def _leave(self, gone: Sequence[Any]) -> None:
        plan, constituency = self.plan, self.constituency
        person_ids = [person_id for _, _, person_id in gone]
        current = {
            person_id: membership_id
            for membership_id, person_id in _in_chunks(
                lambda keys: db.session.execute(
                    select(Membership.id, Membership.person_id).where(
                        Membership.institution_id == plan.source.institution_id,
                        Membership.constituency_id == constituency.id,
                        Membership.left_on.is_(None),
                        Membership.person_id.in_(keys),
                    )
                ),
                person_ids,
            )
        }
        # Where else is each leaver still listed? They move to the best such constituency.
        elsewhere: dict[int, tuple[int, int]] = {}
        for person_id, constituency_id, precedence in _in_chunks(
            lambda keys: db.session.execute(
                select(
                    SourceRecord.person_id, RosterSource.constituency_id, Constituency.precedence
                )
                .join(RosterSource, SourceRecord.source_id == RosterSource.id)
                .join(Constituency, RosterSource.constituency_id == Constituency.id)
                .where(
                    SourceRecord.person_id.in_(keys),
                    SourceRecord.is_present.is_(True),
                    RosterSource.institution_id == plan.source.institution_id,
                    RosterSource.id != plan.source.id,
                )
            ),
            list(current),
        ):
            best = elsewhere.get(person_id)
            if best is None or precedence < best[1]:
                elsewhere[person_id] = (constituency_id, precedence)
        changes = _Changes()
        for record_id, external_id, person_id in gone:
            changes.absent.append(record_id)
            membership_id = current.get(person_id)
            if membership_id is None:
                continue
            moved = elsewhere.get(person_id)
            changes.leaves.append((membership_id, person_id, moved[0] if moved else None))
            plan.leaving += 1
            plan._sample(
                "leaving",
                None,
                external_id=external_id,
                reason="moves to another constituency" if moved else "membership ends",
            )
        self.plan.writes += changes.size()
        if self.write:
            self._write(changes)

    # -- writing ----------------------------------------------------------------------------

    def _write(self, changes: _Changes) -> None:
        """Write one chunk's changes with bulk statements, in the caller's transaction."""
        if not changes.size():
            return
        source, day = self.source, self.plan.effective_on
        connection = self.connection
        people_table = Person.__table__
        now = utcnow()
        new_ids = bulk_insert(
            connection,
            people_table,
            ({**_person_values(r), "created_at": now} for r in changes.new_people),
            returning_ids=True,
        )
        records_table = SourceRecord.__table__
        bulk_insert(
            connection,
            records_table,
            (
                {
                    "source_id": source.id,
                    "external_id": r.external_id,
                    "person_id": pid,
                    "is_present": True,
                }
                for r, pid in [*zip(changes.new_people, new_ids, strict=True), *changes.links]
            ),
        )
        bulk_statement(
            connection,
            update(people_table)
            .where(people_table.c.id == bindparam("person_id"))
            .values({f: bindparam(f) for f in PERSON_FIELDS}),
            ({"person_id": pid, **values} for pid, values in changes.updates),
        )
        for ids, present in ((changes.present_again, True), (changes.absent, False)):
            bulk_statement(
                connection,
                update(records_table)
                .where(records_table.c.id == bindparam("rid"))
                .values(is_present=present),
                ({"rid": rid} for rid in ids),
            )
        memberships_table = Membership.__table__
        ended = [m for m, _ in changes.moves] + [m for m, _, _ in changes.leaves]
        bulk_statement(
            connection,
            update(memberships_table)
            .where(memberships_table.c.id == bindparam("mid"))
            .values(left_on=day),
            ({"mid": mid} for mid in ended),
        )
        starts = [(pid, source.constituency_id, source.key) for pid in [*new_ids, *changes.joins]]
        starts += [(pid, source.constituency_id, source.key) for _, pid in changes.moves]
        starts += [(pid, to, "moved") for _, pid, to in changes.leaves if to is not None]
        welcome_count = len(new_ids) + len(changes.joins)
        membership_ids = bulk_insert(
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
        self._queue_welcomes(changes, new_ids, membership_ids[:welcome_count])

    def _queue_welcomes(
        self, changes: _Changes, new_ids: list[int], membership_ids: list[int]
    ) -> None:
        """One welcome notice per new member with an email address (rendered at delivery)."""
        emails = {pid: row.email for row, pid in zip(changes.new_people, new_ids, strict=True)}
        for person_id, email in _in_chunks(
            lambda keys: db.session.execute(
                select(Person.id, Person.email).where(Person.id.in_(keys))
            ),
            changes.joins,
        ):
            emails[person_id] = email
        queue_bulk_notices(
            "welcome",
            "welcome",
            (
                (self.source.institution_id, emails.get(pid), {"membership_id": mid})
                for pid, mid in zip([*new_ids, *changes.joins], membership_ids, strict=True)
            ),
        )


def _twice(external_id: str, other_line: int) -> str:
    return (
        f"external_id {external_id!r} appears more than once in the file (also line {other_line})"
    )


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
