"""What changes an end-to-end verifiable poll, step by step: the trustees' key ceremony, the
public credentials, casting and auditing encrypted ballots, the trustees' shuffles and
openings, and the opened rankings stored as ballots to be counted.

Every function checks what it is given with the pure core (``assembly.crypto``) before it
stores anything, so that a malformed or dishonest part is refused with a message and the
database is left as it was. The callers (board elections, assemblies) check who may act and
when, lock their own rows, and commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select

from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.auth.models import User
from assembly.auth.operations import ensure_user, normalise_email
from assembly.clock import utcnow
from assembly.crypto import ballot as ballots
from assembly.crypto import poll
from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import GroupError, Point
from assembly.crypto.proofs import Schnorr
from assembly.crypto.shuffle import verify_shuffle
from assembly.crypto.trustees import election_key, trustee_public
from assembly.e2e.models import (
    AuditedBallot,
    Ceremony,
    Credential,
    EncryptedBallot,
    Opening,
    Shuffle,
    Trustee,
)
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db, insert_or_ignore
from assembly.notices.operations import queue_notice
from assembly.polls.casting import store_ballot
from assembly.polls.models import Channel
from assembly.urls import external_url

__all__ = [
    "MAX_TRUSTEES",
    "CeremonyStep",
    "CheckedCast",
    "CheckedUpload",
    "TrusteeNotice",
    "appoint_trustees",
    "audit_encrypted",
    "ceremony_step",
    "check_cast",
    "check_opening",
    "check_shuffle",
    "confirm_key",
    "credentials_of",
    "dealings_of",
    "groups_of",
    "list_credentials",
    "name_trustees",
    "open_ballots",
    "openings_of",
    "poll_label",
    "post_dealing",
    "publish_credentials",
    "read_credentials",
    "read_point",
    "register_transport_key",
    "restart_ceremony",
    "rows_to_shuffle",
    "section_document",
    "section_of",
    "shuffles_of",
    "store_cast",
    "store_opening",
    "store_shuffle",
]

#: The most trustees a ceremony has: each deals a share to every other.
MAX_TRUSTEES = 12


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def poll_label(ceremony: Ceremony, poll_id: int) -> str:
    """The label every proof of one poll is bound to: the ceremony's, and the poll."""
    return f"{ceremony.label}/poll/{poll_id}"


# --- the key ceremony --------------------------------------------------------------------------


class CeremonyStep:
    """Where a ceremony is: each trustee registers a transport key, then deals, then
    confirms; then the election key is fixed."""

    registering = "registering"
    dealing = "dealing"
    confirming = "confirming"
    complete = "complete"


def ceremony_step(ceremony: Ceremony) -> str:
    """The step the ceremony is at (``CeremonyStep``)."""
    if ceremony.election_key:
        return CeremonyStep.complete
    trustees = ceremony.trustees
    if any(not t.transport_key for t in trustees):
        return CeremonyStep.registering
    if any(not t.dealing for t in trustees):
        return CeremonyStep.dealing
    return CeremonyStep.confirming


def appoint_trustees(
    actor: Actor, label: str, threshold: int, users: Sequence[User], *, institution: Any
) -> Ceremony:
    """A ceremony of these trustees (numbered in this order: the returning officer first),
    any ``threshold`` of whom open the ballots.

    :raises RuleViolation: a trustee named twice, too few or too many, or a threshold out
        of range.
    """
    ids = [u.id for u in users]
    if len(set(ids)) != len(ids):
        raise RuleViolation("Each trustee can be named once.")
    if not 2 <= len(users) <= MAX_TRUSTEES:
        raise RuleViolation(
            f"Name between 1 and {MAX_TRUSTEES - 1} scrutineers besides the returning officer."
        )
    if not 1 <= threshold <= len(users):
        raise RuleViolation(
            f"The number of trustees needed to open the ballots must be between 1 and "
            f"{len(users)}, the number of trustees."
        )
    ceremony = Ceremony(label=label, threshold=threshold)
    ceremony.trustees = [Trustee(number=i, user=u) for i, u in enumerate(users, start=1)]
    db.session.add(ceremony)
    db.session.flush()
    record_event(
        actor,
        "e2e.trustees_appointed",
        institution=institution,
        subject=ceremony,
        data={
            "label": label,
            "threshold": threshold,
            "trustees": [{"number": i, "email": u.email} for i, u in enumerate(users, 1)],
        },
    )
    return ceremony


