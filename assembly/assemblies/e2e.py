"""An assembly whose votes are end-to-end verifiable (``Assembly.e2e``): the returning officer
names the trustees (themself and the scrutineers) and the threshold; the trustees' key
ceremony, before the doors open, gives one key for every vote of the assembly; the officer's
browser makes the voting cards, a batch per constituency, prints their codes and publishes
only their public halves; a teller hands each member checked in a card of their
constituency, so that nothing links a card to a member. Each vote's credentials are the
cards published when it opens (with their constituency where the assembly weights
constituencies, so that each opened ballot keeps it); members cast encrypted ballots on
their phones, signed with their card; after the vote closes the trustees shuffle and open
its ballots in the room, and the chair counts them with the paper ballots.

Who may act, and when, is checked here; the steps themselves are ``assembly.e2e.operations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from assembly.assemblies.casting import lock_for_casting
from assembly.assemblies.models import (
    Assembly,
    AssemblyCard,
    Attendance,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.queries import vote_candidates
from assembly.assemblies.states import AssemblyState
from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.auth.models import User
from assembly.crypto import poll
from assembly.e2e import operations as e2e
from assembly.e2e.models import Ceremony, EncryptedBallot, Trustee
from assembly.e2e.operations import CeremonyStep, ceremony_step
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency
from assembly.polls.casting import ANONYMOUS_VOTER, AlreadyVoted, mark_voted
from assembly.polls.locks import lock_row
from assembly.polls.models import Channel
from assembly.records.record import CHOICES
from assembly.urls import external_url

__all__ = [
    "MAX_CARDS",
    "TRUSTEE_STATES",
    "Audit",
    "appoint",
    "audit_ballot",
    "candidate_ids",
    "cards_of",
    "cast_ballot",
    "ceremony_label",
    "check_ballot",
    "check_opening",
    "check_shuffle",
    "confirm_key",
    "is_encrypted",
    "list_vote_credentials",
    "open_vote_ballots",
    "post_dealing",
    "problems",
    "progress",
    "publish_cards",
    "register_transport_key",
    "restart_ceremony",
    "section",
    "store_opening",
    "store_shuffle",
    "task",
    "trustee_after_close",
    "trustee_of",
    "vote_label",
]

#: When the trustees are named and their ceremony runs: before the doors open.
TRUSTEE_STATES = frozenset({AssemblyState.scheduled, AssemblyState.noticed})

#: The most cards one batch publishes (a batch is printed at once).
MAX_CARDS = 5000


def ceremony_label(assembly: Assembly) -> str:
    """The ceremony's label: the institution and the assembly."""
    return f"{assembly.institution.slug}/assembly/{assembly.id}"


def vote_label(assembly: Assembly, vote: Vote) -> str:
    """The label every proof of a vote's poll is bound to."""
    assert assembly.ceremony is not None
    return e2e.poll_label(assembly.ceremony, vote.poll_id)


def is_encrypted(vote: Vote) -> bool:
    """Whether the vote takes encrypted ballots: opened so, under a complete ceremony."""
    ceremony = vote.assembly.ceremony
    return bool(vote.e2e and ceremony is not None and ceremony.election_key)


def candidate_ids(vote: Vote) -> list[int | str]:
    """What an encrypted ballot of the vote ranks, in the record's order: the candidates, or
    for a confirmation the words yes, no and abstain."""
    if vote.kind == VoteKind.confirmation:
        return list(CHOICES)
    return [c.id for c in vote_candidates(vote)]


def _reader(vote: Vote) -> poll.Reader:
    """How an opened ranking is read: a confirmation or a round takes one choice, the first;
    IRV the whole ranking."""
    if vote.kind == VoteKind.irv:
        return poll.as_ranked
    return lambda ranking: ranking[:1]


def trustee_of(assembly: Assembly, user: object) -> Trustee | None:
    """The user's place among the assembly's trustees, if they are one."""
    if assembly.ceremony is None or not isinstance(user, User):
        return None
    return next((t for t in assembly.ceremony.trustees if t.user_id == user.id), None)


def _check_officer(actor: Actor, assembly: Assembly, what: str) -> None:
    if not assembly.is_returning_officer(actor):
        raise NotEligible(f"Only the assembly's returning officer {what}.")


# --- the trustees and their ceremony -----------------------------------------------------------


