"""Election records, format v1 (``docs/record-format.md``): the pieces a record is built from
and checked with — ballot and roll leaves, the body's hash, signatures, receipts, the
commitment to a seed and the seeds made from it (a board election's contests', an assembly's
votes'), and an assembly vote's count.

A record is ``{"format", "body", "body_sha256", "signatures"}``; the body is what is signed
(through its SHA-256; ``signing.statement``). A body of kind ``"assembly"`` records the votes
of a public assembly; the server builds each vote's count with ``count_assembly_vote`` and
the verifier recounts with the same function. Pure: standard library, ``cryptography`` and
the counting core.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assembly.counting import (
    BallotError,
    Candidate,
    Profile,
    build_profile,
    confirmation_per_ballot,
    count_confirmation,
    count_irv,
    count_round,
    weight_confirmation,
    weight_constituencies,
)
from assembly.counting.ballots import Weight
from assembly.records.canonical import canonical_bytes, sha256_hex
from assembly.records.signing import (
    RECEIPT,
    RECORD,
    fingerprint,
    public_key_text,
    sign,
    verify_signature,
)

__all__ = [
    "ASSEMBLY_METHODS",
    "CHOICES",
    "FORMAT",
    "PRESENT",
    "RECEIPT_FORMAT",
    "ROLL_PROOF_FORMAT",
    "SIGNATURE_FORMAT",
    "TRACKER_ALPHABET",
    "assembly_seed_sha256",
    "ballot_hash",
    "ballot_leaf",
    "body_sha256",
    "contest_seed",
    "count_assembly_vote",
    "document_text",
    "election_seed_sha256",
    "encrypted_ballot_hash",
    "key_entry",
    "make_receipt",
    "receipt_digest",
    "roll_leaf",
    "roll_proof",
    "sign_record",
    "signature_file",
    "vote_seed",
]

FORMAT = "assembly-record/1"
SIGNATURE_FORMAT = "assembly-signature/1"
RECEIPT_FORMAT = "assembly-receipt/1"
#: A member's proof that they were on a contest's roll (``roll_proof``).
ROLL_PROOF_FORMAT = "assembly-roll-proof/1"
#: Tracker characters: upper-case letters and digits without 0/O and 1/I, which people
#: confuse; a tracker is four groups of four of them (record-v1.schema.json's ``tracker``).
TRACKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: Who signs a record.
ROLES = ("election", "returning_officer")
#: How an assembly's votes are counted (a contest's ``method`` in a record of kind assembly).
ASSEMBLY_METHODS = ("irv", "round", "confirmation")
#: A confirmation ballot's choices.
CHOICES = ("yes", "no", "abstain")
#: The constituency of every vote of an assembly: the members in the room.
PRESENT = {"key": "present", "name": "Members present"}
_RATIONAL = re.compile(r"-?[0-9]+/[1-9][0-9]*\Z", re.ASCII)


def ballot_leaf(
    contest_id: int,
    tracker: str,
    ranking: Sequence[int] | None = None,
    *,
    choice: str | None = None,
    constituency: str | None = None,
) -> bytes:
    """A ballot's hash (32 bytes): SHA-256 of the canonical JSON of its contest, tracker and
    ranking — or, for a confirmation ballot, its ``choice`` instead of a ranking — and, for a
    ballot of a weighted assembly vote, its ``constituency``. The ballots' Merkle tree has
    these as its leaves' data, in tracker order.

    :raises ValueError: neither or both of a ranking and a choice.
    """
    if (ranking is None) == (choice is None):
        raise ValueError("a ballot has either a ranking or a choice")
    ballot: dict[str, Any] = {"contest": contest_id, "tracker": tracker}
    if ranking is not None:
        ballot["ranking"] = list(ranking)
    else:
        ballot["choice"] = choice
    if constituency is not None:
        ballot["constituency"] = constituency
    return hashlib.sha256(canonical_bytes(ballot)).digest()


def ballot_hash(
    contest_id: int,
    tracker: str,
    ranking: Sequence[int] | None = None,
    *,
    choice: str | None = None,
    constituency: str | None = None,
) -> str:
    """A ballot's hash in hex: what the voter's receipt names."""
    return ballot_leaf(contest_id, tracker, ranking, choice=choice, constituency=constituency).hex()


def encrypted_ballot_hash(contest_id: int, cast: Mapping[str, Any]) -> str:
    """An encrypted ballot's hash in hex, what its voter's receipt names: SHA-256 of the
    canonical JSON of its contest and the cast ballot as the contest's ``e2e.cast`` lists it
    (tracker, credential, ciphertexts and proofs, signature)."""
    return sha256_hex(canonical_bytes({"contest": contest_id, "cast": dict(cast)}))


def roll_leaf(contest_id: int, number: int, email: str, salt: str) -> bytes:
    """A roll entry's commitment (32 bytes): SHA-256 of the canonical JSON of its contest, its
    number on the roll, the member's email address and a random salt kept by the server.
    Without the salt nobody can test an address against it; with their salt, number and the
    inclusion proof a member shows they were on the roll."""
    return hashlib.sha256(
        canonical_bytes({"contest": contest_id, "number": number, "email": email, "salt": salt})
    ).digest()


def roll_proof(
    *,
    institution: str,
    election: int,
    contest: int,
    number: int,
    email: str,
    salt: str,
    index: int,
    size: int,
    path: list[str],
) -> dict[str, Any]:
    """A member's roll proof: what their commitment is made of (``roll_leaf``) and its
    inclusion proof in the contest's roll tree. It needs no signature: it is checked against
    the roll's Merkle root in the signed record."""
    return {
        "format": ROLL_PROOF_FORMAT,
        "institution": institution,
        "election": election,
        "contest": contest,
        "number": number,
        "email": email,
        "salt": salt,
        "index": index,
        "size": size,
        "path": path,
    }