@dataclass(frozen=True)
class TrusteeNotice:
    """What the email to a named trustee says of what they are a trustee of."""

    #: The election's or the assembly's title.
    title: str
    #: "election" or "assembly".
    poll_of: str
    #: When the ceremony runs ("Before the poll opens") and when the ballots are opened.
    before: str
    after: str
    #: The trustees' page.
    url: str


def name_trustees(
    actor: Actor,
    label: str,
    scrutineers: Sequence[str],
    threshold: int,
    *,
    institution: Any,
    notice: TrusteeNotice,
) -> Ceremony:
    """The returning officer (``actor``, trustee 1) names the scrutineers by email address
    (an account is made for anyone who has none): their ceremony, any ``threshold`` of whom
    open the ballots; each scrutineer is emailed. The caller checks who and when.

    :raises RuleViolation: an address that is not one, a scrutineer named twice or as the
        officer, or a threshold out of range.
    """
    emails = [normalise_email(e) for e in scrutineers if e.strip()]
    for email in emails:
        if "@" not in email:
            raise RuleViolation(f"{email} is not an email address.")
    assert isinstance(actor, User)
    if actor.email in emails:
        raise RuleViolation("The returning officer is trustee 1 already: name the scrutineers.")
    users = [actor, *(ensure_user(actor, email) for email in emails)]
    ceremony = appoint_trustees(actor, label, threshold, users, institution=institution)
    for number, user in enumerate(users[1:], start=2):
        queue_notice(
            "trustee_named",
            user.email,
            f"You are a trustee of {notice.title} at {institution.name}",
            "trustee_named",
            institution=institution,
            subject_title=notice.title,
            poll_of=notice.poll_of,
            before=notice.before,
            after=notice.after,
            officer=actor.display_name or actor.email,
            number=number,
            count=len(users),
            threshold=threshold,
            trustees_url=notice.url,
            sign_in_url=external_url("auth.sign_in"),
        )
    return ceremony


def restart_ceremony(actor: Actor, ceremony: Ceremony, *, institution: Any) -> None:
    """Start the dealing again (a trustee's dealing failed another's check): the transport
    keys stay, every dealing and confirmation is cleared."""
    for trustee in ceremony.trustees:
        trustee.dealing = ""
        trustee.public_key = ""
        trustee.confirmed_at = None
    ceremony.election_key = ""
    ceremony.completed_at = None
    db.session.flush()
    record_event(actor, "e2e.ceremony_restarted", institution=institution, subject=ceremony)


def read_point(text: Any, what: str) -> Point:
    try:
        return Point.from_hex(str(text))
    except (GroupError, ValueError) as error:
        raise RuleViolation(f"The {what} is not a point of the group: {error}") from error


def _check_trustee(actor: Actor, trustee: Trustee) -> None:
    if not isinstance(actor, User) or actor.id != trustee.user_id:
        raise NotEligible("Only the trustee themself takes their steps of the ceremony.")


def register_transport_key(actor: Actor, trustee: Trustee, key: str, *, institution: Any) -> None:
    """The trustee's browser registers the public half of its transport key (it may register
    a new one until every trustee has registered)."""
    _check_trustee(actor, trustee)
    if ceremony_step(trustee.ceremony) != CeremonyStep.registering:
        raise InvalidTransition("Every trustee has registered a key: the dealing has begun.")
    point = read_point(key, "transport key")
    trustee.transport_key = point.hex()
    db.session.flush()
    record_event(
        actor,
        "e2e.transport_key_registered",
        institution=institution,
        subject=trustee.ceremony,
        data={"trustee": trustee.number, "transport_key": point.hex()},
    )