def appoint(
    actor: Actor, assembly: Assembly, scrutineers: Sequence[str], threshold: int
) -> Ceremony:
    """Name the trustees: the returning officer (trustee 1) and the scrutineers by email
    address (an account is made for anyone who has none), any ``threshold`` of whom open each
    vote's ballots. Once, before the doors open.

    :raises RuleViolation: a scrutineer named twice or as the officer; a threshold out of range.
    """
    _check_officer(actor, assembly, "names the trustees")
    assembly = lock_row(assembly)
    if not assembly.e2e:
        raise InvalidTransition("This assembly's votes are not end-to-end verifiable.")
    if assembly.state not in TRUSTEE_STATES:
        raise InvalidTransition("Trustees are named before the assembly opens.")
    if assembly.ceremony_id is not None:
        raise InvalidTransition("The trustees are named already.")
    ceremony = e2e.name_trustees(
        actor,
        ceremony_label(assembly),
        scrutineers,
        threshold,
        institution=assembly.institution,
        notice=e2e.TrusteeNotice(
            title=assembly.title,
            poll_of="assembly",
            before="Before the assembly opens",
            after="after each vote closes, in the room",
            url=external_url(
                "assemblies.trustees", slug=assembly.institution.slug, assembly_id=assembly.id
            ),
        ),
    )
    assembly.ceremony = ceremony
    db.session.flush()
    return ceremony


def _trustee(actor: Actor, assembly: Assembly) -> Trustee:
    trustee = trustee_of(assembly, actor)
    if trustee is None:
        raise NotEligible("Only the assembly's trustees take part in its key ceremony.")
    return trustee


def _in_ceremony(assembly: Assembly) -> None:
    if assembly.state not in TRUSTEE_STATES:
        raise InvalidTransition("The key ceremony runs before the assembly opens.")


def register_transport_key(actor: Actor, assembly: Assembly, key: str) -> None:
    trustee = _trustee(actor, assembly)
    _in_ceremony(assembly)
    e2e.register_transport_key(actor, trustee, key, institution=assembly.institution)


def post_dealing(actor: Actor, assembly: Assembly, dealing: Any) -> None:
    trustee = _trustee(actor, assembly)
    _in_ceremony(assembly)
    e2e.post_dealing(actor, trustee, dealing, institution=assembly.institution)


def confirm_key(actor: Actor, assembly: Assembly, public: str) -> bool:
    trustee = _trustee(actor, assembly)
    _in_ceremony(assembly)
    return e2e.confirm_key(actor, trustee, public, institution=assembly.institution)


def restart_ceremony(actor: Actor, assembly: Assembly) -> None:
    """The officer starts the dealing again (a dealing failed a trustee's check)."""
    _check_officer(actor, assembly, "starts the dealing again")
    _in_ceremony(assembly)
    if assembly.ceremony is None:
        raise InvalidTransition("No trustees are named yet.")
    e2e.restart_ceremony(actor, assembly.ceremony, institution=assembly.institution)


# --- the voting cards --------------------------------------------------------------------------


def cards_of(assembly: Assembly) -> dict[str, int]:
    """How many cards are published for each constituency (by key)."""
    return {
        key: count
        for key, count in db.session.execute(
            select(AssemblyCard.constituency, func.count())
            .where(AssemblyCard.assembly_id == assembly.id)
            .group_by(AssemblyCard.constituency)
        )
    }


def publish_cards(
    actor: Actor, assembly: Assembly, constituency: Constituency, credentials: Sequence[Any]
) -> int:
    """Publish a batch of cards for ``constituency``'s members: the public halves the
    officer's browser made (their codes are printed, never sent). More may be added until
    the assembly is declared; a vote takes the cards published when it opens.

    :raises RuleViolation: a card that is not a point, repeated or published already; an
        empty batch or one of more than ``MAX_CARDS``.
    """
    _check_officer(actor, assembly, "publishes the voting cards")
    assembly = lock_row(assembly)
    if not assembly.e2e:
        raise InvalidTransition("This assembly's votes are not end-to-end verifiable.")
    if assembly.state not in {*TRUSTEE_STATES, AssemblyState.in_session}:
        raise InvalidTransition("Cards are made until the assembly is declared.")
    if constituency.institution_id != assembly.institution_id:
        raise RuleViolation("That constituency is not this institution's.")
    if not 1 <= len(credentials) <= MAX_CARDS:
        raise RuleViolation(f"A batch holds 1 to {MAX_CARDS} cards, not {len(credentials)}.")
    hexes = e2e.read_credentials(credentials, "card")
    known = set(
        db.session.scalars(
            select(AssemblyCard.credential).where(
                AssemblyCard.assembly_id == assembly.id, AssemblyCard.credential.in_(hexes)
            )
        )
    )
    if known:
        raise Conflict(f"{len(known)} of these cards are published already.")
    db.session.execute(
        AssemblyCard.__table__.insert(),
        [
            {"assembly_id": assembly.id, "credential": h, "constituency": constituency.key}
            for h in sorted(hexes)
        ],
    )
    record_event(
        actor,
        "assembly.cards_published",
        institution=assembly.institution_id,
        subject=assembly,
        data={"constituency": constituency.key, "count": len(hexes)},
    )
    return len(hexes)


