"""Votes in the room: the chair opens one when quorate, members present vote on their phones (or
are given a paper), and the chair closes it under the poll's lock and it is counted at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from assembly.assemblies import e2e
from assembly.assemblies.casting import lock_for_casting
from assembly.assemblies.count import count_vote
from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    Attendance,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations.attendance import quorum_status
from assembly.assemblies.operations.roles import check_chair
from assembly.assemblies.queries import (
    open_vote_of,
    pending_batches,
    valid_candidates,
    vote_candidates,
)
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.errors import InvalidTransition, RuleViolation
from assembly.extensions import db
from assembly.polls.casting import (
    ANONYMOUS_VOTER,
    AlreadyVoted,
    mark_voted,
    store_ballot,
)
from assembly.polls.locks import lock_row
from assembly.polls.models import Channel
from assembly.polls.queries import turnout
from assembly.records.record import CHOICES


def continuing_candidates(assembly: Assembly) -> list[AssemblyCandidate]:
    """The valid candidates not excluded in an earlier round, in ballot order."""
    excluded = {v.excluded_id for v in assembly.votes if v.excluded_id is not None}
    return [c for c in valid_candidates(assembly) if c.id not in excluded]


def open_vote(actor: Actor, assembly: Assembly, *, encrypted: bool | None = None) -> Vote:
    """The chair opens the next vote, only when the assembly is quorate: a confirmation when
    one candidate is left, else the preferential ballot (IRV) or the next round. At an
    assembly scheduled end-to-end verifiable its phone ballots are encrypted unless the chair
    says ``encrypted=False`` (today's mode, if the trustees cannot stay)."""
    check_chair(actor, assembly)
    if assembly.state != AssemblyState.in_session:
        raise InvalidTransition("Votes are held while the assembly is in session.")
    if open_vote_of(assembly) is not None:
        raise InvalidTransition("A vote is open: close it first.")
    waiting = e2e.closed_vote(assembly)
    if waiting is not None:
        raise InvalidTransition(
            f"Vote {waiting.number} waits for the trustees to open its encrypted ballots: "
            "count it first."
        )
    encrypted = assembly.e2e if encrypted is None else encrypted
    if encrypted and not assembly.e2e:
        raise InvalidTransition("This assembly's votes are not end-to-end verifiable.")
    not_ready = e2e.problems(assembly) if encrypted else []
    if not_ready:
        raise InvalidTransition("No vote can be opened yet: " + " ".join(not_ready))
    if any(v.elected_id is not None for v in assembly.votes) or _decided(assembly):
        raise InvalidTransition("The vote is decided: declare the result.")
    status = quorum_status(assembly)
    if not status.quorate:
        short = [c.name for c in status.constituencies if not c.met]
        raise RuleViolation(
            "The assembly is not quorate: "
            + (f"{status.short_by} more member(s) needed" if status.short_by else "")
            + ("; " if status.short_by and short else "")
            + (f"too few present from {', '.join(short)}" if short else "")
            + ". No vote can be opened."
        )
    candidates = continuing_candidates(assembly)
    if not candidates:
        raise InvalidTransition("Nobody stands: declare that no leader was elected.")
    if len(candidates) == 1:
        kind = VoteKind.confirmation
    elif assembly.method == "rounds":
        kind = VoteKind.round
    else:
        kind = VoteKind.irv
    vote = Vote(
        assembly_id=assembly.id,
        number=len(assembly.votes) + 1,
        kind=kind,
        candidate_ids=json.dumps([c.id for c in candidates]),
        e2e=encrypted,
    )
    db.session.add(vote)
    db.session.flush()
    if encrypted:
        e2e.list_vote_credentials(vote)
    db.session.refresh(assembly, ["votes"])
    record_event(
        actor,
        "assembly_vote.opened",
        institution=assembly.institution_id,
        subject=vote,
        data={
            "assembly": assembly.id,
            "number": vote.number,
            "kind": str(kind),
            "candidates": [c.id for c in candidates],
            "present": status.present,
            "encrypted": encrypted,
        },
    )
    return vote


def _decided(assembly: Assembly) -> bool:
    last = assembly.votes[-1] if assembly.votes else None
    return (
        last is not None
        and last.state == VoteState.counted
        and (last.elected_id is not None or last.kind == VoteKind.confirmation)
    )


def _check_ballot(vote: Vote, ranking: Sequence[int], choice: str) -> tuple[list[int], str]:
    ids = [c.id for c in vote_candidates(vote)]
    if vote.kind == VoteKind.confirmation:
        if choice not in CHOICES or ranking:
            raise RuleViolation("Choose yes, no or abstain.")
        return [], choice
    ranked = list(ranking)
    if choice or not ranked:
        raise RuleViolation(
            "Choose a candidate." if vote.kind == VoteKind.round else "Rank at least one candidate."
        )
    if len(set(ranked)) != len(ranked) or not set(ranked) <= set(ids):
        raise RuleViolation("A ballot names each candidate on it at most once.")
    if vote.kind == VoteKind.round and len(ranked) != 1:
        raise RuleViolation("Choose one candidate in this round.")
    return ranked, ""


def cast_assembly_vote(
    attendance: Attendance,
    vote: Vote,
    *,
    ranking: Sequence[int] = (),
    choice: str = "",
    channel: str = "online",
    day: date,
) -> str:
    """Record that the attendee voted and store their ballot, in one transaction; return
    the tracker.

    :raises AlreadyVoted: they voted in this vote already (on the phone or on paper).
    :raises NotEligible: they arrived after the vote opened and late arrivals may not vote.
    """
    vote = lock_for_casting(vote, attendance)
    ranked, chosen = _check_ballot(vote, ranking, choice)
    if not mark_voted(vote.poll_id, attendance.person_id, Channel(channel)):
        raise AlreadyVoted("You have voted in this vote already.")
    tracker = store_ballot(
        vote.poll_id,
        ranking=ranked,
        choice=chosen,
        constituency=attendance.constituency.key,
        channel=Channel(channel),
        day=day,
    )
    record_event(
        ANONYMOUS_VOTER,
        "assembly_ballot.cast",
        institution=vote.assembly.institution_id,
        subject=Ref("assembly_vote", vote.id),
    )
    return tracker


def vote_turnout(vote: Vote) -> int:
    return turnout(vote.poll_id)


def close_vote(actor: Actor, vote: Vote) -> dict[str, Any] | None:
    """The chair closes the vote and it is counted at once; returns the count. A vote with
    encrypted ballots waits, closed, for the trustees to open them (``count_closed_vote``):
    then None."""
    assembly = vote.assembly
    check_chair(actor, assembly)
    # Exclusive: every cast, paper and batch holding the vote's share lock is stored first
    # and counted; any after this sees the vote closed.
    vote = lock_row(vote)
    if vote.state != VoteState.open:
        raise InvalidTransition("This vote is closed already.")
    waiting = pending_batches(vote)
    if waiting:
        raise InvalidTransition(
            f"{waiting} paper batch(es) wait for their second entry: finish entering the "
            "papers before the vote is counted."
        )
    if not vote_turnout(vote):
        raise RuleViolation(
            "Nobody has voted in this vote yet, so there is nothing to count: keep it open "
            "until members have voted on their phones or on paper."
        )
    vote.closed_at = utcnow()
    encrypted = e2e.encrypted_cast(vote) if e2e.is_encrypted(vote) else 0
    if encrypted:
        vote.state = VoteState.closed
        db.session.flush()
        record_event(
            actor,
            "assembly_vote.closed",
            institution=assembly.institution_id,
            subject=vote,
            data={"ballots": vote_turnout(vote), "encrypted": encrypted},
        )
        return None
    return _count(actor, vote)


def count_closed_vote(actor: Actor, vote: Vote, *, day: date) -> dict[str, Any]:
    """Once the trustees have shuffled and opened a closed vote's encrypted ballots, the
    chair counts it: the opened rankings with the paper and plain online ballots.

    :raises InvalidTransition: the vote is not waiting, or too few trustees have opened it.
    """
    check_chair(actor, vote.assembly)
    vote = lock_row(vote)
    if vote.state != VoteState.closed:
        raise InvalidTransition("Only a closed vote waiting for its trustees is counted so.")
    e2e.open_vote_ballots(vote, day=day)
    return _count(actor, vote)


def _count(actor: Actor, vote: Vote) -> dict[str, Any]:
    assembly = vote.assembly
    vote.state = VoteState.counted
    result, elected, excluded = count_vote(vote)
    vote.result = json.dumps(result, sort_keys=True, separators=(",", ":"))
    vote.elected_id = elected
    vote.excluded_id = excluded
    db.session.flush()
    record_event(
        actor,
        "assembly_vote.counted",
        institution=assembly.institution_id,
        subject=vote,
        data={"elected": elected, "excluded": excluded, "ballots": vote_turnout(vote)},
    )
    return result
