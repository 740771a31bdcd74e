"""The verifier: every check of ``docs/record-format.md`` ("What a verifier checks") on an
election record, offline, with the counting core to recount it. Records of a board election
and of an assembly (``body.kind``) go through the same steps; an assembly's votes are
recounted with ``record.count_assembly_vote``, and step 7 also checks its seeds, the order of
its rounds and its declared result.

``verify_record`` runs the steps in order and returns a ``Report`` of numbered steps, each
passed or failed with details that say what was checked, or what failed and where (contest,
tracker, stage, expected against found). A record that does not match the schema (step 1)
is not checked further: the later steps are reported as not run. Nothing in a record, however
malformed, ends in a traceback: a step that cannot be checked fails and says why.

Pure: standard library, ``cryptography`` and the pure modules (``assembly.records.*``,
``assembly.counting.*``), so anyone can verify a record without the application.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from typing import Any, BinaryIO

from assembly.counting import BallotError, Candidate, LotNeeded, build_profile, count
from assembly.counting.lots import draw
from assembly.records.merkle import EMPTY_ROOT, merkle_root, verify_inclusion
from assembly.records.record import (
    ASSEMBLY_METHODS,
    FORMAT,
    PRESENT,
    RECEIPT_FORMAT,
    ROLL_PROOF_FORMAT,
    SIGNATURE_FORMAT,
    assembly_seed_sha256,
    ballot_hash,
    count_assembly_vote,
    receipt_signed_by,
    roll_leaf,
    vote_seed,
)
from assembly.records.schema import SCHEMA_FILE, validate_record
from assembly.records.signing import (
    RECORD,
    KeyProblem,
    fingerprint,
    group_fingerprint,
    verify_signature,
)

__all__ = [
    "STEPS",
    "Report",
    "Step",
    "ballot_leaf_fast",
    "normalise_tracker",
    "read_json",
    "verify_record",
]

#: The steps of docs/record-format.md, by number.
STEPS = {
    1: "Schema",
    2: "Body hash",
    3: "Election signature",
    4: "Returning officer's signature",
    5: "Ballots",
    6: "Roll",
    7: "Recount",
    8: "Receipt",
    9: "Roll proof",
}
#: How many problems one contest reports in a step before it only counts the rest.
PROBLEMS_PER_CONTEST = 5
_TRACKER = re.compile(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}\Z")
#: How a board election's contests are counted.
BOARD_METHODS = ("stv", "fptp")
#: How the details name an assembly vote's method.
_METHOD_WORDS = {
    "irv": "instant runoff",
    "round": "one round of an exhaustive ballot",
    "confirmation": "yes, no or abstain",
}
#: The keys of every ballot of a board election.
_RANKED_BALLOT = frozenset({"tracker", "ranking", "channel"})


@dataclass
class Step:
    """One numbered check and its outcome."""

    number: int
    name: str
    passed: bool
    details: list[str] = field(default_factory=list)
    #: How long the step took (not part of ``to_dict``: the report stays reproducible).
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "passed": self.passed,
            "details": list(self.details),
        }


@dataclass
class Report:
    """Every step run on a record; ``ok`` when all of them passed."""

    steps: list[Step]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.steps)

    def step(self, number: int) -> Step:
        """The step with this number.

        :raises KeyError: no such step in this report.
        """
        for step in self.steps:
            if step.number == number:
                return step
        raise KeyError(number)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [step.to_dict() for step in self.steps]}


def read_json(file: BinaryIO) -> Any:
    """Parse a (large) JSON file opened in binary mode.

    The cyclic garbage collector is paused meanwhile: a record of a million ballots is
    millions of new containers, none of them garbage, and collecting as they appear makes
    reading it four times slower.

    :raises ValueError: the file is not JSON (or not UTF-8).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.load(file)
    finally:
        if enabled:
            gc.enable()


# -- small helpers -----------------------------------------------------------------------------


def ballot_leaf_fast(
    contest_id: int,
    tracker: str,
    ranking: Sequence[int] | None = None,
    *,
    choice: str | None = None,
    constituency: str | None = None,
) -> bytes:
    """``record.ballot_leaf`` without the general canonical encoder: the canonical JSON of a
    ballot written directly. Equal to it whenever the ballot matches the schema (an integer
    contest, a ranking of integers, a tracker of the tracker alphabet, which JSON never
    escapes, a choice of yes, no or abstain, a constituency of any text).

    :raises ValueError: neither or both of a ranking and a choice.
    """
    if (ranking is None) == (choice is None):
        raise ValueError("a ballot has either a ranking or a choice")
    if ranking is not None and constituency is None:
        ranking_text = str(list(ranking)).replace(" ", "")
        text = f'{{"contest":{contest_id},"ranking":{ranking_text},"tracker":"{tracker}"}}'
        return hashlib.sha256(text.encode("ascii")).digest()
    # Keys in code-point order: choice, constituency, contest, ranking, tracker.
    parts = []
    if choice is not None:
        parts.append(f'"choice":{json.dumps(choice, ensure_ascii=False)}')
    if constituency is not None:
        parts.append(f'"constituency":{json.dumps(constituency, ensure_ascii=False)}')
    parts.append(f'"contest":{contest_id}')
    if ranking is not None:
        parts.append(f'"ranking":{str(list(ranking)).replace(" ", "")}')
    parts.append(f'"tracker":"{tracker}"')
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode("utf-8")).digest()


def _item_leaves(contest_id: int, items: list[dict[str, Any]]) -> list[bytes]:
    """Every ballot's hash, in order, whatever its kind (an assembly's votes: few ballots)."""
    return [
        ballot_leaf_fast(
            contest_id,
            item["tracker"],
            item.get("ranking"),
            choice=item.get("choice"),
            constituency=item.get("constituency"),
        )
        for item in items
    ]


def _leaves(contest_id: int, items: list[dict[str, Any]]) -> list[bytes]:
    """Every ballot's hash, in order: ``ballot_leaf_fast`` unrolled, as the million-ballot
    case spends its time here."""
    template = f'{{"contest":{contest_id},"ranking":%s,"tracker":"%s"}}'
    sha256 = hashlib.sha256
    return [
        sha256(
            (template % (str(item["ranking"]).replace(" ", ""), item["tracker"])).encode("ascii")
        ).digest()
        for item in items
    ]


def normalise_tracker(text: str) -> str:
    """A tracker as a person might type it (lower case, spaces, no dashes) in its written
    form, ``K7QM-2XHD-9PLA-4RTE``; text that cannot be a tracker is returned stripped."""
    letters = re.sub(r"[\s-]", "", text).upper()
    if len(letters) == 16:
        return "-".join(letters[i : i + 4] for i in range(0, 16, 4))
    return text.strip()


def _normalise_fingerprint(text: str) -> str:
    return re.sub(r"[\s:]", "", text).lower()