def _dealing_holds(ceremony: Ceremony, trustee: Trustee, dealing: Any) -> dict[str, Any]:
    """The dealing, checked and in its canonical form."""
    try:
        number = int(dealing["number"])
        commitments = [Point.from_hex(str(c)) for c in dealing["commitments"]]
        proof = Schnorr.from_json(dealing["proof"])
        sealed: dict[int, dict[str, Any]] = {}
        for share in dealing["shares"]:
            box = bytes.fromhex(str(share["box"]))
            if len(box) != 32:
                raise ValueError("a sealed share's box is 32 bytes")
            to = int(share["to"])
            sealed[to] = {
                "to": to,
                "ephemeral": Point.from_hex(str(share["ephemeral"])).hex(),
                "box": box.hex(),
            }
    except (GroupError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise RuleViolation(f"The dealing cannot be read: {error}") from error
    if number != trustee.number:
        raise RuleViolation(f"The dealing is trustee {number}'s, not yours.")
    if len(commitments) != ceremony.threshold:
        raise RuleViolation(
            f"The dealing commits to {len(commitments)} coefficients, not {ceremony.threshold}."
        )
    if not proof.verify(commitments[0], f"{ceremony.label}/trustee/{trustee.number}"):
        raise RuleViolation("The dealing's proof of knowledge does not hold.")
    if set(sealed) != {t.number for t in ceremony.trustees}:
        raise RuleViolation("The dealing must seal one share to every trustee.")
    return {
        "number": trustee.number,
        "commitments": [c.hex() for c in commitments],
        "proof": proof.to_json(),
        "shares": [sealed[n] for n in sorted(sealed)],
    }


def post_dealing(actor: Actor, trustee: Trustee, dealing: Any, *, institution: Any) -> None:
    """The trustee's browser posts its dealing: commitments, proof and sealed shares.

    :raises RuleViolation: the dealing does not hold (nothing is stored).
    """
    _check_trustee(actor, trustee)
    ceremony = trustee.ceremony
    if ceremony_step(ceremony) != CeremonyStep.dealing:
        raise InvalidTransition(
            "The dealing is open once every trustee has registered a key, until each has dealt."
        )
    if trustee.dealing:
        raise Conflict("You have dealt already.")
    trustee.dealing = _json(_dealing_holds(ceremony, trustee, dealing))
    db.session.flush()
    record_event(
        actor,
        "e2e.dealt",
        institution=institution,
        subject=ceremony,
        data={"trustee": trustee.number},
    )


def dealings_of(ceremony: Ceremony) -> list[dict[str, Any]]:
    """Every dealing posted, in trustee order."""
    return [json.loads(t.dealing) for t in ceremony.trustees if t.dealing]


def _commitments(ceremony: Ceremony) -> list[list[Point]]:
    return [[Point.from_hex(c) for c in d["commitments"]] for d in dealings_of(ceremony)]


def confirm_key(actor: Actor, trustee: Trustee, public: str, *, institution: Any) -> bool:
    """The trustee's browser checked every dealing and derived its decryption key: it
    confirms the public half, which must be the one the commitments give. When the last
    trustee confirms, the election key is fixed; returns whether it was.

    :raises RuleViolation: the key is not the one the commitments give.
    """
    _check_trustee(actor, trustee)
    ceremony = trustee.ceremony
    if ceremony_step(ceremony) != CeremonyStep.confirming:
        raise InvalidTransition("Keys are confirmed once every trustee has dealt.")
    commitments = _commitments(ceremony)
    expected = trustee_public(commitments, trustee.number)
    if read_point(public, "decryption key") != expected:
        raise RuleViolation(
            "Your browser's decryption key is not the one the dealings give: a share you "
            "received was wrong. Tell the returning officer, who starts the dealing again."
        )
    trustee.public_key = expected.hex()
    trustee.confirmed_at = utcnow()
    done = all(t.confirmed_at is not None for t in ceremony.trustees)
    if done:
        ceremony.election_key = election_key(commitments).hex()
        ceremony.completed_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "e2e.key_confirmed",
        institution=institution,
        subject=ceremony,
        data={
            "trustee": trustee.number,
            **({"election_key": ceremony.election_key} if done else {}),
        },
    )
    return done


# --- credentials ------------------------------------------------------------------------------


def groups_of(poll_id: int) -> list[str]:
    """The constituencies a poll counts its encrypted ballots by, in order of their keys
    (a weighted assembly vote's); empty for a poll that has no groups. Kept for the session:
    a poll's credentials never change once listed."""
    kept = db.session.info.setdefault("e2e_groups", {})
    if poll_id not in kept:
        kept[poll_id] = list(
            db.session.scalars(
                select(Credential.constituency)
                .where(Credential.poll_id == poll_id, Credential.constituency != "")
                .distinct()
                .order_by(Credential.constituency)
            )
        )
    return list(kept[poll_id])


