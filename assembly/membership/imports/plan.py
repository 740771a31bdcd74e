"""The import plan: what a roster changes (or changed), counted, with samples and the problem
rows; and ``RosterRefused``, which carries the plan of a roster with invalid rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from assembly.errors import RosterError
from assembly.membership.imports.rows import RosterRow, RowProblem
from assembly.membership.models import RosterSource

__all__ = ["PROBLEM_LIMIT", "SAMPLE_SIZE", "ImportPlan", "RosterRefused"]

#: Rows of each kind kept as samples for the run's page.
SAMPLE_SIZE = 20
#: Problem rows kept for the run's page and download (the counts cover them all).
PROBLEM_LIMIT = 50_000


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
        self.sample("skipped", row, reason=reason)

    def sample(self, kind: str, row: RosterRow | None, **extra: object) -> None:
        """Keep ``row`` as an example of ``kind`` (new, changed …) if there are few so far."""
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