def _short(digest: str) -> str:
    return digest[:16] + "…" if len(digest) > 16 else digest


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def _same(a: Any, b: Any) -> bool:
    """JSON equality (``true`` is not ``1``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _first_float(value: Any, path: str) -> str | None:
    """The path of the first float in ``value``: canonical JSON has none."""
    if type(value) is float:
        return path
    if type(value) is dict:
        for key, item in value.items():
            found = _first_float(item, f"{path}.{key}")
            if found:
                return found
    elif type(value) is list:
        for index, item in enumerate(value):
            found = _first_float(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _label(contest: dict[str, Any]) -> str:
    return f"contest {contest['id']} ({contest['constituency']['name']})"


def _limited(problems: list[str], label: str) -> list[str]:
    if len(problems) <= PROBLEMS_PER_CONTEST:
        return problems
    more = len(problems) - PROBLEMS_PER_CONTEST
    return [*problems[:PROBLEMS_PER_CONTEST], f"{label}: … and {more} more problem(s)"]


@dataclass
class _Ballots:
    """What step 5 learned about one contest's ballots, for the recount (step 7)."""

    #: Each distinct ranking (candidate ids) with how many ballots have it.
    rankings: Counter[tuple[int, ...]]
    #: Whether every ranking names only this contest's candidates, once each.
    countable: bool


# -- the verifier ------------------------------------------------------------------------------