def list_credentials(poll_id: int, credentials: Sequence[tuple[str, str]]) -> None:
    """List a poll's credentials (each with its constituency, or "" where the poll has no
    groups) as they were checked elsewhere (an assembly's cards, copied when a vote opens)."""
    if credentials:
        db.session.execute(
            Credential.__table__.insert(),
            [{"poll_id": poll_id, "credential": c, "constituency": k} for c, k in credentials],
        )
    db.session.info.get("e2e_groups", {}).pop(poll_id, None)


def credentials_of(poll_id: int) -> list[str]:
    """The poll's public credentials, in increasing order of their bytes."""
    return list(
        db.session.scalars(
            select(Credential.credential)
            .where(Credential.poll_id == poll_id)
            .order_by(Credential.credential)
        )
    )


def read_credentials(credentials: Sequence[Any], what: str = "credential") -> list[str]:
    """Public credentials (or cards) as posted, each read as a point: their hex, distinct.

    :raises RuleViolation: one that is not a point, or one listed twice.
    """
    hexes = [read_point(c, what).hex() for c in credentials]
    if len(set(hexes)) != len(hexes):
        raise RuleViolation(f"A {what} is listed twice.")
    return hexes


def publish_credentials(
    actor: Actor, poll_id: int, credentials: Sequence[str], roll: int, *, institution: Any
) -> None:
    """Publish a poll's public credentials: exactly one per roll entry, distinct; once.

    :raises RuleViolation: a credential that is not a point, repeated, or the wrong count.
    """
    if db.session.scalar(select(func.count()).where(Credential.poll_id == poll_id)):
        raise Conflict("This poll's credentials are published already.")
    points = read_credentials(credentials)
    if len(points) != roll:
        raise RuleViolation(f"{len(points)} credentials for a roll of {roll}: one each.")
    db.session.execute(
        Credential.__table__.insert(),
        [{"poll_id": poll_id, "credential": p} for p in points],
    )
    record_event(
        actor,
        "e2e.credentials_published",
        institution=institution,
        subject=Ref("poll", poll_id),
        data={"count": len(points)},
    )


# --- casting and auditing ----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedCast:
    """An encrypted ballot whose proofs and signature hold (``check_cast``), with its row."""

    cast: poll.Cast
    row: tuple[Ciphertext, ...]


