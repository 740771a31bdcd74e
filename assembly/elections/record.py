"""A board election's record: its body built from the database (``build_body``), signed and
kept by the records service when the votes are counted, countersigned by the returning
officer, and a member's proof that they were on the roll.

The body's sections are specified in ``docs/record-format.md`` (kind ``election``, the
default); the verifier (``records.verify``) checks every one.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from assembly.auth.actors import Actor
from assembly.elections.e2e import section as e2e_section
from assembly.elections.models import (
    Contest,
    ContestResult,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.nominations import valid_candidates
from assembly.elections.operations import lock_election
from assembly.elections.queries import can_see_results
from assembly.elections.states import ElectionState
from assembly.errors import InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.polls.record import ballot_items, ballot_section, roll_section
from assembly.records import merkle
from assembly.records import operations as records
from assembly.records.kinds import RecordKind
from assembly.records.models import Record
from assembly.records.operations import body_frame
from assembly.records.record import (
    contest_seed,
    election_seed_sha256,
    roll_leaf,
    roll_proof,
)

__all__ = [
    "KIND",
    "RECORD_KIND",
    "build_body",
    "countersign_record",
    "get_record",
    "issue_record",
    "published_record",
    "roll_proofs",
]

#: The records service's name for a board election's records.
KIND = "election"


def _roll_entries(contest_id: int) -> list[tuple[int, str, str]]:
    """The contest's roll entries as its commitment is made of them: number, email address
    (empty when the member has none) and salt, in roll-number order."""
    return [
        (number, email or "", salt)
        for number, email, salt in db.session.execute(
            select(RollEntry.number, Person.email, RollEntry.salt)
            .join(Person, Person.id == RollEntry.person_id)
            .where(RollEntry.contest_id == contest_id)
            .order_by(RollEntry.number)
        )
    ]


def _roll(contest: Contest) -> dict[str, Any]:
    return roll_section(contest.id, _roll_entries(contest.id))


def roll_proofs(election: Election, email: str) -> list[tuple[Contest, dict[str, Any]]]:
    """The roll proofs (``record.roll_proof``) of the member with this email address: one
    for each contest of the election whose roll they are on, usually one. Each shows, with
    the record's roll root, that they were on the roll, and nothing about anyone else."""
    email = email.strip().lower()
    if not email:
        return []
    proofs = []
    for contest in sorted(election.contests, key=lambda c: c.id):
        entries = _roll_entries(contest.id)
        index = next((i for i, e in enumerate(entries) if e[1].lower() == email), None)
        if index is None:
            continue
        number, address, salt = entries[index]
        leaves = [roll_leaf(contest.id, *entry) for entry in entries]
        proofs.append(
            (
                contest,
                roll_proof(
                    institution=election.institution.slug,
                    election=election.id,
                    contest=contest.id,
                    number=number,
                    email=address,
                    salt=salt,
                    index=index,
                    size=len(entries),
                    path=merkle.inclusion_proof(leaves, index),
                ),
            )
        )
    return proofs


def _ballots(contest: Contest) -> dict[str, Any]:
    return ballot_section(contest.id, ballot_items(contest.poll_id))


def _contest(election: Election, contest: Contest) -> dict[str, Any]:
    candidates = valid_candidates(contest)
    result = db.session.get(ContestResult, contest.id)
    if contest.is_uncontested:
        count, elected = None, [c.id for c in candidates]
    elif result is None:
        raise InvalidTransition(f"{contest.constituency.name} has not been counted.")
    else:
        count, elected = json.loads(result.result), json.loads(result.elected)
    stv = contest.method == CountMethod.stv
    return {
        "id": contest.id,
        "constituency": {"key": contest.constituency.key, "name": contest.constituency.name},
        "weight": f"{contest.weight_numerator}/{contest.weight_denominator}",
        "seats": contest.seats,
        "method": "stv" if stv else "fptp",
        # The rule set the verifier recounts by (a record without it was counted by the
        # Scottish rules, the only ones there were).
        **({"rules": contest.rules} if stv else {}),
        "seed": contest_seed(election.seed, contest.id),
        "uncontested": contest.is_uncontested,
        "candidates": [{"id": c.id, "ballot_name": c.ballot_name} for c in candidates],
        "roll": _roll(contest),
        "ballots": _ballots(contest),
        "count": count,
        "elected": elected,
        # The proofs of a contest polled end-to-end verifiably (docs/e2e.md).
        **({"e2e": e2e} if (e2e := e2e_section(election, contest)) is not None else {}),
    }


def build_body(election: Election) -> dict[str, Any]:
    """The record's body (format v1) for a counted election, from the database: with the
    election's seed revealed beside the commitment to it printed before the poll."""
    if election.signing_key_id is None or not election.officer_public_key:
        raise InvalidTransition(
            "The election has no election key or no returning officer's key, so it has no record."
        )
    return {
        **body_frame(election.institution, election.signing_key_id, election.officer_public_key),
        "election": {
            "id": election.id,
            "title": election.title,
            "seats": election.seats,
            "apportionment": election.apportionment,
            "candidate_order": str(election.candidate_order.value),
            "timetable": {
                name: getattr(election, name).isoformat()
                for name in (
                    "notice_of_election_on",
                    "nominations_close_on",
                    "withdrawals_close_on",
                    "poll_opens_on",
                    "poll_closes_on",
                )
            },
            # The commitment published before the poll (the election's page, the notices)
            # and the seed it commits to, from which every contest's seed is made.
            "seed_sha256": election_seed_sha256(election.seed),
            "seed": election.seed,
        },
        "contests": [
            _contest(election, contest)
            for contest in sorted(election.contests, key=lambda contest: contest.id)
        ],
    }


def issue_record(actor: Actor, election: Election) -> Record:
    """Build the counted election's record, sign it with the election key and keep it."""
    assert election.signing_key_id is not None
    return records.issue(
        actor, KIND, election, build_body(election), election.signing_key_id, "record.issued"
    )


def get_record(election: Election) -> Record | None:
    """The election's stored record, once counted."""
    return records.get_record(KIND, election.id)


def published_record(row: Record, election: Election) -> dict[str, Any]:
    """The record as published: the server's document with the officer's signature added."""
    return records.published(row)


def countersign_record(actor: Actor, election: Election, signature: Any) -> None:
    """Add the returning officer's countersignature (the file ``assembly record sign`` wrote)
    to the election's record, once it is checked against the key they registered.

    :raises NotEligible: the actor is not the election's returning officer.
    :raises InvalidTransition: there is no record yet, or the result is declared.
    :raises RuleViolation: the file is not a signature of this record by that key.
    """
    if not election.is_returning_officer(actor):
        raise NotEligible("Only the election's returning officer can countersign its record.")
    election = lock_election(election)
    row = get_record(election)
    if row is None or election.state != ElectionState.counted:
        raise InvalidTransition(
            "A record is countersigned after the count and before the declaration."
        )
    records.countersign(actor, KIND, election, row, signature, "record.countersigned")


#: How the records service serves a board election's records (registered by the app).
RECORD_KIND = RecordKind(
    name=KIND,
    section="election",
    load=lambda election_id: db.session.get(Election, election_id),
    visible=can_see_results,
    declared=lambda election: election.state == ElectionState.declared,
)