class _Verifier:
    def __init__(
        self,
        record: Any,
        signature: Any,
        receipt: Any,
        tracker: str | None,
        fingerprints: Sequence[str],
        roll_proof: Any = None,
    ) -> None:
        self.record = record
        self.signature = signature
        self.receipt = receipt
        self.tracker = tracker
        self.roll_proof = roll_proof
        self.fingerprints = {_normalise_fingerprint(f) for f in fingerprints}
        self.body: dict[str, Any] = {}
        #: The SHA-256 of the body's canonical bytes (step 2), or None if it has none.
        self.digest: str | None = None
        self.ballots: dict[int, _Ballots] = {}
        #: Each board contest's rankings, in ballot order (step 1 reads them; step 5 counts).
        self.rankings: dict[int, list[Any]] = {}
        #: Each recounted assembly vote's candidate ids elected and excluded (step 7).
        self.outcomes: dict[int, tuple[list[int], list[int]]] = {}

    # -- step 1 --------------------------------------------------------------------------------

    def schema(self) -> tuple[bool, list[str]]:
        record = self.record
        if not isinstance(record, dict):
            return False, [f"the file holds {_kind(record)}, not a record (a JSON object)"]
        form = record.get("format")
        other = {
            RECEIPT_FORMAT: ("a receipt", "--receipt"),
            SIGNATURE_FORMAT: ("a detached signature", "--signature"),
        }
        if isinstance(form, str) and form in other:
            what, option = other[form]
            return False, [
                f"this is {what} ({form}), not a record: give the record first, and this file "
                f"with {option}"
            ]
        if form != FORMAT:
            return False, [
                f"format is {_json(form)}, not {_json(FORMAT)}: not a record of format 1"
            ]
        problems = validate_record(record, limit=10)
        if not problems:
            problems = _kind_problems(record["body"], self.rankings)[:10]
        if problems:
            if len(problems) == 10:
                problems.append("… checking stopped after 10 problems")
            return False, problems
        ids = [contest["id"] for contest in record["body"]["contests"]]
        if any(a >= b for a, b in pairwise(ids)):
            return False, [
                f"body.contests: the contests' ids {ids} are not each once in increasing order"
            ]
        for index, contest in enumerate(record["body"]["contests"]):
            found = _first_float(contest["count"], f"body.contests[{index}].count")
            if found:
                return False, [
                    f"{found}: a number with a fraction; canonical JSON has none (integers, "
                    "and exact fractions as 'n/d')"
                ]
        self.body = record["body"]
        contests = self.body["contests"]
        ballots = sum(len(c["ballots"]["items"]) for c in contests)
        if _is_assembly(self.body):
            assembly = self.body["assembly"]
            return True, [
                f'a record of format 1, matching {SCHEMA_FILE}, of kind "assembly"',
                f"{self.body['institution']['name']}: assembly {assembly['id']} "
                f"{_json(assembly['title'])}, held on {assembly['held_on']}, issued "
                f"{self.body['issued_at']}; {len(contests)} vote(s), {ballots:,} ballot(s)",
            ]
        election = self.body["election"]
        return True, [
            f"a record of format 1, matching {SCHEMA_FILE}",
            f"{self.body['institution']['name']}: election {election['id']} "
            f"{_json(election['title'])}, issued {self.body['issued_at']}; "
            f"{len(contests)} contest(s), {ballots:,} ballot(s)",
        ]

    # -- step 2 --------------------------------------------------------------------------------

    def body_hash(self) -> tuple[bool, list[str]]:
        try:
            # The canonical bytes (canonical.canonical_bytes) without its walk for floats,
            # which step 1 has done: the schema leaves room for them only in counts.
            text = json.dumps(self.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self.digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            return False, [
                "the body holds text that is not valid Unicode (a lone surrogate), so it has no "
                "canonical bytes to hash"
            ]
        claimed = self.record["body_sha256"]
        if claimed != self.digest:
            return False, [
                f"the body hashes to {self.digest}, but body_sha256 is {claimed}: the body was "
                "changed after it was hashed"
            ]
        return True, [f"body_sha256 {self.digest} is the SHA-256 of the body's canonical bytes"]

    # -- steps 3 and 4 -------------------------------------------------------------------------

    def _key(self, role: str) -> tuple[dict[str, Any], list[str]]:
        """The body's key for ``role``, and what is wrong with its fingerprint."""
        key: dict[str, Any] = self.body["keys"][role]
        try:
            actual = fingerprint(key["public_key"])
        except (KeyProblem, ValueError) as error:
            return key, [f"body.keys.{role}.public_key cannot be read: {error}"]
        if actual != key["fingerprint"]:
            return key, [
                f"body.keys.{role}.fingerprint is {key['fingerprint']}, but the public key's "
                f"fingerprint is {actual}"
            ]
        return key, []

    def _entries(self, role: str) -> list[dict[str, Any]]:
        return [s for s in self.record["signatures"] if s["role"] == role]

    def _check_entry(self, entry: dict[str, Any], key: dict[str, Any], what: str) -> list[str]:
        """What is wrong with one signature of the body by ``key``."""
        assert self.digest is not None
        problems = []
        if entry["fingerprint"] != key["fingerprint"]:
            problems.append(
                f"{what} names the key {_short(entry['fingerprint'])}, but the body's key for "
                f"this role is {_short(key['fingerprint'])}"
            )
        if not verify_signature(key["public_key"], str(entry["signature"]), RECORD, self.digest):
            problems.append(
                f"{what} does not verify with the key {_short(key['fingerprint'])}: that key "
                "did not sign this body"
            )
        return problems

    def _digest_missing(self) -> tuple[bool, list[str]] | None:
        if self.digest is None:
            return False, ["not run: the body has no canonical bytes to check a signature of"]
        return None

    def election_signature(self) -> tuple[bool, list[str]]:
        missing = self._digest_missing()
        if missing:
            return missing
        key, problems = self._key("election")
        entries = self._entries("election")
        if not entries:
            problems.append("the record has no election signature")
        elif len(entries) > 1:
            problems.append(f"the record has {len(entries)} election signatures, not one")
        else:
            problems += self._check_entry(entries[0], key, "the election signature")
        trusted, note = self._given(key["fingerprint"], "election key")
        if not trusted:
            problems.append(note)
        if problems:
            return False, problems
        return True, [
            f"signed by the election key, fingerprint {group_fingerprint(key['fingerprint'])}",
            note,
        ]

    def _given(self, value: str, who: str) -> tuple[bool, str]:
        """Whether ``value`` is one of the fingerprints given (True when none were), and a
        note saying so."""
        if not self.fingerprints:
            return True, (
                f"check the {who}'s fingerprint against the one the institution published "
                "(or give it with --fingerprint)"
            )
        if value in self.fingerprints:
            return True, f"the {who}'s fingerprint is one you gave"
        return False, (
            f"the {who}'s fingerprint {_short(value)} is not one you gave: this record is not "
            "signed by the key you trust"
        )

    def officer_signature(self) -> tuple[bool, list[str]]:
        missing = self._digest_missing()
        if missing:
            return missing
        key, problems = self._key("returning_officer")
        election = self.body["keys"]["election"]
        if key["public_key"] == election["public_key"]:
            problems.append(
                "the returning officer's key is the election key, which the server holds: "
                "that is no countersignature"
            )
        entries = self._entries("returning_officer")
        if len(entries) > 1:
            problems.append(f"the record has {len(entries)} returning officer's signatures")
        for entry in entries[:1]:
            problems += self._check_entry(
                entry, key, "the returning officer's signature in the record"
            )
        if self.signature is not None:
            problems += self._detached(key)
        elif not entries:
            problems.append(
                "not countersigned: the record has no returning officer's signature (give the "
                "detached signature file with --signature)"
            )
        # One fingerprint given is the election key's; with two or more, the returning
        # officer's must be among them too.
        pinned = len(self.fingerprints) >= 2
        trusted, note = self._given(key["fingerprint"], "returning officer's key")
        if pinned and not trusted:
            problems.append(note)
        if problems:
            return False, problems
        where = "the record" if entries else "the signature file"
        if entries and self.signature is not None:
            where = "the record and the signature file"
        details = [
            f"countersigned in {where} by the returning officer's key, fingerprint "
            f"{group_fingerprint(key['fingerprint'])}"
        ]
        if pinned or not self.fingerprints:
            details.append(note)
        return True, details

    def _detached(self, key: dict[str, Any]) -> list[str]:
        """What is wrong with the detached signature file (``assembly record sign``)."""
        assert self.digest is not None
        document = self.signature
        fields = ("format", "role", "body_sha256", "fingerprint", "signature")
        if not isinstance(document, dict) or not all(
            isinstance(document.get(name), str) for name in fields
        ):
            return [
                "the signature file is not a detached signature: it needs the text fields "
                + ", ".join(fields)
            ]
        if document["format"] != SIGNATURE_FORMAT:
            return [
                f"the signature file's format is {_json(document['format'])}, "
                f"not {_json(SIGNATURE_FORMAT)}"
            ]
        problems = []
        if document["role"] != "returning_officer":
            problems.append(
                f"the signature file is by the {_json(document['role'])} role, not the "
                "returning officer"
            )
        if document["body_sha256"] != self.digest:
            problems.append(
                f"the signature file is for another record: it signs the body "
                f"{document['body_sha256']}, this record's body is {self.digest}"
            )
            return problems
        return problems + self._check_entry(document, key, "the signature file")

    # -- step 5 --------------------------------------------------------------------------------

    def ballots_step(self) -> tuple[bool, list[str]]:
        passed = True
        details: list[str] = []
        for contest in self.body["contests"]:
            problems = self._contest_ballots(contest)
            if problems:
                passed = False
                details += _limited(problems, _label(contest))
            else:
                ballots = contest["ballots"]
                details.append(
                    f"{_label(contest)}: {ballots['count']:,} ballot(s), sorted by tracker, "
                    f"each once, {_marks(contest)}; Merkle root "
                    f"{_short(ballots['merkle_root'])} matches"
                )
        return passed, details

    def _contest_ballots(self, contest: dict[str, Any]) -> list[str]:
        label = _label(contest)
        ballots = contest["ballots"]
        items: list[dict[str, Any]] = ballots["items"]
        problems: list[str] = []
        ids = [c["id"] for c in contest["candidates"]]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"{label}: candidate id(s) {duplicates} listed more than once")
        problems += _order(label, list(map(itemgetter("tracker"), items)))
        countable = not duplicates
        if contest["method"] == "confirmation":
            rankings: Counter[tuple[int, ...]] = Counter()
            if len(ids) != 1:
                problems.append(
                    f"{label}: a confirmation vote has exactly one candidate, not {len(ids)}"
                )
                countable = False
        else:
            ranked = self.rankings.pop(contest["id"], None)
            rankings = Counter(map(tuple, ranked or map(itemgetter("ranking"), items)))
            del ranked
            candidates = set(ids)
            bad = {
                ranking: why
                for ranking in rankings
                if (why := _ranking_problem(ranking, candidates, contest)) is not None
            }
            if bad:
                countable = False
                for index, item in enumerate(items):
                    why = bad.get(tuple(item["ranking"]))
                    if why is not None:
                        problems.append(f"{label}: ballot {item['tracker']} (items[{index}]) {why}")
        weighting = contest.get("weighting")
        if weighting is not None:
            weighting_problems = _weighting_problems(label, weighting, items)
            problems += weighting_problems
            countable = countable and not weighting_problems
        self.ballots[contest["id"]] = _Ballots(rankings, countable=countable)
        if ballots["count"] != len(items):
            problems.append(
                f"{label}: ballots.count is {ballots['count']:,}, but there are "
                f"{len(items):,} ballot(s)"
            )
        if _is_assembly(self.body):
            try:
                leaves = _item_leaves(contest["id"], items)
            except UnicodeEncodeError:
                problems.append(
                    f"{label}: a ballot's constituency is not valid Unicode (a lone surrogate), "
                    "so the ballot has no hash"
                )
                self.ballots[contest["id"]].countable = False
                return problems
        else:
            leaves = _leaves(contest["id"], items)
        root = merkle_root(leaves)
        if root != ballots["merkle_root"]:
            problems.append(
                f"{label}: the ballots' Merkle root is {root}, but the record says "
                f"{ballots['merkle_root']}: a ballot was changed, added or removed"
            )
        return problems

    # -- step 6 --------------------------------------------------------------------------------

    def roll(self) -> tuple[bool, list[str]]:
        passed = True
        details: list[str] = []
        for contest in self.body["contests"]:
            label = _label(contest)
            voters = contest["roll"]["voters"]
            root = contest["roll"]["merkle_root"]
            cast = max(contest["ballots"]["count"], len(contest["ballots"]["items"]))
            if cast > voters:
                passed = False
                details.append(
                    f"{label}: {cast:,} ballot(s) but only {voters:,} voter(s) on the roll: "
                    "more ballots than voters"
                )
            elif voters == 0 and root != EMPTY_ROOT:
                passed = False
                details.append(
                    f"{label}: the roll is empty, so its root is {EMPTY_ROOT} (SHA-256 of "
                    f"nothing), not {root}"
                )
            else:
                details.append(
                    f"{label}: {cast:,} ballot(s) from a roll of {voters:,}; the roll's Merkle "
                    f"root {_short(root)} is a SHA-256 hash"
                )
        return passed, details

    # -- step 7 --------------------------------------------------------------------------------

    def recount(self) -> tuple[bool, list[str]]:
        passed = True
        details: list[str] = []
        assembly = _is_assembly(self.body)
        for contest in self.body["contests"]:
            if assembly:
                problems, lines = self._recount_vote(contest)
            elif contest["uncontested"]:
                problems, lines = _uncontested(contest)
            else:
                problems, lines = self._recount_contest(contest)
            if problems:
                passed = False
                details += _limited(problems, _label(contest))
            details += lines
        if assembly:
            problems, lines = self._assembly_checks()
            passed = passed and not problems
            details += problems + lines
        return passed, details

    def _recount_vote(self, contest: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Problems and notes of one assembly vote's recount (``count_assembly_vote``)."""
        label = _label(contest)
        recorded = contest["count"]
        if recorded is None:
            return [f"{label}: a vote, but its count is null"], []
        ballots = self.ballots.get(contest["id"])
        if ballots is None or not ballots.countable:
            return [f"{label}: not recounted: its ballots are not valid (step 5)"], []
        method = contest["method"]
        items = contest["ballots"]["items"]
        try:
            expected, elected, excluded = count_assembly_vote(
                method,
                [(c["id"], c["ballot_name"]) for c in contest["candidates"]],
                items,
                contest.get("weighting"),
                contest["seed"],
            )
        except (BallotError, LotNeeded, ValueError) as error:
            return [f"{label}: the ballots cannot be recounted: {error}"], []
        self.outcomes[contest["id"]] = (elected, excluded)
        problems = []
        if not _same(recorded, expected):
            problems.append(f"{label}: {_count_difference(recorded, expected)}")
        lots_note = ""
        if method != "confirmation":
            lots_problems, lots_note = _lots(label, contest, recorded)
            problems += lots_problems
        if not _same(contest["elected"], elected):
            problems.append(
                f"{label}: elected is {_json(contest['elected'])}, but the recount elects "
                f"{_json(elected)}"
            )
        if problems:
            return problems, []
        weighted = " weighted by constituency" if contest.get("weighting") else ""
        names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
        if method == "confirmation":
            verdict = "carried" if expected["carried"] else "not carried"
            outcome = (
                f"yes {expected['yes']}, no {expected['no']}, abstain {expected['abstain']}: "
                f"{verdict}"
            )
        elif elected:
            outcome = f"elected {names[elected[0]]}"
        else:
            outcome = f"no majority; excluded {', '.join(names[i] for i in excluded)}"
        return [], [
            f"{label}: recounted {len(items):,} ballot(s) by {_METHOD_WORDS[method]}{weighted}: "
            f"the same count; {outcome}",
            lots_note,
        ]

    def _assembly_checks(self) -> tuple[list[str], list[str]]:
        """Problems and notes of what makes the votes one assembly's: the seed revealed is
        the one committed to and every vote's seed is made from it; each round after one
        that excluded someone is between those still standing; the declared result is the
        last vote's."""
        assembly = self.body["assembly"]
        contests = self.body["contests"]
        problems: list[str] = []
        notes: list[str] = []
        seed = assembly["seed"]
        commitment = assembly_seed_sha256(seed)
        if commitment != assembly["seed_sha256"]:
            problems.append(
                f"assembly.seed_sha256 is {assembly['seed_sha256']} (published before any "
                f"vote), but the revealed assembly.seed hashes to {commitment}: the seed "
                "revealed is not the one committed to"
            )
        else:
            notes.append(
                f"the assembly's seed {_short(seed)} hashes to assembly.seed_sha256 "
                f"{_short(commitment)}, published before any vote"
            )
        wrong = 0
        for contest in contests:
            derived = vote_seed(seed, contest["id"])
            if contest["seed"] != derived:
                wrong += 1
                problems.append(
                    f"{_label(contest)}: its seed is {contest['seed']}, but the assembly's seed "
                    f'gives {derived} (SHA-256 of "<assembly seed>:vote:{contest["id"]}")'
                )
        if contests and not wrong:
            notes.append(
                f"the seed of each of the {len(contests)} vote(s) is the SHA-256 of "
                '"<assembly seed>:vote:<contest id>"'
            )
        for before, after in pairwise(contests):
            problems += self._next_vote(before, after)
        result_problems, result_note = self._result(assembly, contests)
        problems += result_problems
        if not problems:
            notes.append(result_note)
        return problems, notes

    def _next_vote(self, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
        """What is wrong with ``after`` following ``before``: only a round that elected
        nobody and excluded someone is followed, by a vote between those still standing."""
        outcome = self.outcomes.get(before["id"])
        if outcome is None:
            return [
                f"{_label(after)}: not checked against {_label(before)}, which was not recounted"
            ]
        elected, excluded = outcome
        names = {c["id"]: c["ballot_name"] for c in before["candidates"]}
        if elected or before["method"] != "round" or not excluded:
            ended = f"elected {names[elected[0]]}" if elected else f"was a {before['method']} vote"
            if before["method"] == "confirmation":
                ended = "was a confirmation vote"
            return [
                f"{_label(before)} {ended}, which ends the voting, but {_label(after)} follows it"
            ]
        continuing = [c["id"] for c in before["candidates"] if c["id"] not in excluded]
        ids = [c["id"] for c in after["candidates"]]
        if sorted(ids) != sorted(continuing):
            return [
                f"{_label(after)}: its candidates are {_json(ids)}, but after "
                f"{_label(before)} excluded {', '.join(names[i] for i in excluded)} the "
                f"candidates still standing are {_json(continuing)}"
            ]
        return []

    def _result(
        self, assembly: dict[str, Any], contests: list[dict[str, Any]]
    ) -> tuple[list[str], str]:
        """Problems with ``assembly.result``, and a note of it: it is the last vote's."""
        result = assembly["result"]
        outcome, leader, term = result["outcome"], result["leader"], result["term"]
        problems = []
        if outcome != "elected":
            for key in ("leader", "term"):
                if result[key] is not None:
                    problems.append(
                        f"assembly.result.{key} is {_json(result[key])}, but the outcome is "
                        f"{_json(outcome)}: it must be null"
                    )
        elif term is not None and term["starts_on"] > term["ends_on"]:
            problems.append(
                f"assembly.result.term starts on {term['starts_on']}, after it ends on "
                f"{term['ends_on']}"
            )
        if not contests:
            if outcome != "no-candidates":
                problems.append(
                    f"assembly.result.outcome is {_json(outcome)}, but the record has no votes: "
                    'with none the outcome is "no-candidates"'
                )
            return problems, "assembly.result: no candidates stood, so there was no vote"
        last = contests[-1]
        label = _label(last)
        found = self.outcomes.get(last["id"])
        if found is None:
            return [
                *problems,
                f"assembly.result not checked: the last vote, {label}, was not recounted",
            ], ""
        elected, excluded = found
        names = {c["id"]: c["ballot_name"] for c in last["candidates"]}
        if elected:
            expected, who = "elected", {"candidate": elected[0], "name": names[elected[0]]}
            how = "confirmed as" if last["method"] == "confirmation" else "elected"
            note = (
                f"assembly.result: {names[elected[0]]} {how} {assembly['leader_title']} by "
                f"the last vote, {label}"
            )
        elif last["method"] == "confirmation":
            expected, who = "not-confirmed", None
            note = f"assembly.result: not confirmed by the last vote, {label}"
        else:
            return [
                *problems,
                f"{label}, the last vote, elected nobody (it excluded "
                f"{', '.join(names[i] for i in excluded)}): the record ends before the "
                f"assembly chose its {assembly['leader_title']}",
            ], ""
        if outcome != expected:
            problems.append(
                f"assembly.result.outcome is {_json(outcome)}, but the last vote, {label}, "
                f"gives {_json(expected)}"
            )
        elif who is not None and not _same(leader, who):
            problems.append(
                f"assembly.result.leader is {_json(leader)}, but the last vote, {label}, "
                f"elected {_json(who)}"
            )
        return problems, note

    def _recount_contest(self, contest: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Problems and notes of one contested contest's recount."""
        label = _label(contest)
        recorded = contest["count"]
        if recorded is None:
            return [f"{label}: contested, but its count is null"], []
        ballots = self.ballots.get(contest["id"])
        if ballots is None or not ballots.countable:
            return [f"{label}: not recounted: its ballots are not valid (step 5)"], []
        ids = [c["id"] for c in contest["candidates"]]
        position = {candidate_id: index for index, candidate_id in enumerate(ids)}
        weights = {
            tuple(position[i] for i in ranking): n for ranking, n in ballots.rankings.items()
        }
        candidates = [Candidate(f"c{c['id']}", c["ballot_name"]) for c in contest["candidates"]]
        try:
            result = count(
                build_profile(candidates, weights),
                contest["method"],
                contest["seats"],
                seed=contest["seed"],
            )
        except (BallotError, LotNeeded, ValueError) as error:
            return [f"{label}: the ballots cannot be recounted: {error}"], []
        expected = json.loads(json.dumps(result.to_dict()))
        problems = []
        if not _same(recorded, expected):
            problems.append(f"{label}: {_count_difference(recorded, expected)}")
        lots_problems, lots_note = _lots(label, contest, recorded)
        problems += lots_problems
        elected = [int(c[1:]) for c in result.elected]
        if not _same(contest["elected"], elected):
            problems.append(
                f"{label}: elected is {_json(contest['elected'])}, but the recount elects "
                f"{_json(elected)} (in order of election)"
            )
        if problems:
            return problems, []
        return [], [
            f"{label}: recounted {sum(ballots.rankings.values()):,} ballot(s) by "
            f"{contest['method']} for {contest['seats']} seat(s): the same count, "
            f"{len(expected['stages'])} stage(s), elected {_json(elected)}",
            lots_note,
        ]

    # -- step 8 --------------------------------------------------------------------------------

    def receipt_step(self) -> tuple[bool, list[str]]:
        passed = True
        details: list[str] = []
        if self.receipt is not None:
            problems, notes = self._receipt()
            passed = not problems
            details += problems or notes
        if self.tracker is not None:
            found, lines = self._find_tracker(normalise_tracker(self.tracker))
            passed = passed and found
            details += lines
        return passed, details

    def _receipt(self) -> tuple[list[str], list[str]]:
        document = self.receipt
        shape = {
            "institution": str,
            "election": int,
            "contest": int,
            "tracker": str,
            "ballot_hash": str,
            "cast_on": str,
        }
        inner = document.get("receipt") if isinstance(document, dict) else None
        if (
            not isinstance(document, dict)
            or document.get("format") != RECEIPT_FORMAT
            or not isinstance(inner, dict)
            or not all(type(inner.get(k)) is t for k, t in shape.items())
            or not isinstance(document.get("signature"), str)
        ):
            return [
                f"the receipt is not a receipt of format {_json(RECEIPT_FORMAT)}: it needs a "
                f"'receipt' with {', '.join(shape)}, and a 'signature'"
            ], []
        key = self.body["keys"]["election"]
        problems = []
        if document.get("fingerprint") != key["fingerprint"]:
            problems.append(
                f"the receipt names the key {_short(str(document.get('fingerprint')))}, not this "
                f"record's election key {_short(key['fingerprint'])}"
            )
        try:
            signed = receipt_signed_by(document, key["public_key"])
        except ValueError:
            signed = False
        if not signed:
            problems.append(
                "the receipt's signature does not verify with this record's election key: the "
                "receipt was altered, or is not from this election"
            )
        institution = self.body["institution"]["slug"]
        what, election = _event(self.body)
        if inner["institution"] != institution or inner["election"] != election:
            problems.append(
                f"the receipt is for {inner['institution']} {what} {inner['election']}, "
                f"this record for {institution} {what} {election}"
            )
        problems += self._receipt_ballot(inner)
        if problems:
            return problems, []
        return [], [
            f"the receipt is signed by the election key; cast on {inner['cast_on']}",
            f"its ballot (tracker {inner['tracker']}) is in contest {inner['contest']} with the "
            f"same hash {_short(inner['ballot_hash'])}",
        ]

    def _receipt_ballot(self, inner: dict[str, Any]) -> list[str]:
        tracker = inner["tracker"]
        contests = [c for c in self.body["contests"] if c["id"] == inner["contest"]]
        if not contests:
            return [f"the receipt names contest {inner['contest']}, which is not in the record"]
        contest = contests[0]
        label = _label(contest)
        item = next((i for i in contest["ballots"]["items"] if i["tracker"] == tracker), None)
        if item is None:
            elsewhere = [c["id"] for c, _ in self._locate(tracker)]
            if elsewhere:
                return [
                    f"the receipt's ballot (tracker {tracker}) is not in {label} but in contest "
                    f"{elsewhere[0]}"
                ]
            return [
                f"the receipt's ballot (tracker {tracker}) is not in the record: the record "
                "lacks a ballot the server accepted"
            ]
        actual = ballot_hash(
            contest["id"],
            tracker,
            item.get("ranking"),
            choice=item.get("choice"),
            constituency=item.get("constituency"),
        )
        if actual != inner["ballot_hash"]:
            return [
                f"{label}: the ballot with tracker {tracker} hashes to {actual}, but the receipt "
                f"says {inner['ballot_hash']}: the record holds a different ballot from the one "
                "cast"
            ]
        return []

    def _locate(self, tracker: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [
            (contest, item)
            for contest in self.body["contests"]
            for item in contest["ballots"]["items"]
            if item["tracker"] == tracker
        ]

    def _find_tracker(self, tracker: str) -> tuple[bool, list[str]]:
        if not _TRACKER.match(tracker):
            return False, [
                f"{_json(tracker)} is not a tracker: four groups of four letters and digits, "
                "like K7QM-2XHD-9PLA-4RTE"
            ]
        found = self._locate(tracker)
        if not found:
            return False, [f"tracker {tracker} is not in the record"]
        lines = []
        for contest, item in found:
            names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
            if "choice" in item:
                on = ", ".join(names.values())
                leader = self.body.get("assembly", {}).get("leader_title", "")
                marks = f"its choice: {item['choice']} (on confirming {on} as {leader})"
            else:
                chosen = ", ".join(names.get(i, f"#{i}") for i in item["ranking"])
                what = "choice" if contest["method"] == "round" else "ranking"
                marks = f"its {what}: {chosen}"
            if "constituency" in item:
                marks += f"; its constituency: {item['constituency']}"
            lines.append(f"tracker {tracker} is in {_label(contest)}; {marks}")
        return True, lines

    # -- step 9 --------------------------------------------------------------------------------

    def roll_proof_step(self) -> tuple[bool, list[str]]:
        document = self.roll_proof
        shape = {
            "institution": str,
            "election": int,
            "contest": int,
            "number": int,
            "email": str,
            "salt": str,
            "index": int,
            "size": int,
            "path": list,
        }
        if (
            not isinstance(document, dict)
            or document.get("format") != ROLL_PROOF_FORMAT
            or not all(type(document.get(k)) is t for k, t in shape.items())
            or not all(isinstance(h, str) for h in document["path"])
        ):
            return False, [
                f"the roll proof is not of format {_json(ROLL_PROOF_FORMAT)}: it needs "
                f"{', '.join(shape)}"
            ]
        institution = self.body["institution"]["slug"]
        what, election = _event(self.body)
        if document["institution"] != institution or document["election"] != election:
            return False, [
                f"the roll proof is for {document['institution']} {what} "
                f"{document['election']}, this record for {institution} {what} {election}"
            ]
        contest = next((c for c in self.body["contests"] if c["id"] == document["contest"]), None)
        if contest is None:
            return False, [
                f"the roll proof names contest {document['contest']}, which is not in the record"
            ]
        label = _label(contest)
        voters, root = contest["roll"]["voters"], contest["roll"]["merkle_root"]
        if document["size"] != voters:
            return False, [
                f"{label}: the roll proof is for a roll of {document['size']:,}, the record's "
                f"roll has {voters:,}"
            ]
        leaf = roll_leaf(
            document["contest"], document["number"], document["email"], document["salt"]
        )
        if not verify_inclusion(leaf, document["index"], voters, document["path"], root):
            return False, [
                f"{label}: elector {document['number']} ({document['email']}) with this salt is "
                f"not entry {document['index'] + 1:,} of the roll whose Merkle root is "
                f"{_short(root)}: the proof or the record was altered"
            ]
        return True, [
            f"{label}: elector {document['number']} ({document['email']}) is entry "
            f"{document['index'] + 1:,} of {voters:,} on the roll whose Merkle root is "
            f"{_short(root)}"
        ]


# -- pieces of the steps -----------------------------------------------------------------------


def _is_assembly(body: dict[str, Any]) -> bool:
    """Whether the body is an assembly's (``kind`` is ``"board-election"`` when absent)."""
    return body.get("kind") == "assembly"


def _event(body: dict[str, Any]) -> tuple[str, int]:
    """What the record is of, and its id: ``("election", 12)`` or ``("assembly", 3)``. A
    receipt's or roll proof's ``election`` field holds either."""
    if _is_assembly(body):
        return "assembly", body["assembly"]["id"]
    return "election", body["election"]["id"]


def _kind_problems(body: dict[str, Any], rankings: dict[int, list[Any]]) -> list[str]:
    """What breaks the rules of the body's kind, which the schema (with no conditionals)
    leaves to the verifier: the fields of each kind, the methods of its contests, and the
    shape of their ballots. A board election's rankings are kept in ``rankings`` (by contest
    id) on the way, for step 5."""
    if _is_assembly(body):
        problems = []
        if "election" in body:
            problems.append(
                "body: has 'election', but a record of kind \"assembly\" has 'assembly' instead"
            )
        if "assembly" not in body:
            problems.append("body: lacks 'assembly' (a record of kind \"assembly\" has one)")
        for index, contest in enumerate(body["contests"]):
            problems += _vote_problems(body.get("assembly"), contest, f"body.contests[{index}]")
        return problems
    problems = []
    if "election" not in body:
        problems.append("body: lacks 'election' (a board election's record has one)")
    if "assembly" in body:
        problems.append(
            "body: has 'assembly', which only a record of kind \"assembly\" has; this one is "
            "a board election's"
        )
    if not body["contests"]:
        problems.append("body.contests: must have at least 1 item(s), not 0")
    for index, contest in enumerate(body["contests"]):
        path = f"body.contests[{index}]"
        if contest["method"] not in BOARD_METHODS:
            problems.append(
                f'{path}.method: must be one of "stv", "fptp" in a board election, not '
                f"{_json(contest['method'])} (irv, round and confirmation are an assembly's)"
            )
        if contest.get("weighting") is not None:
            problems.append(
                f"{path}.weighting: a board election's contest has none (its constituency's "
                "weight is its 'weight'); only an assembly's votes are weighted by constituency"
            )
        items = contest["ballots"]["items"]
        # A board election may have a million ballots: every one has a tracker and a channel
        # (the schema), so with a ranking and three keys in all it has nothing else; both
        # checked at C speed, and the rankings kept for step 5.
        try:
            rankings[contest["id"]] = list(map(itemgetter("ranking"), items))
            shaped = sum(map(len, items)) == len(_RANKED_BALLOT) * len(items)
        except KeyError:
            shaped = False
        if not shaped:
            problems += _ballot_shape(items, f"{path}.ballots", "ranking", weighted=False)
    return problems


def _vote_problems(
    assembly: dict[str, Any] | None, contest: dict[str, Any], path: str
) -> list[str]:
    """What breaks the rules of one vote of an assembly."""
    problems = []
    method = contest["method"]
    if method not in ASSEMBLY_METHODS:
        problems.append(
            f"{path}.method: must be one of {', '.join(map(_json, ASSEMBLY_METHODS))} in an "
            f"assembly, not {_json(method)}"
        )
    elif assembly is not None:
        allowed = {"irv": "irv", "rounds": "round"}[assembly["method"]]
        if method not in (allowed, "confirmation"):
            problems.append(
                f"{path}.method: the assembly votes by {assembly['method']} (assembly.method), "
                f"so each vote is {allowed} or confirmation, not {method}"
            )
    fixed = (
        ("constituency", PRESENT),
        ("weight", "1/1"),
        ("seats", 1),
        ("uncontested", False),
    )
    for key, value in fixed:
        if not _same(contest[key], value):
            problems.append(
                f"{path}.{key}: must be {_json(value)} in an assembly's vote, not "
                f"{_json(contest[key])}"
            )
    weighted = contest.get("weighting") is not None
    if assembly is not None and weighted != assembly["weighting"]:
        problems.append(
            f"{path}.weighting: assembly.weighting is {_json(assembly['weighting'])}, but this "
            f"vote is {'weighted' if weighted else 'not weighted'} by constituency"
        )
    marks = "choice" if method == "confirmation" else "ranking"
    problems += _ballot_shape(contest["ballots"]["items"], f"{path}.ballots", marks, weighted)
    return problems


def _ballot_shape(items: list[dict[str, Any]], path: str, marks: str, weighted: bool) -> list[str]:
    """Ballots without their ``marks`` (ranking or choice), with the other, or with a
    constituency where the vote is not weighted (or without one where it is)."""
    other = "choice" if marks == "ranking" else "ranking"
    why = {
        "choice": "only a confirmation vote's ballot has a choice",
        "ranking": "a confirmation vote's ballot has a choice instead",
    }
    problems = []
    for index, item in enumerate(items):
        where = f"{path}.items[{index}]"
        if marks not in item:
            problems.append(f"{where}: lacks {marks!r}")
        if other in item:
            problems.append(f"{where}: has {other!r}; {why[other]}")
        if weighted and "constituency" not in item:
            problems.append(f"{where}: lacks 'constituency' (the vote is weighted)")
        if not weighted and "constituency" in item:
            problems.append(
                f"{where}: has 'constituency', which only a ballot of a weighted assembly vote has"
            )
        if len(problems) >= PROBLEMS_PER_CONTEST:
            break
    return problems


def _kind(value: Any) -> str:
    return {list: "a JSON array", str: "a JSON string", type(None): "null"}.get(
        type(value), f"a JSON {type(value).__name__}"
    )


def _order(label: str, trackers: list[str]) -> list[str]:
    """Where trackers are out of order or repeated."""
    if all(a < b for a, b in pairwise(trackers)):
        return []
    problems = []
    for index in range(1, len(trackers)):
        before, after = trackers[index - 1], trackers[index]
        if after == before:
            problems.append(f"{label}: tracker {after} appears twice (items[{index}])")
        elif after < before:
            problems.append(
                f"{label}: tracker {after} (items[{index}]) comes after {before}: ballots must "
                "be sorted by tracker"
            )
        if len(problems) > PROBLEMS_PER_CONTEST:
            break
    return problems


def _ranking_problem(
    ranking: tuple[int, ...], ids: set[int], contest: dict[str, Any]
) -> str | None:
    """What is wrong with a ranking of candidate ids in this contest, if anything."""
    unknown = sorted(set(ranking) - ids)
    if unknown:
        return f"ranks {unknown}, not candidates in this contest"
    if len(set(ranking)) != len(ranking):
        twice = sorted({i for i in ranking if ranking.count(i) > 1})
        return f"ranks {twice} more than once"
    if contest["method"] == "round" and len(ranking) != 1:
        return f"chooses {len(ranking)} candidates; a round's ballot chooses one"
    if contest["method"] == "fptp":
        if len(ranking) > contest["seats"]:
            return f"chooses {len(ranking)} candidates for {contest['seats']} seat(s)"
        if list(ranking) != sorted(ranking):
            return f"lists its choices {list(ranking)} out of increasing order"
    return None


def _marks(contest: dict[str, Any]) -> str:
    """What step 5 found each ballot marks, in words."""
    weighted = " from a constituency of its weighting" if contest.get("weighting") else ""
    if contest["method"] == "confirmation":
        return f"each yes, no or abstain{weighted}"
    if contest["method"] == "round":
        return f"each choosing one of its candidates{weighted}"
    return f"ranking only its candidates{weighted}"


def _weighting_problems(
    label: str, weighting: dict[str, Any], items: list[dict[str, Any]]
) -> list[str]:
    """Constituencies listed twice in a vote's weighting, and ballots from one it lacks."""
    keys = [entry["key"] for entry in weighting["constituencies"]]
    problems = [
        f"{label}: its weighting lists constituency {_json(key)} more than once"
        for key in sorted({k for k in keys if keys.count(k) > 1})
    ]
    listed = set(keys)
    for index, item in enumerate(items):
        if item["constituency"] not in listed:
            problems.append(
                f"{label}: ballot {item['tracker']} (items[{index}]) is from constituency "
                f"{_json(item['constituency'])}, which the vote's weighting does not list "
                f"({', '.join(map(_json, keys))})"
            )
            if len(problems) > PROBLEMS_PER_CONTEST:
                break
    return problems


def _uncontested(contest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Problems and a note of an uncontested contest: no count, no ballots, every
    candidate elected."""
    label = _label(contest)
    ids = [c["id"] for c in contest["candidates"]]
    problems = []
    if contest["count"] is not None:
        problems.append(f"{label}: uncontested, but it has a count (it must be null)")
    if len(ids) > contest["seats"]:
        problems.append(
            f"{label}: marked uncontested, but {len(ids)} candidates stood for "
            f"{contest['seats']} seat(s)"
        )
    elected = contest["elected"]
    if sorted(elected) != sorted(ids):
        problems.append(
            f"{label}: uncontested, so every candidate {_json(ids)} is elected, but elected is "
            f"{_json(elected)}"
        )
    if contest["ballots"]["items"] or contest["ballots"]["count"]:
        problems.append(f"{label}: uncontested, but it has ballots")
    if problems:
        return problems, []
    names = ", ".join(c["ballot_name"] for c in contest["candidates"])
    return [], [f"{label}: uncontested: {names or 'nobody'} elected without a poll"]


def _count_difference(recorded: Any, expected: dict[str, Any]) -> str:
    """The first place where the recorded count differs from the recount, in words."""
    if not isinstance(recorded, dict):
        return f"the recorded count is {_kind(recorded)}, not a count"
    for key, value in expected.items():
        if key not in recorded:
            return f"the recorded count lacks {key!r}"
        if _same(recorded[key], value):
            continue
        if key == "stages":
            return _stages_difference(recorded[key], value)
        if key == "lots":
            return _lots_difference(recorded[key], value)
        return (
            f"count.{key} is recorded as {_json(recorded[key])}, but the recount gives "
            f"{_json(value)}"
        )
    extra = sorted(set(recorded) - set(expected))
    return f"the recorded count has {', '.join(map(repr, extra))}, which a count does not"


def _stages_difference(recorded: Any, expected: list[dict[str, Any]]) -> str:
    if not isinstance(recorded, list):
        return "count.stages is not a list of stages"
    for index, stage in enumerate(expected):
        if index >= len(recorded):
            return (
                f"the recorded count stops after stage {index}; the recount has stage {index + 1}"
            )
        found = _stage_difference(recorded[index], stage)
        if found:
            return found
    return f"the recorded count has {len(recorded)} stages; the recount has {len(expected)}"


def _lots_difference(recorded: Any, expected: dict[str, Any]) -> str:
    draws = recorded.get("draws") if isinstance(recorded, dict) else None
    if not isinstance(draws, list) or not _same(
        {k: v for k, v in recorded.items() if k != "draws"},
        {k: v for k, v in expected.items() if k != "draws"},
    ):
        return (
            f"count.lots is recorded as {_json(recorded)}, but the recount gives {_json(expected)}"
        )
    for number, (found, again) in enumerate(zip(draws, expected["draws"], strict=False), start=1):
        if not _same(found, again):
            return (
                f"lot {number} is recorded as {_json(found)}, but the recount draws {_json(again)}"
            )
    return (
        f"the recorded count drew {len(draws)} lot(s); the recount draws {len(expected['draws'])}"
    )


def _stage_difference(recorded: Any, expected: dict[str, Any]) -> str | None:
    number = expected["number"]
    what = f"stage {number} ({expected['action']}"
    what += f" of {expected['candidate']})" if expected["candidate"] else ")"
    if not isinstance(recorded, dict):
        return f"{what}: the recorded stage is {_kind(recorded)}"
    for key, value in expected.items():
        found = recorded.get(key)
        if isinstance(value, dict) and isinstance(found, dict):
            for inner, inner_value in value.items():
                if not _same(found.get(inner), inner_value):
                    return (
                        f"{what}, {key}.{inner}: recorded {_json(found.get(inner))}, recounted "
                        f"{_json(inner_value)}"
                    )
        if not _same(found, value):
            return f"{what}, {key}: recorded {_json(found)}, recounted {_json(value)}"
    extra = sorted(set(recorded) - set(expected))
    if extra:
        return f"{what} has {', '.join(map(repr, extra))}, which a stage does not"
    return None


def _lots(label: str, contest: dict[str, Any], recorded: Any) -> tuple[list[str], str]:
    """Problems with the recorded lots, and a note of them: the seed is the contest's, and
    each draw, drawn again from the seed, gives the same choice, counter and digest."""
    lots = recorded.get("lots") if isinstance(recorded, dict) else None
    if not isinstance(lots, dict):
        return [f"{label}: the recorded count has no lots"], ""
    seed = contest["seed"]
    if lots.get("seed") != seed:
        return [
            f"{label}: count.lots.seed is {_json(lots.get('seed'))}, but the contest's seed is "
            f"{seed}"
        ], ""
    draws = lots.get("draws")
    if not isinstance(draws, list):
        return [f"{label}: count.lots.draws is not a list of draws"], ""
    problems = []
    for number, recorded_draw in enumerate(draws, start=1):
        problem = _draw_problem(bytes.fromhex(seed), recorded_draw)
        if problem:
            problems.append(f"{label}: lot {number} {problem}")
    if problems:
        return problems, ""
    if not draws:
        return [], f"{label}: no lots were needed"
    chosen = ", ".join(str(d["chosen"]) for d in draws)
    return [], (
        f"{label}: {len(draws)} lot(s) drawn again from the seed {_short(seed)}: the same "
        f"choice(s) ({chosen})"
    )


def _draw_problem(seed: bytes, recorded: Any) -> str | None:
    if (
        not isinstance(recorded, dict)
        or not isinstance(recorded.get("context"), str)
        or not isinstance(recorded.get("options"), list)
        or not recorded["options"]
        or not all(isinstance(o, str) for o in recorded["options"])
    ):
        return "is not a draw (context, options, chosen, counter, digest)"
    again = draw(seed, recorded["context"], recorded["options"])
    for name in ("chosen", "counter", "digest"):
        if not _same(recorded.get(name), getattr(again, name)):
            return (
                f"({recorded['context']}): {name} is recorded as {_json(recorded.get(name))}, "
                f"but drawn again it is {_json(getattr(again, name))}"
            )
    return None


# -- the steps in order ------------------------------------------------------------------------


def verify_record(
    record: Any,
    *,
    signature: dict[str, Any] | None = None,
    receipt: dict[str, Any] | None = None,
    tracker: str | None = None,
    fingerprints: Sequence[str] = (),
    roll_proof: dict[str, Any] | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> Report:
    """Run every check of the record format on ``record`` (a loaded record file).

    :param signature: the returning officer's detached signature file, if given.
    :param receipt: a voter's receipt to find in the record (step 8).
    :param tracker: a tracker to look up (step 8).
    :param roll_proof: a member's roll proof to check against the roll's root (step 9).
    :param fingerprints: fingerprints of keys the reader trusts (hex; spaces allowed): the
        election key's must be one of them, and the returning officer's too when two or more
        are given.
    :param on_step: called with each step as it finishes (for progress on large records).
    """
    verifier = _Verifier(record, signature, receipt, tracker, fingerprints, roll_proof)
    runs: list[tuple[int, Callable[[], tuple[bool, list[str]]]]] = [
        (1, verifier.schema),
        (2, verifier.body_hash),
        (3, verifier.election_signature),
        (4, verifier.officer_signature),
        (5, verifier.ballots_step),
        (6, verifier.roll),
        (7, verifier.recount),
    ]
    if receipt is not None or tracker is not None:
        runs.append((8, verifier.receipt_step))
    if roll_proof is not None:
        runs.append((9, verifier.roll_proof_step))
    steps: list[Step] = []
    for number, run in runs:
        name = _name(number, receipt, tracker)
        if steps and not steps[0].passed:
            step = Step(
                number, name, False, ["not run: the file is not a record of format 1 (step 1)"]
            )
        else:
            step = _timed(number, name, run)
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return Report(steps)


def _name(number: int, receipt: Any, tracker: str | None) -> str:
    if number != 8:
        return STEPS[number]
    if receipt is not None and tracker is not None:
        return "Receipt and tracker"
    return "Receipt" if receipt is not None else "Tracker"


def _timed(number: int, name: str, run: Callable[[], tuple[bool, list[str]]]) -> Step:
    start = time.perf_counter()
    try:
        passed, details = run()
    except Exception as error:  # a verifier reports what it could not check; it never crashes
        passed, details = False, [f"could not be checked: {type(error).__name__}: {error}"]
    return Step(number, name, passed, [d for d in details if d], time.perf_counter() - start)
