"""A board election polled end-to-end verifiably (``Election.e2e``): the returning officer
names the trustees (themself and the scrutineers the members chose) and the threshold; the
trustees' key ceremony gives one election key for every contest; the officer's browser makes
each contest's credentials from its frozen roll; voters cast encrypted ballots; after the
close each trustee shuffles and opens every contest, and the opened rankings are counted with
the paper and plain online ballots.

Who may act, and when, is checked here; the steps themselves are ``assembly.e2e.operations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import SYSTEM, Actor
from assembly.auth.models import User
from assembly.clock import today as london_today
from assembly.crypto import poll
from assembly.e2e import operations as e2e
from assembly.e2e.models import Ceremony, EncryptedBallot, Trustee
from assembly.elections.models import Contest, CountMethod, Election
from assembly.elections.nominations import valid_candidates
from assembly.elections.operations import lock_election
from assembly.elections.states import ElectionState
from assembly.elections.voting import Receipt, check_poll_open
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.polls.casting import ANONYMOUS_VOTER, AlreadyVoted, mark_voted
from assembly.polls.models import Channel
from assembly.records.operations import current_signing_key, sign_receipt
from assembly.records.record import encrypted_ballot_hash
from assembly.urls import external_url

__all__ = [
    "TRUSTEE_STATES",
    "appoint",
    "audit_ballot",
    "cast_ballot",
    "ceremony_label",
    "check_ballot",
    "check_openings",
    "check_shuffles",
    "contest_label",
    "open_contests",
    "publish_contest_credentials",
    "section",
    "store_openings",
    "store_shuffles",
    "trustee_after_close",
    "trustee_of",
]

#: When the returning officer may name the trustees and the ceremony may run: from approval
#: until the poll opens.
TRUSTEE_STATES = frozenset(
    {ElectionState.approved, ElectionState.nominations_open, ElectionState.nominations_closed}
)


def ceremony_label(election: Election) -> str:
    """The ceremony's label: the institution and the election."""
    return f"{election.institution.slug}/election/{election.id}"


def contest_label(election: Election, contest: Contest) -> str:
    """The label every proof of a contest's poll is bound to."""
    assert election.ceremony is not None
    return e2e.poll_label(election.ceremony, contest.poll_id)


def trustee_of(election: Election, user: object) -> Trustee | None:
    """The user's place among the election's trustees, if they are one."""
    if election.ceremony is None or not isinstance(user, User):
        return None
    return next((t for t in election.ceremony.trustees if t.user_id == user.id), None)


def _check_officer(actor: Actor, election: Election, what: str) -> None:
    if not election.is_returning_officer(actor):
        raise NotEligible(f"Only the election's returning officer {what}.")


def appoint(
    actor: Actor, election: Election, scrutineers: Sequence[str], threshold: int
) -> Ceremony:
    """Name the trustees: the returning officer (trustee 1) and the scrutineers by email
    address (an account is made for anyone who has none), any ``threshold`` of whom open the
    ballots. Once, before the poll opens.

    :raises RuleViolation: a scrutineer named twice or as the officer; a threshold out of range.
    """
    _check_officer(actor, election, "names the trustees")
    election = lock_election(election)
    if not election.e2e:
        raise InvalidTransition("This election is not polled end-to-end verifiably.")
    if election.state not in TRUSTEE_STATES:
        raise InvalidTransition(
            "Trustees are named after the election is approved and before the poll opens."
        )
    if election.ceremony_id is not None:
        raise InvalidTransition("The trustees are named already.")
    ceremony = e2e.name_trustees(
        actor,
        ceremony_label(election),
        scrutineers,
        threshold,
        institution=election.institution,
        notice=e2e.TrusteeNotice(
            title=election.title,
            poll_of="election",
            before="Before the poll opens",
            after="after the poll closes",
            url=external_url(
                "elections.trustees", slug=election.institution.slug, election_id=election.id
            ),
        ),
    )
    election.ceremony = ceremony
    db.session.flush()
    return ceremony


def _trustee_step(election: Election) -> None:
    if election.state not in TRUSTEE_STATES:
        raise InvalidTransition("The key ceremony runs before the poll opens.")


