"""Matching a chunk's rows to people, and what changes for each of them.

- The same source and external id is always the same person. Across sources, a single person
  with the same normalised email (and the same date of birth when both rows have one) is the
  same person; anything else that looks like a match is a *conflict*, reported, never guessed.
  So is a person met on two rows, and a second external id for a person this source lists.
- A person matched gets the roster's details (*changed* if they differ).
- A person belongs to one constituency of an institution: the one with the lowest precedence
  number among the sources that list them. A row for someone held in a constituency with a
  higher number *moves* them here; one for someone held in a lower number leaves them there
  (*held elsewhere*).
- Someone who opted out is never re-enrolled by an import.
"""

from __future__ import annotations

from typing import Any

from assembly.bulk import bulk_insert
from assembly.membership.imports.changes import PERSON_FIELDS, Changes, person_values
from assembly.membership.imports.lookups import ChunkLookups
from assembly.membership.imports.plan import ImportPlan
from assembly.membership.imports.rows import RosterRow
from assembly.membership.imports.scratch import seen_people
from assembly.membership.models import Constituency

__all__ = ["plan_rows"]


def plan_rows(
    plan: ImportPlan,
    constituency: Constituency,
    constituencies: dict[int, Constituency],
    connection: Any,
    rows: list[RosterRow],
    lookups: ChunkLookups,
) -> Changes:
    """Decide who each of a chunk's eligible ``rows`` is and what changes for them; count it.

    The people matched are remembered (``scratch.seen_people``), so a later chunk's row for
    one of them is a conflict.

    :param constituencies: the institution's constituencies by id, for precedence.
    """
    known, people, by_email = lookups.known, lookups.people, lookups.by_email
    seen_before, listed_here = lookups.seen_before, lookups.listed_here
    current, opted_out = lookups.current, lookups.opted_out
    changes = Changes()
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
            wanted = person_values(row)
            if people.get(record[1]) != tuple(wanted[f] for f in PERSON_FIELDS):
                changes.updates.append((record[1], wanted))
                plan.changed += 1
                plan.sample("changed", row)
                updated = True
        elif person_id is not None:
            changes.links.append((row, person_id))
        if person_id is None:
            changes.new_people.append(row)
            plan.new += 1
            plan.sample("new", row)
            continue
        if person_id in opted_out:
            plan.skip(row, "opted out: not enrolled again")
            continue
        membership = current.get(person_id)
        if membership is None:
            changes.joins.append(person_id)
            plan.new += 1
            plan.sample("new", row)
        elif membership[1] == constituency.id:
            if not updated:
                plan.unchanged += 1
                plan.sample("unchanged", row)
        elif constituencies[membership[1]].precedence > constituency.precedence:
            changes.moves.append((membership[0], person_id))
            plan.changed += 1
            plan.sample("changed", row, reason=f"moves from {constituencies[membership[1]].name}")
        else:
            plan.held_elsewhere += 1
            plan.sample(
                "held_elsewhere", row, reason=f"stays in {constituencies[membership[1]].name}"
            )
    bulk_insert(connection, seen_people, ({"person_id": pid} for pid in seen))
    return changes