def document_text(document: Mapping[str, Any]) -> str:
    """A record, receipt or proof as a file for people and ``assembly verify``: indented,
    keys sorted, UTF-8 as is. (Its hashes are over canonical JSON, not over this text.)"""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def body_sha256(body: dict[str, Any]) -> str:
    """The SHA-256 (hex) of the body's canonical JSON: what the signatures sign."""
    return sha256_hex(canonical_bytes(body))


def key_entry(public_key: str) -> dict[str, str]:
    """A public key as a record lists it."""
    return {
        "algorithm": "ed25519",
        "public_key": public_key,
        "fingerprint": fingerprint(public_key),
    }


def signature_file(role: str, digest: str, key: Ed25519PrivateKey) -> dict[str, str]:
    """A detached signature of the record whose body hashes to ``digest``: what ``assembly
    record sign`` writes and the returning officer uploads."""
    return {
        "format": SIGNATURE_FORMAT,
        "role": role,
        "body_sha256": digest,
        "fingerprint": fingerprint(public_key_text(key)),
        "signature": sign(key, RECORD, digest),
    }


def sign_record(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The record of ``body`` signed by the election key (the body names that key)."""
    digest = body_sha256(body)
    signature = signature_file("election", digest, key)
    return {
        "format": FORMAT,
        "body": body,
        "body_sha256": digest,
        "signatures": [
            {k: signature[k] for k in ("role", "fingerprint", "signature")},
        ],
    }


def receipt_digest(receipt: dict[str, Any]) -> str:
    return sha256_hex(canonical_bytes(receipt))


def make_receipt(
    receipt: dict[str, Any], key: Ed25519PrivateKey, *, key_fingerprint: str | None = None
) -> dict[str, Any]:
    """A voter's signed receipt: ``receipt`` holds the institution, election, contest, tracker,
    ballot hash and the date of casting (never the time).

    :param key_fingerprint: the key's fingerprint, if the caller knows it (deriving the public
        key costs more than the signature).
    """
    return {
        "format": RECEIPT_FORMAT,
        "receipt": receipt,
        "fingerprint": key_fingerprint or fingerprint(public_key_text(key)),
        "signature": sign(key, RECEIPT, receipt_digest(receipt)),
    }


def receipt_signed_by(document: dict[str, Any], public_key: str) -> bool:
    """Whether a receipt's signature is this key's."""
    return verify_signature(
        public_key, str(document.get("signature", "")), RECEIPT, receipt_digest(document["receipt"])
    )


# -- assembly votes ----------------------------------------------------------------------------


def assembly_seed_sha256(seed: str) -> str:
    """The commitment to an assembly's seed, published before any vote: the SHA-256 (hex) of
    the seed's ASCII hex text."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def election_seed_sha256(seed: str) -> str:
    """The commitment to a board election's seed, shown and printed before the poll opens:
    the SHA-256 (hex) of the seed's ASCII hex text, made as an assembly's is."""
    return assembly_seed_sha256(seed)


def contest_seed(election_seed: str, contest_id: int) -> str:
    """The seed of one board contest's lots: the SHA-256 (hex) of the text
    ``"<election seed>:contest:<contest id>"``, so that lots in one contest never depend on
    another's."""
    return hashlib.sha256(f"{election_seed}:contest:{contest_id}".encode("ascii")).hexdigest()


def vote_seed(assembly_seed: str, contest_id: int) -> str:
    """The seed of one vote's lots: the SHA-256 (hex) of the ASCII text
    ``"<assembly seed>:vote:<contest id>"``."""
    return hashlib.sha256(f"{assembly_seed}:vote:{contest_id}".encode("ascii")).hexdigest()


def _weights(weighting: Mapping[str, Any] | None) -> dict[str, Fraction] | None:
    """A contest's ``weighting`` as each constituency's weight; None when unweighted."""
    if weighting is None:
        return None
    weights: dict[str, Fraction] = {}
    for entry in weighting["constituencies"]:
        key, text = entry["key"], entry["weight"]
        if key in weights:
            raise BallotError(f"the weighting lists constituency {key!r} twice")
        if not isinstance(text, str) or not _RATIONAL.match(text):
            raise BallotError(f"constituency {key!r} has the weight {text!r}, not 'n/d'")
        numerator, denominator = text.split("/")
        weights[key] = Fraction(int(numerator), int(denominator))
    if not weights:
        raise BallotError("the weighting lists no constituencies")
    return weights


