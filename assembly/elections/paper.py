"""Paper and postal ballots, entered in batches, each batch twice by two different people.

A batch lists the elector numbers of the voters whose papers it holds and the papers' votes
(preferences as ballot positions, one paper per line). The first entry is kept; a second
entry by someone else is compared with it. When they match, the ballots are stored (channel
``paper``, no voter reference, like every ballot) and the voters are marked on the roll — so
they cannot also vote online, and anyone who already did makes the batch fail. When they do
not match, both entries are kept for the record and the batch must be entered again.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.models import Role, User
from assembly.auth.permissions import roles_in
from assembly.clock import today, utcnow
from assembly.elections.count import ballot_candidates
from assembly.elections.models import Contest, CountMethod, RollEntry
from assembly.elections.operations import lock_election
from assembly.elections.states import ElectionState
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.polls.casting import mark_voted, store_ballot
from assembly.polls.locks import lock_row
from assembly.polls.models import BatchStatus, Channel, PaperBatch, RollMark
from assembly.polls.paper import (
    MAX_PAPERS,
    add_first_entry,
    batch_waiting_for,
    make_second_entry,
)

__all__ = ["BatchEntry", "can_enter_paper", "discard_batch", "enter_batch", "parse_batch"]


@dataclass(frozen=True)
class BatchEntry:
    """One person's entry of a batch: the voters' elector numbers and each paper's
    preferences (ballot positions, first preference first)."""

    voters: tuple[int, ...]
    papers: tuple[tuple[int, ...], ...]

    def canonical(self) -> str:
        """The entry as compared and kept: voters sorted, papers sorted (their order in the
        bundle means nothing)."""
        return json.dumps(
            {"voters": sorted(self.voters), "papers": sorted(list(p) for p in self.papers)},
            separators=(",", ":"),
        )


def parse_batch(voters_text: str, papers_text: str, contest: Contest) -> BatchEntry:
    """Read the voters (elector numbers separated by spaces or commas) and the papers (one
    per line, ballot positions separated by spaces) of a batch.

    :raises RuleViolation: naming the line and what is wrong with it.
    """
    try:
        voters = tuple(int(v) for v in re.split(r"[\s,;]+", voters_text.strip()) if v)
    except ValueError:
        raise RuleViolation("Elector numbers are whole numbers separated by spaces.") from None
    if len(set(voters)) != len(voters):
        repeated = sorted(n for n, k in Counter(voters).items() if k > 1)
        raise RuleViolation(f"Elector number {repeated[0]} is listed twice.")
    candidates = len(ballot_candidates(contest))
    papers: list[tuple[int, ...]] = []
    for number, line in enumerate(papers_text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            paper = tuple(int(v) for v in re.split(r"[\s,;]+", line.strip()) if v)
        except ValueError:
            raise RuleViolation(
                f"Paper line {number}: write ballot positions as numbers, such as 2 1 3."
            ) from None
        if any(not 1 <= p <= candidates for p in paper):
            raise RuleViolation(
                f"Paper line {number}: ballot positions run from 1 to {candidates}."
            )
        if len(set(paper)) != len(paper):
            raise RuleViolation(f"Paper line {number}: a candidate is marked twice.")
        if contest.method == CountMethod.plurality and len(paper) > contest.seats:
            raise RuleViolation(
                f"Paper line {number}: at most {contest.seats} mark(s) on this ballot; a paper "
                "with more is spoilt and not entered."
            )
        papers.append(paper)
    if not voters:
        raise RuleViolation("List the elector numbers of the voters whose papers are here.")
    if len(voters) != len(papers):
        raise RuleViolation(
            f"The batch lists {len(voters)} voter(s) but {len(papers)} paper(s): they must match."
        )
    if len(papers) > MAX_PAPERS:
        raise RuleViolation(f"Enter at most {MAX_PAPERS} papers in one batch.")
    return BatchEntry(voters, tuple(papers))


def can_enter_paper(user: object, contest: Contest) -> bool:
    """The returning officer, the secretary and the institution's tellers enter batches."""
    election = contest.election
    if not isinstance(user, User):
        return False
    if election.is_returning_officer(user):
        return True
    return bool(roles_in(user, election.institution) & {Role.secretary, Role.teller})