def register_transport_key(actor: Actor, election: Election, key: str) -> None:
    trustee = _trustee(actor, election)
    _trustee_step(election)
    e2e.register_transport_key(actor, trustee, key, institution=election.institution)


def post_dealing(actor: Actor, election: Election, dealing: Any) -> None:
    trustee = _trustee(actor, election)
    _trustee_step(election)
    e2e.post_dealing(actor, trustee, dealing, institution=election.institution)


def confirm_key(actor: Actor, election: Election, public: str) -> bool:
    trustee = _trustee(actor, election)
    _trustee_step(election)
    return e2e.confirm_key(actor, trustee, public, institution=election.institution)


def restart_ceremony(actor: Actor, election: Election) -> None:
    """The officer starts the dealing again (a dealing failed a trustee's check)."""
    _check_officer(actor, election, "starts the dealing again")
    _trustee_step(election)
    if election.ceremony is None:
        raise InvalidTransition("No trustees are named yet.")
    e2e.restart_ceremony(actor, election.ceremony, institution=election.institution)


def _trustee(actor: Actor, election: Election) -> Trustee:
    trustee = trustee_of(election, actor)
    if trustee is None:
        raise NotEligible("Only the election's trustees take part in its key ceremony.")
    return trustee


# --- credentials -------------------------------------------------------------------------------


def publish_contest_credentials(
    actor: Actor, election: Election, contest: Contest, credentials: Sequence[str]
) -> None:
    """Publish the public credentials the officer's browser made from the contest's frozen
    roll (one per entry); their codes went to the officer's own file, never here."""
    _check_officer(actor, election, "publishes the credentials")
    election = lock_election(election)
    if not election.e2e or election.state != ElectionState.nominations_closed:
        raise InvalidTransition(
            "Credentials are made from the frozen roll: after nominations close and before "
            "the poll opens."
        )
    if contest.is_uncontested:
        raise InvalidTransition(
            f"{contest.constituency.name} has no poll: it needs no credentials."
        )
    e2e.publish_credentials(
        actor, contest.poll_id, credentials, contest.roll_size, institution=election.institution
    )


# --- casting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    tracker: str
    ranking: tuple[int, ...]


def _polled_ceremony(election: Election, contest: Contest) -> Ceremony:
    """The ceremony whose key ``contest``'s encrypted ballots are under.

    :raises InvalidTransition: the election's ballots are not encrypted.
    :raises RuleViolation: the contest has no poll in this election.
    """
    if not election.e2e or election.ceremony is None or not election.ceremony.election_key:
        raise InvalidTransition("This election's ballots are not encrypted.")
    if contest.election_id != election.id or contest.is_uncontested:
        raise RuleViolation("That contest has no poll in this election.")
    return election.ceremony


def _open_contest(actor: Actor, election: Election, contest: Contest, day: date) -> Ceremony:
    election = lock_election(election, shared=True)
    check_poll_open(election, day)
    return _polled_ceremony(election, contest)


def check_ballot(election: Election, contest: Contest, cast: Any) -> e2e.CheckedCast:
    """An encrypted ballot for ``contest`` read and its proofs and signature checked, before
    any lock is taken (``cast_ballot`` takes the result): the check is most of a cast's work,
    and the election key it uses never changes once the ceremony is complete.

    :raises InvalidTransition: the election's ballots are not encrypted.
    :raises RuleViolation: the ballot is malformed or a proof or the signature does not hold.
    """
    ceremony = _polled_ceremony(election, contest)
    candidates = len(valid_candidates(contest))
    return e2e.check_cast(ceremony, contest.poll_id, candidates, cast)