def problems(assembly: Assembly) -> list[str]:
    """Why the assembly's end-to-end votes cannot start yet (empty when they can)."""
    if not assembly.e2e:
        return []
    if assembly.ceremony is None:
        return ["The returning officer has not named the trustees."]
    out = []
    if ceremony_step(assembly.ceremony) != CeremonyStep.complete:
        out.append("The trustees' key ceremony is not complete.")
    if not cards_of(assembly):
        out.append("No voting cards are published.")
    return out


def list_vote_credentials(vote: Vote) -> None:
    """When an encrypted vote opens: its credentials are the cards published so far, each
    with its constituency where the assembly weights constituencies."""
    assembly = vote.assembly
    weighted = bool(assembly.weighting)
    e2e.list_credentials(
        vote.poll_id,
        [
            (credential, key if weighted else "")
            for credential, key in db.session.execute(
                select(AssemblyCard.credential, AssemblyCard.constituency).where(
                    AssemblyCard.assembly_id == assembly.id
                )
            )
        ],
    )


# --- casting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    tracker: str
    ranking: tuple[int, ...]


def _ceremony_of(vote: Vote) -> Ceremony:
    if not is_encrypted(vote):
        raise InvalidTransition("This vote's ballots are not encrypted.")
    assert vote.assembly.ceremony is not None
    return vote.assembly.ceremony


def check_ballot(vote: Vote, cast: Any) -> e2e.CheckedCast:
    """An encrypted ballot for ``vote`` read and its proofs and signature checked, before any
    lock is taken (``cast_ballot`` takes the result)."""
    return e2e.check_cast(_ceremony_of(vote), vote.poll_id, len(candidate_ids(vote)), cast)


def cast_ballot(attendance: Attendance, vote: Vote, cast: Any, *, day: date) -> str:
    """Cast the attendee's encrypted ballot: their mark and the ballot together, with the
    vote's share lock held (as ``cast_assembly_vote``); return the tracker. ``cast`` is the
    ballot as JSON, or as ``check_ballot`` returned it.

    :raises AlreadyVoted: they voted in this vote already (in any way).
    :raises RuleViolation: a proof or the signature does not hold, or the card is not the
        vote's or is another constituency's.
    :raises Conflict: the card was used in this vote.
    """
    checked = cast if isinstance(cast, e2e.CheckedCast) else check_ballot(vote, cast)
    vote = lock_for_casting(vote, attendance)
    tracker = e2e.store_cast(
        vote.poll_id, checked, day=day, constituency=attendance.constituency.key
    )
    if not mark_voted(vote.poll_id, attendance.person_id, Channel.online):
        raise AlreadyVoted("You have voted in this vote already.")
    record_event(
        ANONYMOUS_VOTER,
        "assembly_ballot.cast",
        institution=vote.assembly.institution_id,
        subject=Ref("assembly_vote", vote.id),
        data={"encrypted": True},
    )
    return tracker


def audit_ballot(vote: Vote, audited: Any) -> Audit:
    """Publish an encryption the voter challenged, once it opens to the choices it states."""
    ceremony = _ceremony_of(vote)
    if vote.state != VoteState.open:
        raise InvalidTransition("This vote is closed.")
    tracker, ranking = e2e.audit_encrypted(ceremony, vote.poll_id, candidate_ids(vote), audited)
    record_event(
        ANONYMOUS_VOTER,
        "assembly_ballot.audited",
        institution=vote.assembly.institution_id,
        subject=Ref("assembly_vote", vote.id),
        data={"tracker": tracker},
    )
    return Audit(tracker, ranking)


def encrypted_cast(vote: Vote) -> int:
    return (
        db.session.scalar(select(func.count()).where(EncryptedBallot.poll_id == vote.poll_id)) or 0
    )


# --- after a vote closes -----------------------------------------------------------------------


def closed_vote(assembly: Assembly) -> Vote | None:
    """The vote waiting for the trustees, if one is."""
    return next((v for v in assembly.votes if v.state == VoteState.closed), None)


def task(vote: Vote) -> dict[str, Any]:
    """What a trustee downloads to shuffle or open the vote's ballots (``assembly trustee``
    reads it, as a board election's)."""
    ceremony = _ceremony_of(vote)
    return {
        "ceremony": ceremony.label,
        "election_key": ceremony.election_key,
        "threshold": ceremony.threshold,
        "polls": [
            {
                "poll": vote.poll_id,
                "label": vote_label(vote.assembly, vote),
                "candidates": len(candidate_ids(vote)),
                "rows": [
                    [c.to_json() for c in row]
                    for row in e2e.rows_to_shuffle(vote.poll_id, len(candidate_ids(vote)))
                ],
            }
        ],
    }


