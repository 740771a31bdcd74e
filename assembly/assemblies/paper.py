"""Paper voting in the room. A teller gives a checked-in member a paper ballot for the open
vote: that marks them as having voted (so they cannot also vote on the phone, nor get a second
paper). The papers are collected per constituency and each batch is counted and entered by two
tellers independently; it is accepted only when both entries match, and never with more papers
than were given out in that constituency."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select

from assembly.assemblies.models import (
    Attendance,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations.roles import can_check_in
from assembly.assemblies.queries import eligible_to_vote, vote_candidates
from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.clock import today
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency
from assembly.polls.casting import AlreadyVoted, mark_voted, store_ballot
from assembly.polls.locks import lock_row
from assembly.polls.models import Ballot, Channel, PaperBatch, RollMark
from assembly.polls.paper import (
    MAX_PAPERS,
    PAPER_CHOICES,
    BatchStatus,
    add_first_entry,
    batch_waiting_for,
    make_second_entry,
)

__all__ = [
    "MAX_PAPERS",
    "batches_of",
    "enter_paper_batch",
    "give_paper",
    "paper_summary",
    "papers_given",
    "parse_papers",
]


#: A paper as entered: candidate ids in order (IRV, a round) or a choice (confirmation).
Paper = tuple[int, ...] | str


def _check_teller(actor: Actor, vote: Vote) -> None:
    if not can_check_in(actor, vote.assembly):
        raise NotEligible("Only a teller can hand out or enter paper ballots.")


def give_paper(actor: Actor, vote: Vote, attendance: Attendance) -> None:
    """Hand a checked-in member a paper ballot for the open vote: they have voted, on paper.

    :raises AlreadyVoted: they voted on the phone already, or had a paper.
    """
    _check_teller(actor, vote)
    vote = lock_row(vote, shared=True)
    if vote.state != VoteState.open:
        raise InvalidTransition("Papers are given out while the vote is open.")
    if attendance.assembly_id != vote.assembly_id:
        raise NotEligible("That member is not checked in at this assembly.")
    if not eligible_to_vote(vote, attendance):
        raise NotEligible(
            "They checked in after this vote opened; late arrivals do not vote in it."
        )
    if not mark_voted(vote.poll_id, attendance.person_id, Channel.paper):
        raise AlreadyVoted(
            f"{attendance.person.given_name} {attendance.person.family_name} has voted in this "
            "vote already (on the phone or on paper)."
        )
    record_event(
        actor,
        "assembly_paper.given",
        institution=vote.assembly.institution_id,
        subject=vote,
        data={"attendance": attendance.id},
    )


def papers_given(vote: Vote, constituency_id: int) -> int:
    """Paper ballots handed to members of a constituency in this vote."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RollMark)
            .join(Attendance, Attendance.person_id == RollMark.person_id)
            .where(
                RollMark.poll_id == vote.poll_id,
                Attendance.assembly_id == vote.assembly_id,
                RollMark.channel == Channel.paper,
                Attendance.constituency_id == constituency_id,
            )
        )
        or 0
    )


def _papers_entered(vote: Vote, constituency: str) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Ballot)
            .where(
                Ballot.poll_id == vote.poll_id,
                Ballot.channel == Channel.paper,
                Ballot.constituency == constituency,
            )
        )
        or 0
    )


def parse_papers(text: str, vote: Vote) -> list[Paper]:
    """Read a batch: one paper per line. A confirmation paper is yes, no or abstain; a
    preferential paper lists ballot positions in order of preference (``2 1 3``); a round's
    paper is one ballot position.

    :raises RuleViolation: naming the line and what is wrong with it.
    """
    candidates = vote_candidates(vote)
    papers: list[Paper] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = [w for w in re.split(r"[\s,;]+", line.strip().lower()) if w]
        if not words:
            continue
        if vote.kind == VoteKind.confirmation:
            if len(words) != 1 or words[0] not in PAPER_CHOICES:
                raise RuleViolation(f"Paper line {number}: write yes, no or abstain.")
            papers.append(PAPER_CHOICES[words[0]])
            continue
        try:
            positions = [int(w) for w in words]
        except ValueError:
            raise RuleViolation(
                f"Paper line {number}: write ballot positions as numbers, such as 2 1 3."
            ) from None
        if any(not 1 <= p <= len(candidates) for p in positions):
            raise RuleViolation(
                f"Paper line {number}: ballot positions run from 1 to {len(candidates)}."
            )
        if len(set(positions)) != len(positions):
            raise RuleViolation(f"Paper line {number}: a candidate is marked twice.")
        if vote.kind == VoteKind.round and len(positions) != 1:
            raise RuleViolation(
                f"Paper line {number}: one mark in a round; a paper with more is spoilt and "
                "not entered."
            )
        papers.append(tuple(candidates[p - 1].id for p in positions))
    if not papers:
        raise RuleViolation("Enter the papers of the batch, one per line.")
    if len(papers) > MAX_PAPERS:
        raise RuleViolation(f"Enter at most {MAX_PAPERS} papers in one batch.")
    return papers


