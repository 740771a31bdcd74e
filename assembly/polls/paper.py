"""Paper ballots entered in batches, each batch twice by two different people: what is the
same for a board election's postal and polling-station papers and an assembly's papers from
the room.

The first entry of a batch is kept; the second, by someone else who counted the batch afresh,
is compared with it. When they match the batch is accepted and its ballots stored; when they
differ both entries are kept and the batch is entered again under the same label. A label
names one batch: once accepted it cannot be entered again, so a second entry submitted twice
(a double click, two tellers at once) stores the batch once.

Two rules are also the database's: one batch waits for its second entry per label (a partial
unique index, so two first entries made at the same moment cannot both wait), and the second
entry reads the waiting batch with its row locked, so two second entries cannot both accept it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from assembly.clock import utcnow
from assembly.errors import Conflict, NotEligible
from assembly.extensions import db
from assembly.polls.models import BatchStatus, PaperBatch
from assembly.records.record import CHOICES

__all__ = [
    "MAX_PAPERS",
    "PAPER_CHOICES",
    "BatchStatus",
    "add_first_entry",
    "batch_waiting_for",
    "make_second_entry",
]

#: Up to this many papers in one batch (a postal bundle or a ballot box).
MAX_PAPERS = 2000

#: What a teller may write for a confirmation paper: the word or its first letter.
PAPER_CHOICES = {word: word for word in CHOICES} | {word[0]: word for word in CHOICES}


def batch_waiting_for(poll_id: int, constituency: str, label: str) -> PaperBatch | None:
    """The batch a new entry labelled ``label`` is the second entry of, its row locked; None
    when it is a first entry.

    :param constituency: whose papers the batch holds, where the poll counts constituencies
        apart (an assembly's room); empty for a contest.
    :raises Conflict: a batch with this label was accepted already.
    """
    found = db.session.scalars(
        select(PaperBatch)
        .where(
            PaperBatch.poll_id == poll_id,
            PaperBatch.constituency == constituency,
            PaperBatch.label == label,
            PaperBatch.status.in_([BatchStatus.first_entered, BatchStatus.accepted]),
        )
        .order_by(PaperBatch.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if any(batch.status == BatchStatus.accepted for batch in found):
        raise Conflict(
            f"The batch {label} is accepted already: its papers are counted. A new batch "
            "needs a label of its own."
        )
    return found[0] if found else None


def add_first_entry(batch: PaperBatch) -> None:
    """Store the first entry of a new batch.

    :raises Conflict: someone made the first entry of this batch a moment ago.
    """
    try:
        with db.session.begin_nested():
            db.session.add(batch)
    except IntegrityError:
        raise Conflict(
            f"Someone entered the batch {batch.label} a moment ago: count it afresh and "
            "enter it again, as its second entry."
        ) from None


def make_second_entry(batch: PaperBatch, entry: str, actor_id: int | None, refusal: str) -> bool:
    """Record ``entry`` as the batch's second entry and say whether it matches the first.
    A mismatch rejects the batch (both entries are kept); a match is accepted by the caller,
    which stores the ballots its own way.

    :param refusal: the message when the person who made the first entry makes the second.
    :raises NotEligible: the same person made the first entry.
    """
    if batch.first_by_id == actor_id:
        raise NotEligible(refusal)
    batch.second_entry = entry
    batch.second_by_id = actor_id
    batch.decided_at = utcnow()
    if entry != batch.first_entry:
        batch.status = BatchStatus.rejected
        return False
    return True