def trustee_after_close(actor: Actor, vote: Vote) -> Trustee:
    """The actor's trustee of the vote's assembly, while the vote is closed and waits for its
    trustees.

    :raises NotEligible: the actor is not one of its trustees.
    :raises InvalidTransition: the vote is not closed (or is counted).
    """
    trustee = _trustee(actor, vote.assembly)
    if vote.state != VoteState.closed:
        raise InvalidTransition("The trustees shuffle and open a vote's ballots after it closes.")
    return trustee


def _part(vote: Vote, upload: Any, part: str) -> Any:
    try:
        parts = {int(p["poll"]): p[part] for p in upload["polls"]}
    except (KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The file is not a trustee's {part}s: {error!r}") from error
    if set(parts) != {vote.poll_id}:
        raise RuleViolation(f"The file must hold a {part} of vote {vote.number} only.")
    return parts[vote.poll_id]


def check_shuffle(actor: Actor, vote: Vote, upload: Any) -> e2e.CheckedUpload:
    """Check a trustee's shuffle of the vote (the file ``assembly trustee shuffle`` wrote)
    before any lock is taken; ``store_shuffle`` keeps it."""
    trustee = trustee_after_close(actor, vote)
    return e2e.check_shuffle(
        actor,
        _ceremony_of(vote),
        trustee,
        vote.poll_id,
        len(candidate_ids(vote)),
        _part(vote, upload, "shuffle"),
    )


def store_shuffle(actor: Actor, vote: Vote, checked: e2e.CheckedUpload) -> None:
    """Keep a checked shuffle, the vote locked and still waiting for its trustees."""
    vote = lock_row(vote)
    trustee = trustee_after_close(actor, vote)
    e2e.store_shuffle(actor, trustee, checked, institution=vote.assembly.institution)


def add_shuffle(actor: Actor, vote: Vote, upload: Any) -> None:
    """Check and keep a trustee's shuffle in one step (the command line, benchmarks)."""
    store_shuffle(actor, vote, check_shuffle(actor, vote, upload))


def check_opening(actor: Actor, vote: Vote, upload: Any) -> e2e.CheckedUpload:
    """Check a trustee's decryption shares of the vote (``assembly trustee open``) before
    any lock is taken; ``store_opening`` keeps them."""
    trustee = trustee_after_close(actor, vote)
    return e2e.check_opening(
        actor, _ceremony_of(vote), trustee, vote.poll_id, _part(vote, upload, "opening")
    )


def store_opening(actor: Actor, vote: Vote, checked: e2e.CheckedUpload) -> None:
    """Keep checked decryption shares, the vote locked and still waiting for its trustees."""
    vote = lock_row(vote)
    trustee = trustee_after_close(actor, vote)
    e2e.store_opening(
        actor, _ceremony_of(vote), trustee, checked, institution=vote.assembly.institution
    )


def add_opening(actor: Actor, vote: Vote, upload: Any) -> None:
    """Check and keep a trustee's decryption shares in one step (benchmarks, tests)."""
    store_opening(actor, vote, check_opening(actor, vote, upload))


def open_vote_ballots(vote: Vote, *, day: date) -> int:
    """At the count: store the vote's opened rankings as ballots; how many.

    :raises InvalidTransition: too few trustees have opened the ballots.
    """
    return e2e.open_ballots(
        _ceremony_of(vote),
        vote.poll_id,
        candidate_ids(vote),
        day=day,
        read=_reader(vote),
        choices=vote.kind == VoteKind.confirmation,
        cards=True,
    )


def section(vote: Vote) -> dict[str, Any] | None:
    """The vote's ``e2e`` object in the record (None when it took no encrypted ballots)."""
    if not is_encrypted(vote):
        return None
    assert vote.assembly.ceremony is not None
    return e2e.section_document(
        vote.assembly.ceremony, vote.poll_id, candidate_ids(vote), cards=True
    )


def progress(assembly: Assembly) -> list[dict[str, Any]]:
    """Per encrypted vote: ballots cast, shuffles by whom, openings by whom."""
    return [
        {
            "name": f"Vote {vote.number}",
            "cast": encrypted_cast(vote),
            "shuffled_by": [s.trustee for s in e2e.shuffles_of(vote.poll_id)],
            "opened_by": [o.trustee for o in e2e.openings_of(vote.poll_id)],
        }
        for vote in assembly.votes
        if is_encrypted(vote)
    ]