def _canonical(papers: list[Paper]) -> str:
    """An entry as compared: the papers sorted (their order in the pile means nothing)."""
    return json.dumps(
        sorted(([p] if isinstance(p, str) else list(p) for p in papers), key=json.dumps),
        separators=(",", ":"),
    )


def enter_paper_batch(
    actor: Actor, vote: Vote, constituency: Constituency, label: str, papers: list[Paper]
) -> tuple[PaperBatch, bool | None]:
    """Enter a batch. The first entry is kept; a second, by another teller, accepts it when
    it matches (the ballots are stored) or rejects both when it differs (the batch is
    entered again). Returns the batch and True (accepted), False (rejected) or None (waiting
    for the second entry)."""
    _check_teller(actor, vote)
    # Shared: batches are entered side by side, while closing the vote waits for them.
    vote = lock_row(vote, shared=True)
    if vote.state != VoteState.open:
        raise InvalidTransition("Paper batches are entered while the vote is open.")
    if constituency.institution_id != vote.assembly.institution_id:
        raise RuleViolation("Choose a constituency of this institution.")
    label = label.strip()
    if not label:
        raise RuleViolation("Label the batch, as written on its envelope (for example Box 1).")
    waiting = batch_waiting_for(vote.poll_id, constituency.key, label)
    entry = _canonical(papers)
    actor_id = getattr(actor, "id", None)
    if waiting is None:
        if actor_id is None:
            raise NotEligible("A batch is entered by a signed-in teller.")
        batch = PaperBatch(
            poll_id=vote.poll_id,
            constituency=constituency.key,
            label=label,
            status=BatchStatus.first_entered,
            first_entry=entry,
            first_by_id=actor_id,
        )
        add_first_entry(batch)
        record_event(
            actor,
            "assembly_paper_batch.entered",
            institution=vote.assembly.institution_id,
            subject=batch,
            data={"vote": vote.id, "constituency": constituency.key, "papers": len(papers)},
        )
        return batch, None
    matched = make_second_entry(
        waiting,
        entry,
        actor_id,
        "The second entry must be made by another teller, who counts the batch afresh.",
    )
    if not matched:
        _decided(actor, vote, waiting, accepted=False, papers=len(papers))
        return waiting, False
    given = papers_given(vote, constituency.id)
    entered = _papers_entered(vote, constituency.key)
    if entered + len(papers) > given:
        raise RuleViolation(
            f"{constituency.name}: {given} paper(s) were given out and {entered} entered "
            f"already, so this batch of {len(papers)} cannot all be papers of this vote. "
            "Count the batch again."
        )
    waiting.status = BatchStatus.accepted
    day = today()
    db.session.flush()
    for paper in papers:
        store_ballot(
            vote.poll_id,
            ranking=() if isinstance(paper, str) else paper,
            choice=paper if isinstance(paper, str) else "",
            constituency=constituency.key,
            channel=Channel.paper,
            day=day,
            batch_id=waiting.id,
        )
    _decided(actor, vote, waiting, accepted=True, papers=len(papers))
    return waiting, True


def _decided(actor: Actor, vote: Vote, batch: PaperBatch, *, accepted: bool, papers: int) -> None:
    db.session.flush()
    record_event(
        actor,
        "assembly_paper_batch.accepted" if accepted else "assembly_paper_batch.rejected",
        institution=vote.assembly.institution_id,
        subject=batch,
        data={"vote": vote.id, "papers": papers},
    )


def batches_of(vote: Vote) -> list[PaperBatch]:
    return list(
        db.session.scalars(
            select(PaperBatch).where(PaperBatch.poll_id == vote.poll_id).order_by(PaperBatch.id)
        )
    )


def paper_summary(vote: Vote) -> list[dict[str, Any]]:
    """Per constituency: papers given out and entered."""
    rows = []
    for constituency in db.session.scalars(
        select(Constituency)
        .where(Constituency.institution_id == vote.assembly.institution_id)
        .order_by(Constituency.precedence, Constituency.id)
    ):
        rows.append(
            {
                "constituency": constituency,
                "given": papers_given(vote, constituency.id),
                "entered": _papers_entered(vote, constituency.key),
            }
        )
    return rows