def check_cast(ceremony: Ceremony, poll_id: int, candidates: int, cast: Any) -> CheckedCast:
    """An encrypted ballot (``crypto.poll.Cast`` as JSON) read and checked: its shape, every
    proof and its signature. Reads nothing from the database, so it runs before the caller
    takes any lock (it is most of a cast's work).

    :raises RuleViolation: malformed, or a proof or the signature does not hold.
    """
    label = poll_label(ceremony, poll_id)
    try:
        parsed = poll.Cast.from_json(cast)
    except (GroupError, KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The encrypted ballot cannot be read: {error}") from error
    layout = ballots.Layout(candidates)
    key = Point.from_hex(ceremony.election_key)
    if len(parsed.ballot.row) != layout.width or len(parsed.ballot.proofs) != layout.width:
        raise RuleViolation("The encrypted ballot is not one of this poll's candidates.")
    if not poll.ballot_holds(key, layout, label)(parsed):
        raise RuleViolation(
            "The encrypted ballot's proofs or its signature do not hold: check the credential "
            "you entered, and vote again."
        )
    return CheckedCast(parsed, tuple(ballots.row_of(layout, parsed.ballot)))


def store_cast(
    poll_id: int, checked: CheckedCast, *, day: date, constituency: str | None = None
) -> str:
    """Store a checked encrypted ballot (``check_cast``) with its row; return its tracker.
    The caller holds the poll's lock and writes the voter's roll mark in the same
    transaction. Where the poll has groups, the row ends with the credential's group's tag
    (``crypto.poll.group_tag``), and ``constituency`` (the voter's) must be the group's.

    :raises RuleViolation: the credential is not on the poll's list, or is another
        constituency's.
    :raises Conflict: the credential has been used.
    """
    parsed = checked.cast
    credential = parsed.credential.hex()
    listed = db.session.get(Credential, (poll_id, credential))
    if listed is None:
        raise RuleViolation(
            "That credential is not one of this poll's. Check the one the returning officer "
            "sent you."
        )
    row = list(checked.row)
    if listed.constituency:
        if constituency is not None and listed.constituency != constituency:
            raise RuleViolation(
                "That card is for another constituency's members: ask a teller for a card "
                "of your own constituency."
            )
        row.append(poll.group_tag(groups_of(poll_id).index(listed.constituency) + 1))
    connection = db.session.connection()
    stored = connection.execute(
        insert_or_ignore(EncryptedBallot.__table__, connection.dialect.name),
        {
            "poll_id": poll_id,
            "tracker": parsed.tracker,
            "credential": credential,
            "content": _json(parsed.to_json()),
            "cast_on": day,
            "row": _json([c.to_json() for c in row]),
        },
    )
    if stored.rowcount != 1:
        raise Conflict("A ballot has been cast with that credential already.")
    return parsed.tracker


def audit_encrypted(
    ceremony: Ceremony, poll_id: int, ids: Sequence[int | str], audited: Any
) -> tuple[str, tuple[int, ...]]:
    """Check and publish an encryption the voter challenged: it must open to the ranking it
    states (else the voter's browser, or the page it was given, is not honest). Returns its
    tracker and the ranking (candidate indexes).

    :raises RuleViolation: malformed, or it does not open to its ranking.
    """
    try:
        parsed = poll.Audited.from_json(audited, ids)
    except (GroupError, KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The audited ballot cannot be read: {error}") from error
    key = Point.from_hex(ceremony.election_key)
    layout = ballots.Layout(len(ids))
    if not ballots.opens_to(key, layout, parsed.ballot, parsed.randomness, parsed.ranking):
        raise RuleViolation(
            "This encryption does NOT open to the ranking you chose. Do not vote on this "
            "device; tell the returning officer."
        )
    tracker = ballots.tracker(parsed.ballot)
    if db.session.get(EncryptedBallot, (poll_id, tracker)) is not None:
        raise Conflict("That encryption was cast: it cannot also be audited.")
    connection = db.session.connection()
    connection.execute(
        insert_or_ignore(AuditedBallot.__table__, connection.dialect.name),
        {"poll_id": poll_id, "tracker": tracker, "content": _json(parsed.to_json(ids))},
    )
    return tracker, parsed.ranking


# --- shuffles and openings ---------------------------------------------------------------------


def _casts(poll_id: int) -> list[poll.Cast]:
    return [
        poll.Cast.from_json(json.loads(content))
        for content in db.session.scalars(
            select(EncryptedBallot.content)
            .where(EncryptedBallot.poll_id == poll_id)
            .order_by(EncryptedBallot.tracker)
        )
    ]


def shuffles_of(poll_id: int) -> list[poll.Shuffled]:
    """The poll's shuffles, in order."""
    return [
        poll.Shuffled.from_json(json.loads(content))
        for content in db.session.scalars(
            select(Shuffle.content).where(Shuffle.poll_id == poll_id).order_by(Shuffle.position)
        )
    ]


def openings_of(poll_id: int) -> list[poll.Opening]:
    """The trustees' openings of the poll's last shuffle, in trustee order."""
    return [
        poll.Opening.from_json(json.loads(content))
        for content in db.session.scalars(
            select(Opening.content).where(Opening.poll_id == poll_id).order_by(Opening.trustee)
        )
    ]


def rows_to_shuffle(poll_id: int, candidates: int) -> list[list[Ciphertext]]:
    """The rows the next shuffle takes (and, once shuffled, the rows the trustees open):
    the last shuffle's, or the cast ballots' in tracker order."""
    done = shuffles_of(poll_id)
    if done:
        return [list(row) for row in done[-1].rows]
    layout = ballots.Layout(candidates)
    rows = []
    for row, content in db.session.execute(
        select(EncryptedBallot.row, EncryptedBallot.content)
        .where(EncryptedBallot.poll_id == poll_id)
        .order_by(EncryptedBallot.tracker)
    ):
        if row:
            rows.append([Ciphertext.from_json(c) for c in json.loads(row)])
        else:  # cast before rows were kept (and before polls had groups)
            rows.append(ballots.row_of(layout, poll.Cast.from_json(json.loads(content)).ballot))
    return rows


@dataclass(frozen=True)
class CheckedUpload:
    """A trustee's shuffle or decryption shares of one poll, its proofs checked against the
    poll as it was (``check_shuffle``, ``check_opening``): kept by ``store_shuffle`` or
    ``store_opening`` only if the poll is still so when the lock is held."""

    poll_id: int
    #: How many shuffles the poll had when this was checked.
    shuffles: int
    content: str
    rows: int


def _unshuffled_or_refused(trustee: Trustee, poll_id: int) -> None:
    if db.session.scalar(select(func.count()).where(Opening.poll_id == poll_id)):
        raise InvalidTransition("The opening has begun: no more shuffles.")
    if db.session.scalar(
        select(func.count()).where(Shuffle.poll_id == poll_id, Shuffle.trustee == trustee.number)
    ):
        raise Conflict("You have shuffled this poll already.")


def check_shuffle(
    actor: Actor, ceremony: Ceremony, trustee: Trustee, poll_id: int, candidates: int, shuffled: Any
) -> CheckedUpload:
    """Check a trustee's shuffle of the poll's current rows. Reads, never writes, and takes no
    lock: the proof's check is most of an upload's work (seconds for 10,000 rows), so it runs
    before the caller takes its lock and calls ``store_shuffle``.

    :raises RuleViolation: malformed, or its proof does not hold.
    :raises Conflict: this trustee has shuffled this poll, or the opening has begun.
    """
    _check_trustee(actor, trustee)
    done = shuffles_of(poll_id)
    _unshuffled_or_refused(trustee, poll_id)
    try:
        parsed = poll.Shuffled.from_json(shuffled)
    except (GroupError, KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The shuffle cannot be read: {error}") from error
    if parsed.trustee != trustee.number:
        raise RuleViolation(f"The shuffle is trustee {parsed.trustee}'s, not yours.")
    rows = [list(row) for row in done[-1].rows] if done else rows_to_shuffle(poll_id, candidates)
    key = Point.from_hex(ceremony.election_key)
    label = f"{poll_label(ceremony, poll_id)}/shuffle/{trustee.number}"
    if not rows or not verify_shuffle(key, rows, parsed.rows, parsed.proof, label):
        raise RuleViolation(
            "The shuffle's proof does not hold for this poll's current ballots: download "
            "them again and shuffle those."
        )
    return CheckedUpload(poll_id, len(done), _json(parsed.to_json()), len(rows))


def store_shuffle(
    actor: Actor, trustee: Trustee, checked: CheckedUpload, *, institution: Any
) -> None:
    """Keep a checked shuffle (``check_shuffle``), the caller holding the poll's lock: the
    poll must have the shuffles it had when the shuffle was checked.

    :raises Conflict: another shuffle was kept meanwhile, or this trustee's.
    """
    _check_trustee(actor, trustee)
    count = db.session.scalar(select(func.count()).where(Shuffle.poll_id == checked.poll_id))
    _unshuffled_or_refused(trustee, checked.poll_id)
    if count != checked.shuffles:
        raise Conflict(
            "Another trustee's shuffle was kept while yours was checked: download the task "
            "again and shuffle the rows it gives."
        )
    db.session.add(
        Shuffle(
            poll_id=checked.poll_id,
            position=checked.shuffles + 1,
            trustee=trustee.number,
            content=checked.content,
        )
    )
    db.session.flush()
    record_event(
        actor,
        "e2e.shuffled",
        institution=institution,
        subject=Ref("poll", checked.poll_id),
        data={"trustee": trustee.number, "rows": checked.rows},
    )


def _openable_or_refused(ceremony: Ceremony, trustee: Trustee, poll_id: int, done: int) -> None:
    if done < ceremony.threshold:
        raise InvalidTransition(
            f"The ballots are opened after {ceremony.threshold} trustees have shuffled them; "
            f"{done} have."
        )
    if db.session.get(Opening, (poll_id, trustee.number)) is not None:
        raise Conflict("You have opened this poll already.")


def check_opening(
    actor: Actor, ceremony: Ceremony, trustee: Trustee, poll_id: int, opening: Any
) -> CheckedUpload:
    """Check a trustee's decryption shares of the last shuffle's rows; as ``check_shuffle``,
    before the caller's lock (then ``store_opening``).

    :raises InvalidTransition: fewer than ``threshold`` trustees have shuffled.
    :raises RuleViolation: malformed, or a share's proof does not hold.
    """
    _check_trustee(actor, trustee)
    done = shuffles_of(poll_id)
    _openable_or_refused(ceremony, trustee, poll_id, len(done))
    try:
        parsed = poll.Opening.from_json(opening)
    except (GroupError, KeyError, TypeError, ValueError) as error:
        raise RuleViolation(f"The decryption shares cannot be read: {error}") from error
    if parsed.trustee != trustee.number:
        raise RuleViolation(f"The shares are trustee {parsed.trustee}'s, not yours.")
    problem = poll.opening_problem(
        parsed,
        Point.from_hex(trustee.public_key),
        done[-1].rows,
        poll_label(ceremony, poll_id),
    )
    if problem:
        raise RuleViolation(f"Your shares are refused: trustee {trustee.number}{problem}.")
    return CheckedUpload(poll_id, len(done), _json(parsed.to_json()), len(parsed.shares))


def store_opening(
    actor: Actor, ceremony: Ceremony, trustee: Trustee, checked: CheckedUpload, *, institution: Any
) -> None:
    """Keep checked decryption shares (``check_opening``), the caller holding the poll's lock:
    the poll must have the shuffles it had when they were checked (once ``threshold``
    trustees have shuffled, no more shuffles are taken while the opening goes on, but a
    shuffle may have been kept between the check and the lock).

    :raises Conflict: the rows changed meanwhile, or this trustee's shares are kept.
    """
    _check_trustee(actor, trustee)
    count = db.session.scalar(select(func.count()).where(Shuffle.poll_id == checked.poll_id))
    _openable_or_refused(ceremony, trustee, checked.poll_id, count or 0)
    if count != checked.shuffles:
        raise Conflict(
            "Another trustee's shuffle was kept while your shares were checked: download the "
            "task again and open the rows it gives."
        )
    db.session.add(
        Opening(poll_id=checked.poll_id, trustee=trustee.number, content=checked.content)
    )
    db.session.flush()
    record_event(
        actor,
        "e2e.opened",
        institution=institution,
        subject=Ref("poll", checked.poll_id),
        data={"trustee": trustee.number, "rows": checked.rows},
    )


def open_ballots(
    ceremony: Ceremony,
    poll_id: int,
    candidate_ids: Sequence[int | str],
    *,
    day: date,
    read: poll.Reader = poll.as_ranked,
    choices: bool = False,
    cards: bool = False,
) -> int:
    """Once ``threshold`` trustees have opened the poll, store each opened ranking (as
    ``read`` reads it: ``poll.choice_reader`` for first past the post) as a ballot of the
    channel ``encrypted`` (with its row's tracker), to be counted with the poll's other
    ballots; return how many (blank rows are not ballots). Where the poll has groups, each
    is stored with its row's constituency; with ``choices`` (a yes/no/abstain vote, whose
    ``candidate_ids`` are the words), the first preference is stored as the choice.
    Idempotent.

    :raises InvalidTransition: too few trustees have opened the poll.
    """
    section = section_of(ceremony, poll_id, candidate_ids, with_casts=False, cards=cards)
    cast = db.session.scalar(
        select(func.count()).select_from(EncryptedBallot).where(EncryptedBallot.poll_id == poll_id)
    )
    if cast and len(section.openings) < ceremony.threshold:
        raise InvalidTransition(
            f"{len(section.openings)} of the {ceremony.threshold} trustees needed have opened "
            "the encrypted ballots."
        )
    db.session.execute(
        delete(db.metadata.tables["poll_ballots"]).where(
            db.metadata.tables["poll_ballots"].c.poll_id == poll_id,
            db.metadata.tables["poll_ballots"].c.channel == Channel.encrypted.value,
        )
    )
    opened = (
        poll.counted_by_group(section, read)
        if section.groups
        else [(t, "", r) for t, r in poll.counted(section, read)]
    )
    for tracker, constituency, ranking in opened:
        chosen = [candidate_ids[i] for i in ranking]
        store_ballot(
            poll_id,
            ranking=[] if choices else [int(c) for c in chosen],
            choice=str(chosen[0]) if choices else "",
            constituency=constituency,
            channel=Channel.encrypted,
            day=day,
            tracker=tracker,
        )
    return len(opened)


def section_document(
    ceremony: Ceremony, poll_id: int, candidate_ids: Sequence[int | str], *, cards: bool = False
) -> dict[str, Any]:
    """The poll's ``e2e`` object for the record: ``section_of(...).to_json``, with the cast
    ballots as they were stored (each the canonical JSON of its ``to_json``, checked when it
    was cast) rather than read into points and written out again."""
    document = section_of(ceremony, poll_id, candidate_ids, with_casts=False, cards=cards).to_json(
        list(candidate_ids)
    )
    document["cast"] = [
        json.loads(content)
        for content in db.session.scalars(
            select(EncryptedBallot.content)
            .where(EncryptedBallot.poll_id == poll_id)
            .order_by(EncryptedBallot.tracker)
        )
    ]
    return document


def section_of(
    ceremony: Ceremony,
    poll_id: int,
    candidate_ids: Sequence[int | str],
    *,
    with_casts: bool = True,
    cards: bool = False,
) -> poll.Section:
    """The poll's part of the record as the pure core reads it (``crypto.poll.Section``):
    the ceremony, credentials, ballots, audits, shuffles and openings, and the rows opened
    so far (none until ``threshold`` trustees have opened them); ``cards``: its credentials
    are an assembly's cards (``crypto.poll.Section.cards``). ``with_casts=False`` leaves
    the cast ballots out (reading 10,000 of them takes about 20 s, and opening the rows of
    the last shuffle does not need them)."""
    ids = list(candidate_ids)
    layout = ballots.Layout(len(ids))
    trustees = [
        poll.Trustee.from_json(
            {"number": d["number"], "commitments": d["commitments"], "proof": d["proof"]}
        )
        for d in dealings_of(ceremony)
    ]
    audited = [
        poll.Audited.from_json(json.loads(content), ids)
        for content in db.session.scalars(
            select(AuditedBallot.content)
            .where(AuditedBallot.poll_id == poll_id)
            .order_by(AuditedBallot.tracker)
        )
    ]
    shuffles = shuffles_of(poll_id)
    openings = openings_of(poll_id)[: ceremony.threshold]
    # Every credential in one read: grouped by constituency (in order of the keys) where
    # the poll has groups, else one list in order of their bytes.
    listed: dict[str, list[Point]] = {}
    for credential, constituency in db.session.execute(
        select(Credential.credential, Credential.constituency)
        .where(Credential.poll_id == poll_id)
        .order_by(Credential.constituency, Credential.credential)
    ):
        listed.setdefault(constituency, []).append(Point.from_hex(credential))
    keys = [k for k in listed if k]
    groups = tuple((key, tuple(listed[key])) for key in keys)
    opened: tuple[tuple[int, ...], ...] = ()
    if shuffles and len(openings) >= ceremony.threshold:
        # Kept for the session (one request): the count opens the rows, then builds the
        # record from the same shuffles and shares, which never change once kept.
        kept = db.session.info.setdefault("e2e_opened", {})
        last = shuffles[-1].rows
        key = (
            poll_id,
            len(shuffles),
            ballots.row_tracker(last[0]) if last else "",
            tuple(o.trustee for o in openings),
        )
        if key not in kept:
            numbers = poll.opened_numbers(layout, shuffles[-1].rows, openings, len(keys))
            kept[key] = tuple(tuple(row) for row in numbers)
        opened = kept[key]
    return poll.Section(
        label=poll_label(ceremony, poll_id),
        ceremony=ceremony.label,
        candidates=len(ids),
        threshold=ceremony.threshold,
        trustees=tuple(trustees),
        key=Point.from_hex(ceremony.election_key),
        # In order of the groups' keys, or of their bytes where the poll has none.
        credentials=tuple(c for cs in listed.values() for c in cs),
        cast=tuple(_casts(poll_id)) if with_casts else (),
        audited=tuple(audited),
        shuffles=tuple(shuffles),
        openings=tuple(openings),
        opened=opened,
        groups=groups,
        cards=cards,
    )