def enter_batch(
    actor: Actor, contest: Contest, label: str, entry: BatchEntry
) -> tuple[PaperBatch, bool]:
    """Enter a batch: the first entry is kept; the second (by someone else) accepts it when it
    matches or rejects it when it does not. Return the batch and whether it was accepted.

    :raises NotEligible: the actor may not enter paper ballots, or made the first entry.
    :raises InvalidTransition: the poll has not opened, or the votes are already counted.
    :raises Conflict: a voter in the batch is not on the roll or has already voted.
    """
    election = contest.election
    if not can_enter_paper(actor, contest):
        raise NotEligible("Only the returning officer, the secretary or a teller enter papers.")
    if election.state not in {ElectionState.poll_open, ElectionState.poll_closed}:
        raise InvalidTransition(
            "Paper ballots are entered from the opening of the poll until the count."
        )
    label = label.strip()
    if not label or len(label) > 100:
        raise RuleViolation("Give the batch the label written on it (at most 100 characters).")
    assert isinstance(actor, User)
    # Shared: batches are entered side by side, while the count (which locks the election
    # for update) waits for them, and an entry after it sees the votes counted.
    election = lock_election(election, shared=True)
    if election.state not in {ElectionState.poll_open, ElectionState.poll_closed}:
        raise InvalidTransition("The votes are counted: no more paper ballots are entered.")
    batch = batch_waiting_for(contest.poll_id, "", label)
    if batch is None:
        batch = PaperBatch(
            poll_id=contest.poll_id,
            label=label,
            status=BatchStatus.first_entered,
            first_entry=entry.canonical(),
            first_by_id=actor.id,
        )
        add_first_entry(batch)
        record_event(
            actor,
            "paper_batch.entered",
            institution=election.institution,
            subject=batch,
            data={"contest_id": contest.id, "label": label, "papers": len(entry.papers)},
        )
        return batch, False
    matched = make_second_entry(
        batch,
        entry.canonical(),
        actor.id,
        "You made the first entry of this batch: someone else must make the second.",
    )
    if not matched:
        db.session.flush()
        record_event(
            actor,
            "paper_batch.rejected",
            institution=election.institution,
            subject=batch,
            data={"contest_id": contest.id, "label": label},
        )
        return batch, False
    _accept(contest, batch, entry)
    record_event(
        actor,
        "paper_batch.accepted",
        institution=election.institution,
        subject=batch,
        data={"contest_id": contest.id, "label": label, "papers": len(entry.papers)},
    )
    return batch, True


def _accept(contest: Contest, batch: PaperBatch, entry: BatchEntry) -> None:
    entries = dict(
        db.session.execute(
            select(RollEntry.number, RollEntry.person_id).where(
                RollEntry.contest_id == contest.id, RollEntry.number.in_(entry.voters)
            )
        ).all()
    )
    missing = sorted(set(entry.voters) - set(entries))
    if missing:
        raise Conflict(f"Elector number {missing[0]} is not on this contest's roll.")
    voted = db.session.scalars(
        select(RollEntry.number)
        .join(RollMark, RollMark.person_id == RollEntry.person_id)
        .where(
            RollEntry.contest_id == contest.id,
            RollMark.poll_id == contest.poll_id,
            RollEntry.number.in_(list(entries)),
        )
    ).first()
    if voted is not None:
        raise Conflict(
            f"Elector number {voted} has already voted: take their paper out of the batch "
            "(it is not counted) and enter the batch again."
        )
    candidates = ballot_candidates(contest)
    batch.status = BatchStatus.accepted
    day = today()
    db.session.flush()
    for person_id in entries.values():
        mark_voted(contest.poll_id, person_id, Channel.paper)
    for paper in entry.papers:
        store_ballot(
            contest.poll_id,
            ranking=[candidates[p - 1].id for p in paper],
            channel=Channel.paper,
            day=day,
            batch_id=batch.id,
        )


def discard_batch(actor: Actor, contest: Contest, batch: PaperBatch) -> None:
    """Set aside a batch waiting for its second entry (entered wrongly, or holding a paper
    that must come out): it is kept, marked rejected, and nothing of it is counted.

    :raises NotEligible: the actor may not enter paper ballots.
    :raises InvalidTransition: the batch is already accepted or rejected.
    """
    if batch.poll_id != contest.poll_id:
        raise RuleViolation("That batch is not one of this contest's.")
    if not can_enter_paper(actor, contest):
        raise NotEligible("Only the returning officer, the secretary or a teller enter papers.")
    # Locked, so that a second entry accepting the batch at this moment is not undone.
    batch = lock_row(batch)
    if batch.status != BatchStatus.first_entered:
        raise InvalidTransition("Only a batch waiting for its second entry can be set aside.")
    batch.status = BatchStatus.rejected
    batch.decided_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "paper_batch.discarded",
        institution=contest.election.institution,
        subject=batch,
        data={"contest_id": contest.id, "label": batch.label},
    )
