"""Who leaves: people missing from a full snapshot, or named as leavers by a delta.

A leaver's membership ends on the import date, unless another source of the institution still
lists them: then they move to the constituency with the lowest precedence number among those
sources. Their source record is marked absent either way, so a later roster that lists them
again brings them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import exists, literal_column, select, text

from assembly.extensions import db
from assembly.membership.imports.changes import Changes
from assembly.membership.imports.lookups import in_chunks
from assembly.membership.imports.plan import ImportPlan
from assembly.membership.imports.scratch import seen_ids
from assembly.membership.models import Constituency, Membership, RosterSource, SourceRecord

__all__ = ["find_leavers"]


def find_leavers(
    plan: ImportPlan,
    constituency: Constituency,
    connection: Any,
    leaving_ids: Iterable[str],
    *,
    batch_size: int,
) -> Iterator[Changes]:
    """Find who leaves, ``batch_size`` records at a time; yield each batch's changes.

    Write each batch's changes before asking for the next: a snapshot's batches walk the
    records still marked present.

    :param leaving_ids: for a delta, the external ids of people who left (a snapshot's leavers
        are the records whose ids the roster did not list, ``scratch.seen_ids``).
    """
    source = plan.source
    records = SourceRecord.__table__
    if plan.mode == "snapshot":
        if connection.dialect.name == "postgresql":
            # The ids the roster listed: statistics, so that the anti-join probes them.
            connection.execute(text("ANALYZE roster_import_ids"))
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
                    ~exists().where(seen_ids.c.external_id == records.c.external_id),
                )
                .order_by(records.c.id)
                .limit(batch_size)
            ).all()
            if not batch:
                return
            after = batch[-1][0]
            yield _leave(plan, constituency, batch)
    else:
        wanted = sorted(set(leaving_ids))
        for start in range(0, len(wanted), batch_size):
            yield _leave(
                plan,
                constituency,
                in_chunks(
                    lambda keys: db.session.execute(
                        select(records.c.id, records.c.external_id, records.c.person_id).where(
                            records.c.source_id == source.id,
                            records.c.is_present.is_(True),
                            records.c.external_id.in_(keys),
                        )
                    ),
                    wanted[start : start + batch_size],
                ),
            )


def _leave(plan: ImportPlan, constituency: Constituency, gone: Sequence[Any]) -> Changes:
    """The changes for the records ``gone`` (id, external id, person id): count them."""
    person_ids = [person_id for _, _, person_id in gone]
    current = {
        person_id: membership_id
        for membership_id, person_id in in_chunks(
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
    for person_id, constituency_id, precedence in in_chunks(
        lambda keys: db.session.execute(
            select(SourceRecord.person_id, RosterSource.constituency_id, Constituency.precedence)
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
    changes = Changes()
    for record_id, external_id, person_id in gone:
        changes.absent.append(record_id)
        membership_id = current.get(person_id)
        if membership_id is None:
            continue
        moved = elsewhere.get(person_id)
        changes.leaves.append((membership_id, person_id, moved[0] if moved else None))
        plan.leaving += 1
        plan.sample(
            "leaving",
            None,
            external_id=external_id,
            reason="moves to another constituency" if moved else "membership ends",
        )
    return changes
