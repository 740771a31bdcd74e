"""Roster imports: read a roster, compare it with the members the institution has, then apply
the difference in one transaction.

A roster is read five thousand rows at a time, so memory stays flat however long it is. Each
chunk is matched to people (same source and external id; or, across sources, the same email
address and — when both have one — date of birth), checked for eligibility and opt-outs,
placed by constituency precedence, and — when applying — written at once with bulk
statements; leavers are found at the end. ``plan_import`` changes nothing (the preview);
``apply_import`` writes, records the import run, one audit event, and one welcome notice per
new member. It never commits: a roster with any invalid row is refused as a whole and the
caller rolls back.

Rules, and the module that holds each:

- A file larger than 64 MB, not UTF-8 or Windows-1252 text, or whose header lacks a required
  column is refused before any row is read (``reading``).
- Invalid rows (a bad email, a formula, a missing name …) refuse the whole import (``rows``),
  and so does an external id listed twice (``duplicates``).
- Someone under the constituency's minimum age, or outside its postcode districts, is reported
  as ineligible and not enrolled (``eligibility``).
- The same source and external id is always the same person. Across sources, a single person
  with the same normalised email (and the same date of birth when both rows have one) is the
  same person; anything else that looks like a match is a *conflict*, reported, never guessed
  (``matching``).
- A person belongs to one constituency of an institution: the one with the lowest precedence
  number among the sources that list them. A move ends one membership and starts another
  (``matching``). Someone who opted out is never re-enrolled by an import (``matching``).
- A person missing from a full snapshot leaves (their membership ends on the import date),
  unless another source of the institution still lists them, in which case they move there
  (``leavers``).

The steps run in ``importer``; ``plan`` holds what they found, ``lookups`` what they read,
``changes`` and ``writing`` what they write, ``scratch`` what they remember between chunks.
"""

from assembly.membership.imports.eligibility import eligibility_problem
from assembly.membership.imports.importer import apply_import, plan_import, record_run
from assembly.membership.imports.plan import ImportPlan, RosterRefused
from assembly.membership.imports.reading import (
    MAX_BYTES,
    RosterFile,
    RosterFileError,
    RosterReader,
    open_roster,
    parse_csv,
    parse_records,
)
from assembly.membership.imports.rows import FIELDS, RosterRow, RowProblem

__all__ = [
    "FIELDS",
    "MAX_BYTES",
    "ImportPlan",
    "RosterFile",
    "RosterFileError",
    "RosterReader",
    "RosterRefused",
    "RosterRow",
    "RowProblem",
    "apply_import",
    "eligibility_problem",
    "open_roster",
    "parse_csv",
    "parse_records",
    "plan_import",
    "record_run",
]