def _constituency(ballot: Mapping[str, Any], weights: dict[str, Fraction] | None) -> str | None:
    key = ballot.get("constituency")
    if weights is None:
        if key is not None:
            raise BallotError(
                f"ballot {ballot.get('tracker')} names constituency {key!r}, but the vote is "
                "not weighted"
            )
        return None
    if key not in weights:
        raise BallotError(
            f"ballot {ballot.get('tracker')} is from constituency {key!r}, which the "
            "weighting does not list"
        )
    return str(key)


def _rational(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def count_assembly_vote(
    method: str,
    candidates: list[tuple[int, str]],
    ballots: list[dict[str, Any]],
    weighting: dict[str, Any] | None,
    seed: str,
) -> tuple[dict[str, Any], list[int], list[int]]:
    """Count one vote of an assembly as a record holds it, and return its ``count`` (JSON
    values only), the candidate ids elected, and the candidate ids excluded.

    ``method`` is ``"irv"`` (``counting.count_irv``), ``"round"`` (one round of an exhaustive
    ballot, ``counting.count_round``) or ``"confirmation"`` (one candidate, yes / no /
    abstain, ``counting.count_confirmation``; carried when yes > no). ``candidates`` are
    (id, ballot name) in ballot order; ``ballots`` are the record's ballot items (a
    ``ranking`` of candidate ids, or a confirmation's ``choice``, and a ``constituency`` when
    weighted); ``weighting`` is the contest's ``{"constituencies": [{"key", "name",
    "weight"}]}`` or None; ``seed`` is the vote's seed (``vote_seed``). A weighted vote's
    count also holds ``per_ballot``: each constituency's weight per ballot, ``"n/d"``.

    :raises BallotError: a ballot or weighting that cannot be counted; the message says which.
    """
    people = [Candidate(f"c{candidate_id}", name) for candidate_id, name in candidates]
    by_label = {f"c{candidate_id}": candidate_id for candidate_id, _ in candidates}
    weights = _weights(weighting)
    if method == "confirmation":
        return _count_confirmation(people, by_label, ballots, weights)
    if method not in ("irv", "round"):
        raise BallotError(
            f"an assembly vote is counted by irv, round or confirmation, not {method!r}"
        )
    position = {candidate_id: index for index, (candidate_id, _) in enumerate(candidates)}
    groups: dict[str | None, dict[tuple[int, ...], Weight]] = {}
    for ballot in ballots:
        ranking = ballot.get("ranking")
        if not isinstance(ranking, list) or not all(
            type(i) is int and i in position for i in ranking
        ):
            raise BallotError(
                f"ballot {ballot.get('tracker')} ranks {ranking!r}, not this vote's candidates"
            )
        if method == "round" and len(ranking) != 1:
            raise BallotError(
                f"ballot {ballot.get('tracker')} chooses {len(ranking)} candidates; a round's "
                "ballot chooses one"
            )
        group = groups.setdefault(_constituency(ballot, weights), {})
        positions = tuple(position[i] for i in ranking)
        group[positions] = group.get(positions, 0) + 1
    per_ballot: dict[str, Fraction] | None = None
    if weights is None:
        profile: Profile = build_profile(people, groups.get(None, {}))
    else:
        weighted = weight_constituencies(
            {k: build_profile(people, groups.get(k, {})) for k in weights}, weights
        )
        profile, per_ballot = weighted.profile, weighted.per_ballot
    result = (count_irv if method == "irv" else count_round)(profile, seed=seed)
    count = result.to_dict()
    if per_ballot is not None:
        count["per_ballot"] = {k: _rational(v) for k, v in sorted(per_ballot.items())}
    return (
        count,
        [by_label[c] for c in result.elected],
        [by_label[c] for c in result.excluded],
    )


def _count_confirmation(
    people: list[Candidate],
    by_label: dict[str, int],
    ballots: list[dict[str, Any]],
    weights: dict[str, Fraction] | None,
) -> tuple[dict[str, Any], list[int], list[int]]:
    if len(people) != 1:
        raise BallotError(f"a confirmation vote has exactly one candidate, not {len(people)}")
    tallies: dict[str | None, list[int]] = {}
    for ballot in ballots:
        choice = ballot.get("choice")
        if choice not in CHOICES:
            raise BallotError(
                f"ballot {ballot.get('tracker')} has the choice {choice!r}, not yes, no or abstain"
            )
        key = _constituency(ballot, weights)
        tallies.setdefault(key, [0, 0, 0])[CHOICES.index(choice)] += 1
    if weights is None:
        yes, no, abstain = tallies.get(None, [0, 0, 0])
        result = count_confirmation(people[0].id, yes, no, abstain)
        count = result.to_dict()
    else:
        counts = {k: (t[0], t[1], t[2]) for k, t in tallies.items() if k is not None}
        result = count_confirmation(people[0].id, *weight_confirmation(counts, weights))
        count = result.to_dict()
        per_ballot = confirmation_per_ballot(counts, weights)
        count["per_ballot"] = {k: _rational(v) for k, v in sorted(per_ballot.items())}
    return count, [by_label[people[0].id]] if result.carried else [], []