def cast_ballot(
    actor: Actor,
    election: Election,
    contest: Contest,
    person_id: int,
    cast: Any,
    *,
    today: date | None = None,
) -> Receipt:
    """Cast an encrypted ballot for the voter on ``contest``'s roll (``person_id``): their
    roll mark and the ballot together, in one transaction, with the poll's lock held.
    ``cast`` is the ballot as JSON, or as ``check_ballot`` returned it (checked already).

    :raises AlreadyVoted: they have voted (in any way).
    :raises RuleViolation: the ballot's proofs or signature do not hold, or the credential is
        not the contest's.
    :raises Conflict: the credential was used.
    """
    day = today or london_today()
    checked = cast if isinstance(cast, e2e.CheckedCast) else check_ballot(election, contest, cast)
    _open_contest(actor, election, contest, day)
    tracker = e2e.store_cast(contest.poll_id, checked, day=day)
    if not mark_voted(contest.poll_id, person_id, Channel.online):
        raise AlreadyVoted("You have already voted in this election.")
    record_event(
        ANONYMOUS_VOTER,
        "ballot.cast",
        institution=election.institution_id,
        subject=Ref("contest", contest.id),
        data={"encrypted": True},
    )
    # The cast as stored and as the record lists it (store_cast keeps its to_json).
    digest = encrypted_ballot_hash(contest.id, checked.cast.to_json())
    receipt = {
        "institution": election.institution.slug,
        "election": election.id,
        "contest": contest.id,
        "tracker": tracker,
        "ballot_hash": digest,
        "encrypted": True,
        "cast_on": day.isoformat(),
    }
    key_id = election.signing_key_id or current_signing_key(SYSTEM).id
    return Receipt(contest.id, tracker, digest, sign_receipt(key_id, receipt))


def audit_ballot(
    actor: Actor, election: Election, contest: Contest, audited: Any, *, today: date | None = None
) -> Audit:
    """Publish an encryption the voter challenged, once it opens to the ranking they chose."""
    day = today or london_today()
    ceremony = _open_contest(actor, election, contest, day)
    ids = [c.id for c in valid_candidates(contest)]
    tracker, ranking = e2e.audit_encrypted(ceremony, contest.poll_id, ids, audited)
    record_event(
        ANONYMOUS_VOTER,
        "ballot.audited",
        institution=election.institution_id,
        subject=Ref("contest", contest.id),
        data={"tracker": tracker},
    )
    return Audit(tracker, ranking)


# --- after the close ---------------------------------------------------------------------------


def polled_contests(election: Election) -> list[Contest]:
    """The contests with a poll, in id order."""
    return [c for c in sorted(election.contests, key=lambda c: c.id) if not c.is_uncontested]


def task(election: Election) -> dict[str, Any]:
    """What a trustee downloads to shuffle or open: for each contest, its label, the key and
    the rows the next step takes (``assembly trustee shuffle|open`` reads it)."""
    ceremony = election.ceremony
    assert ceremony is not None
    return {
        "ceremony": ceremony.label,
        "election_key": ceremony.election_key,
        "threshold": ceremony.threshold,
        "polls": [
            {
                "poll": contest.poll_id,
                "label": contest_label(election, contest),
                "candidates": len(valid_candidates(contest)),
                "rows": [
                    [c.to_json() for c in row]
                    for row in e2e.rows_to_shuffle(contest.poll_id, len(valid_candidates(contest)))
                ],
            }
            for contest in polled_contests(election)
        ],
    }


def trustee_after_close(actor: Actor, election: Election) -> Trustee:
    """The actor's trustee of the election, once its poll has closed (the shuffles and the
    opening come then).

    :raises NotEligible: the actor is not one of its trustees.
    :raises InvalidTransition: the poll has not closed, or the count has begun.
    """
    trustee = _trustee(actor, election)
    if election.state != ElectionState.poll_closed:
        raise InvalidTransition("The trustees shuffle and open the ballots after the poll closes.")
    return trustee


def _by_poll(election: Election, upload: Any, part: str) -> dict[int, Any]:
    contests = {c.poll_id: c for c in polled_contests(election)}
    try:
        parts = {int(p["poll"]): p[part] for p in upload["polls"]}
    except (KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The file is not a trustee's {part}s: {error!r}") from error
    if set(parts) != set(contests):
        raise RuleViolation(f"The file must hold a {part} of every contest of this election.")
    return parts


def check_shuffles(actor: Actor, election: Election, upload: Any) -> list[e2e.CheckedUpload]:
    """Check a trustee's shuffle of every contest (the file ``assembly trustee shuffle``
    wrote), each against the contest's current rows, before any lock is taken;
    ``store_shuffles`` keeps them."""
    trustee = trustee_after_close(actor, election)
    assert election.ceremony is not None
    contests = {c.poll_id: c for c in polled_contests(election)}
    return [
        e2e.check_shuffle(
            actor,
            election.ceremony,
            trustee,
            poll_id,
            len(valid_candidates(contests[poll_id])),
            shuffled,
        )
        for poll_id, shuffled in _by_poll(election, upload, "shuffle").items()
    ]


def store_shuffles(actor: Actor, election: Election, checked: Sequence[e2e.CheckedUpload]) -> None:
    """Keep checked shuffles, the election locked and its poll still closed."""
    election = lock_election(election)
    trustee = trustee_after_close(actor, election)
    for upload in checked:
        e2e.store_shuffle(actor, trustee, upload, institution=election.institution)


def add_shuffles(actor: Actor, election: Election, upload: Any) -> None:
    """Check and keep a trustee's shuffles in one step (benchmarks, tests)."""
    store_shuffles(actor, election, check_shuffles(actor, election, upload))


def check_openings(actor: Actor, election: Election, upload: Any) -> list[e2e.CheckedUpload]:
    """Check a trustee's decryption shares of every contest (``assembly trustee open``)
    before any lock is taken; ``store_openings`` keeps them."""
    trustee = trustee_after_close(actor, election)
    assert election.ceremony is not None
    return [
        e2e.check_opening(actor, election.ceremony, trustee, poll_id, opening)
        for poll_id, opening in _by_poll(election, upload, "opening").items()
    ]


def store_openings(actor: Actor, election: Election, checked: Sequence[e2e.CheckedUpload]) -> None:
    """Keep checked decryption shares, the election locked and its poll still closed."""
    election = lock_election(election)
    trustee = trustee_after_close(actor, election)
    assert election.ceremony is not None
    for upload in checked:
        e2e.store_opening(
            actor, election.ceremony, trustee, upload, institution=election.institution
        )


def add_openings(actor: Actor, election: Election, upload: Any) -> None:
    """Check and keep a trustee's decryption shares in one step (benchmarks, tests)."""
    store_openings(actor, election, check_openings(actor, election, upload))


def open_contests(election: Election, *, day: date | None = None) -> dict[int, int]:
    """At the count: store every contest's opened rankings as ballots; how many per contest.

    :raises InvalidTransition: a contest with encrypted ballots is not opened yet.
    """
    if not election.e2e or election.ceremony is None:
        return {}
    ceremony = election.ceremony
    opened = {}
    for contest in polled_contests(election) if ceremony.election_key else []:
        ids = [c.id for c in valid_candidates(contest)]
        opened[contest.id] = e2e.open_ballots(
            ceremony,
            contest.poll_id,
            ids,
            day=day or london_today(),
            read=poll.choice_reader(contest.seats, ids)
            if contest.method == CountMethod.plurality
            else poll.as_ranked,
        )
    return opened


def section(election: Election, contest: Contest) -> dict[str, Any] | None:
    """The contest's ``e2e`` object in the record (None when it was not polled so)."""
    if not election.e2e or election.ceremony is None or contest.is_uncontested:
        return None
    ids = [c.id for c in valid_candidates(contest)]
    return e2e.section_document(election.ceremony, contest.poll_id, ids)


def progress(election: Election) -> list[dict[str, Any]]:
    """Per contest: ballots cast, audited, shuffles by whom, openings by whom."""
    out = []
    for contest in polled_contests(election):
        shuffles = e2e.shuffles_of(contest.poll_id)
        openings = e2e.openings_of(contest.poll_id)
        cast = db.session.scalar(
            select(func.count()).where(EncryptedBallot.poll_id == contest.poll_id)
        )
        out.append(
            {
                "name": contest.constituency.name,
                "cast": cast or 0,
                "shuffled_by": [s.trustee for s in shuffles],
                "opened_by": [o.trustee for o in openings],
            }
        )
    return out
