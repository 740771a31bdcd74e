"""Make the example election record, its receipt and signature file, and tampered copies.

Run ``.venv/bin/python docs/examples/make_examples.py``: it writes the files beside itself
(README.md there explains each). Everything is deterministic — fixed keys from fixed seeds,
trackers and salts from a seeded ``random.Random``, Ed25519 signatures are deterministic — so
running it again gives the same bytes, and ``tests/records`` checks the files are current.

The record is built by hand from plain data with the pure modules only (no application, no
database): three contests of a hospital's board election — the public constituency by STV
(3 seats, 6 candidates, 60 ballots; two candidates tie at the bottom and a lot decides who is
excluded), the staff by first past the post (1 seat), and the volunteers uncontested. That
record was made before records carried the commitment to the election's seed, and has none;
the hospital's next board election (``committed-*.json``) has the same contests, its seed's
SHA-256 (printed before the poll) and the seed itself, from which each contest's seed is made.

Two assembly records follow (``assembly-*.json``): the hospital's annual public assembly of
2027 electing its chair in two rounds of an exhaustive ballot, weighted by constituency
(workers, service users, community), and that of 2026 confirming the sitting chair.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from assembly.counting import Candidate, build_profile, count  # noqa: E402
from assembly.records.merkle import inclusion_proof, merkle_root  # noqa: E402
from assembly.records.record import (  # noqa: E402
    PRESENT,
    assembly_seed_sha256,
    ballot_hash,
    ballot_leaf,
    body_sha256,
    contest_seed,
    count_assembly_vote,
    election_seed_sha256,
    key_entry,
    make_receipt,
    roll_leaf,
    roll_proof,
    sign_record,
    signature_file,
    vote_seed,
)
from assembly.records.signing import public_key_text  # noqa: E402

# !!! EXAMPLE KEYS ONLY !!! These private key seeds are published here so that anyone can
# rebuild the examples byte for byte. A key made from them proves nothing: never sign a real
# record, receipt or countersignature with them, and never trust a record signed by them.
EXAMPLE_ELECTION_KEY_SEED = bytes.fromhex(
    "e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec7e1ec"
)
EXAMPLE_OFFICER_KEY_SEED = bytes.fromhex(
    "0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1"
)
#: The forger's key, used to make the tampered copies.
EXAMPLE_FORGER_KEY_SEED = bytes.fromhex(
    "f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9e5f0e9"
)

INSTITUTION = {
    "slug": "riverside-hospital",
    "name": "Riverside Community Hospital",
    "kind": "hospital",
}
ELECTION_ID = 12
CAST_ON = "2026-11-22"
#: The next board election's id, and its seed (published as its SHA-256 before the poll,
#: revealed in the record).
COMMITTED_ELECTION_ID = 13
COMMITTED_SEED = hashlib.sha256(b"example election seed 2027").hexdigest()
TRACKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: Which of the public contest's ballots the example receipt is for (index in tracker order).
RECEIPT_BALLOT = 17
#: Whose roll proof the example holds (index in the public contest's roll: elector 7).
ROLL_PROOF_INDEX = 6


def _key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def _tracker(rng: random.Random) -> str:
    letters = "".join(rng.choice(TRACKER_ALPHABET) for _ in range(16))
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def _public_rankings(rng: random.Random, ids: list[int]) -> list[list[int]]:
    """60 STV ballots: first preferences 15, 14, 12, 11, 4 and 4, so that nobody reaches the
    quota (16) at stage 1 and the last two tie: a lot decides which is excluded."""
    firsts = [15, 14, 12, 11, 4, 4]
    rankings = []
    for candidate, papers in zip(ids, firsts, strict=True):
        for _ in range(papers):
            others = [i for i in ids if i != candidate]
            rng.shuffle(others)
            rankings.append([candidate, *others[: rng.randint(0, 4)]])
    return rankings


def _staff_rankings(rng: random.Random, ids: list[int]) -> list[list[int]]:
    """24 first-past-the-post ballots: one choice each."""
    return [[rng.choices(ids, weights=[5, 3, 2])[0]] for _ in range(24)]


#: Each contest's roll entries (number, address, salt), kept for the roll proof example.
ROLLS: dict[int, list[tuple[int, str, str]]] = {}


def _roll(rng: random.Random, contest_id: int, voters: int, domain: str) -> dict[str, Any]:
    """Made-up roll entries: numbers, addresses and salts only the server would keep."""
    entries = [
        (number, f"member{number:03d}@{domain}", f"{rng.getrandbits(128):032x}")
        for number in range(1, voters + 1)
    ]
    ROLLS[contest_id] = entries
    leaves = [roll_leaf(contest_id, *entry) for entry in entries]
    return {"voters": voters, "merkle_root": merkle_root(leaves)}


def _roll_proof(contest_id: int, index: int) -> dict[str, Any]:
    """The roll proof the record page gives the member at ``index`` of the contest's roll."""
    entries = ROLLS[contest_id]
    number, email, salt = entries[index]
    return roll_proof(
        institution=INSTITUTION["slug"],
        election=ELECTION_ID,
        contest=contest_id,
        number=number,
        email=email,
        salt=salt,
        index=index,
        size=len(entries),
        path=inclusion_proof([roll_leaf(contest_id, *entry) for entry in entries], index),
    )


def _ballots(rng: random.Random, contest_id: int, rankings: list[list[int]]) -> dict[str, Any]:
    trackers: set[str] = set()
    while len(trackers) < len(rankings):
        trackers.add(_tracker(rng))
    items = [
        {"tracker": tracker, "ranking": ranking, "channel": rng.choice(["online"] * 4 + ["paper"])}
        for tracker, ranking in zip(sorted(trackers), rankings, strict=True)
    ]
    return _with_root(contest_id, items)


def _with_root(contest_id: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    root = merkle_root(
        ballot_leaf(
            contest_id,
            i["tracker"],
            i.get("ranking"),
            choice=i.get("choice"),
            constituency=i.get("constituency"),
        )
        for i in items
    )
    return {"count": len(items), "merkle_root": root, "items": items}


def _count(contest: dict[str, Any]) -> dict[str, Any]:
    """The count, as ``assembly.elections.count`` makes it: candidates in ballot order with
    ids ``c<id>``, rankings as positions, aggregated."""
    ids = [c["id"] for c in contest["candidates"]]
    position = {candidate_id: index for index, candidate_id in enumerate(ids)}
    weights = Counter(tuple(position[i] for i in b["ranking"]) for b in contest["ballots"]["items"])
    candidates = [Candidate(f"c{c['id']}", c["ballot_name"]) for c in contest["candidates"]]
    result = count(
        build_profile(candidates, dict(weights)),
        contest["method"],
        contest["seats"],
        seed=contest["seed"],
    )
    return result.to_dict()


def _contest(
    rng: random.Random,
    contest_id: int,
    constituency: tuple[str, str],
    weight: str,
    method: str,
    seats: int,
    names: list[str],
    voters: int,
    seed: str | None = None,
) -> dict[str, Any]:
    """One contest of a board election; its seed made from the election's ``seed``, or (the
    record of 2026, made before records carried the election's seed) from a phrase."""
    candidates = [
        {"id": 100 + contest_id * 10 + n, "ballot_name": name} for n, name in enumerate(names)
    ]
    ids = [c["id"] for c in candidates]
    uncontested = len(candidates) <= seats
    if uncontested:
        rankings: list[list[int]] = []
    elif method == "stv":
        rankings = _public_rankings(rng, ids)
    else:
        rankings = _staff_rankings(rng, ids)
    rng.shuffle(rankings)
    contest: dict[str, Any] = {
        "id": contest_id,
        "constituency": {"key": constituency[0], "name": constituency[1]},
        "weight": weight,
        "seats": seats,
        "method": method,
        "seed": hashlib.sha256(f"example election seed:contest:{contest_id}".encode()).hexdigest()
        if seed is None
        else contest_seed(seed, contest_id),
        "uncontested": uncontested,
        "candidates": candidates,
        "roll": _roll(rng, contest_id, voters, f"{constituency[0]}.riverside.example"),
        "ballots": _ballots(rng, contest_id, rankings),
        "count": None,
        "elected": ids,
    }
    if not uncontested:
        contest["count"] = _count(contest)
        contest["elected"] = [int(c[1:]) for c in contest["count"]["elected_ids"]]
    return contest


def make_body(seed: str | None = None) -> dict[str, Any]:
    """The example record's body: the 2026 election, or with ``seed`` the 2027 one, whose
    record carries the seed and the commitment to it."""
    rng = random.Random(2026 if seed is None else 202711)  # noqa: S311 — reproducible examples
    public = [
        "Tola ADEYEMI",
        "Grace BROWN",
        "Hamid CHAUDHRY",
        "Ewa KOWALSKA",
        "Siobhan MURPHY",
        "Tom WRIGHT",
    ]
    contests = [
        _contest(rng, 31, ("public", "Public members"), "3/4", "stv", 3, public, 80, seed),
        _contest(
            rng,
            32,
            ("staff", "Staff"),
            "1/4",
            "fptp",
            1,
            ["Priya DESAI", "Ola NILSEN", "Ben OKAFOR"],
            40,
            seed,
        ),
        _contest(
            rng, 33, ("volunteers", "Volunteers"), "1/10", "stv", 1, ["Rosa LINDQVIST"], 12, seed
        ),
    ]
    election: dict[str, Any] = {
        "id": ELECTION_ID,
        "title": "Board of Governors election 2026",
        "seats": 5,
        "apportionment": "largest-remainder",
        "candidate_order": "alphabetical",
        "timetable": {
            "notice_of_election_on": "2026-09-28",
            "nominations_close_on": "2026-10-19",
            "withdrawals_close_on": "2026-10-26",
            "poll_opens_on": "2026-11-09",
            "poll_closes_on": "2026-11-26",
        },
    }
    issued_at, audit = "2026-11-27T10:15:00Z", b"example audit head"
    if seed is not None:
        election.update(
            id=COMMITTED_ELECTION_ID,
            title="Board of Governors election 2027",
            timetable={
                "notice_of_election_on": "2027-09-27",
                "nominations_close_on": "2027-10-18",
                "withdrawals_close_on": "2027-10-25",
                "poll_opens_on": "2027-11-08",
                "poll_closes_on": "2027-11-25",
            },
            seed_sha256=election_seed_sha256(seed),
            seed=seed,
        )
        issued_at, audit = "2027-11-26T10:05:00Z", b"example audit head 2027"
    return {
        "software": {"name": "assembly", "version": "0.1.0"},
        "issued_at": issued_at,
        "institution": dict(INSTITUTION),
        "election": election,
        "contests": contests,
        "audit": {
            "seq": 4217 if seed is None else 6630,
            "head_hash": hashlib.sha256(audit).hexdigest(),
        },
        "keys": {
            "election": key_entry(public_key_text(_key(EXAMPLE_ELECTION_KEY_SEED))),
            "returning_officer": key_entry(public_key_text(_key(EXAMPLE_OFFICER_KEY_SEED))),
        },
    }


def _countersigned(record: dict[str, Any], officer: Ed25519PrivateKey) -> dict[str, Any]:
    """The record with the returning officer's signature of its body added."""
    detached = signature_file("returning_officer", record["body_sha256"], officer)
    record["signatures"] = [s for s in record["signatures"] if s["role"] != "returning_officer"]
    record["signatures"].append({k: detached[k] for k in ("role", "fingerprint", "signature")})
    return record


def _rehashed(record: dict[str, Any]) -> dict[str, Any]:
    """What a forger does after editing the body: fix ``body_sha256``; they cannot fix the
    signatures without the keys."""
    record["body_sha256"] = body_sha256(record["body"])
    return record


def _tampered(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Copies of the record, each changed in one way (see README.md)."""
    forger = _key(EXAMPLE_FORGER_KEY_SEED)
    out: dict[str, dict[str, Any]] = {}

    changed = copy.deepcopy(record)
    ballot = changed["body"]["contests"][0]["ballots"]["items"][RECEIPT_BALLOT]
    ballot["ranking"] = [ballot["ranking"][1], ballot["ranking"][0], *ballot["ranking"][2:]]
    out["tampered-ballot-changed.json"] = _rehashed(changed)

    dropped = copy.deepcopy(record)
    contest = dropped["body"]["contests"][0]
    del contest["ballots"]["items"][RECEIPT_BALLOT]
    contest["ballots"] = _with_root(contest["id"], contest["ballots"]["items"])
    out["tampered-ballot-dropped.json"] = _rehashed(dropped)

    added = copy.deepcopy(record)
    items = added["body"]["contests"][0]["ballots"]["items"]
    items.append(
        {"tracker": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "ranking": [items[0]["ranking"][0]], "channel": "paper"}
    )
    out["tampered-ballot-added.json"] = _rehashed(added)

    total = copy.deepcopy(record)
    totals = total["body"]["contests"][0]["count"]["stages"][0]["totals"]
    first = next(iter(totals))
    totals[first] += 100_000
    out["tampered-stage-total.json"] = _rehashed(total)

    elected = copy.deepcopy(record)
    contest = elected["body"]["contests"][0]
    loser = next(c["id"] for c in contest["candidates"] if c["id"] not in contest["elected"])
    contest["elected"][-1] = loser
    out["tampered-elected.json"] = _rehashed(elected)

    roll = copy.deepcopy(record)
    staff = roll["body"]["contests"][1]
    staff["roll"]["voters"] = staff["ballots"]["count"] - 1
    out["tampered-roll.json"] = _rehashed(roll)

    signature = copy.deepcopy(record)
    officer = next(s for s in signature["signatures"] if s["role"] == "returning_officer")
    officer["signature"] = signature_file("returning_officer", record["body_sha256"], forger)[
        "signature"
    ]
    out["tampered-signature.json"] = signature

    key = copy.deepcopy(record)
    key["body"]["keys"]["election"] = key_entry(public_key_text(forger))
    resigned = sign_record(key["body"], forger)
    key["body_sha256"] = resigned["body_sha256"]
    key["signatures"] = resigned["signatures"] + [
        s for s in record["signatures"] if s["role"] == "returning_officer"
    ]
    out["tampered-key.json"] = key
    return out


# -- a board election that commits to its seed ----------------------------------------------------


def _lots_chosen(contest: dict[str, Any]) -> list[str]:
    return [d["chosen"] for d in contest["count"]["lots"]["draws"]]


def _committed_tampered(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Copies of the 2027 record, each changed in one way (see README.md)."""
    out: dict[str, dict[str, Any]] = {}

    seed = copy.deepcopy(record)
    seed["body"]["election"]["seed"] = hashlib.sha256(b"a seed chosen after the poll").hexdigest()
    out["committed-tampered-seed.json"] = _rehashed(seed)

    # Another seed for the public contest, one that draws the other candidate at the lot, and
    # the count made again with it: the recount agrees, but the seed is not the election's.
    other = copy.deepcopy(record)
    public = other["body"]["contests"][0]
    drawn = _lots_chosen(public)
    for n in range(100):
        public["seed"] = hashlib.sha256(f"a seed that draws otherwise {n}".encode()).hexdigest()
        public["count"] = _count(public)
        if _lots_chosen(public) != drawn:
            break
    assert _lots_chosen(public) != drawn, "no seed drew the other candidate"
    public["elected"] = [int(c[1:]) for c in public["count"]["elected_ids"]]
    out["committed-tampered-contest-seed.json"] = _rehashed(other)
    return out


def build_committed() -> dict[str, dict[str, Any]]:
    """The 2027 board election's record, which carries its seed and the commitment to it,
    and its tampered copies."""
    record = sign_record(make_body(COMMITTED_SEED), _key(EXAMPLE_ELECTION_KEY_SEED))
    complete = _countersigned(record, _key(EXAMPLE_OFFICER_KEY_SEED))
    assert _lots_chosen(complete["body"]["contests"][0]), "the example should draw a lot"
    return {"committed-record.json": complete, **_committed_tampered(complete)}


# -- assemblies ----------------------------------------------------------------------------------

#: The assemblies' seeds (published as their SHA-256 before any vote, revealed in the record).
ASSEMBLY_SEED = hashlib.sha256(b"example assembly seed 2027").hexdigest()
CONFIRMATION_SEED = hashlib.sha256(b"example assembly seed 2026").hexdigest()
#: The constituencies of the 2027 assembly's weighting, each a third.
ASSEMBLY_CONSTITUENCIES = [
    ("workers", "Workers"),
    ("service-users", "Service users"),
    ("community", "Community"),
]
#: Round 1's papers: each constituency's votes for OKONKWO, REID and SHAH. Weighted, REID
#: leads and SHAH is last (nobody has a majority); SHAH is excluded.
ROUND_1 = {"workers": (10, 6, 4), "service-users": (3, 9, 3), "community": (10, 8, 7)}
#: Round 2's papers, for OKONKWO and REID: OKONKWO has more papers (30 to 29), but REID more
#: than half of the weighted votes (61/120), and is elected.
ROUND_2 = {"workers": (12, 8), "service-users": (5, 10), "community": (13, 11)}
#: The 2026 confirmation's papers: yes, no, abstain.
CONFIRMATION = (27, 9, 4)
#: Which of the confirmation's ballots the assembly receipt is for (index in tracker order).
CONFIRMATION_RECEIPT_BALLOT = 5


def _vote(
    rng: random.Random,
    contest_id: int,
    seed: str,
    method: str,
    candidates: list[tuple[int, str]],
    marks: list[dict[str, Any]],
    voters: int,
    weighting: dict[str, Any] | None,
) -> dict[str, Any]:
    """One vote of an assembly: ``marks`` are its ballots without trackers and channels."""
    trackers: set[str] = set()
    while len(trackers) < len(marks):
        trackers.add(_tracker(rng))
    rng.shuffle(marks)
    items = [
        {"tracker": tracker, **mark, "channel": rng.choice(["paper"] * 5 + ["online"])}
        for tracker, mark in zip(sorted(trackers), marks, strict=True)
    ]
    contest: dict[str, Any] = {
        "id": contest_id,
        "constituency": dict(PRESENT),
        "weight": "1/1",
        "seats": 1,
        "method": method,
        "seed": vote_seed(seed, contest_id),
        "uncontested": False,
        "candidates": [{"id": i, "ballot_name": name} for i, name in candidates],
        "roll": _roll(rng, contest_id, voters, "present.riverside.example"),
        "ballots": _with_root(contest_id, items),
        "count": None,
        "elected": [],
    }
    if weighting is not None:
        contest["weighting"] = weighting
    contest["count"], contest["elected"], _ = count_assembly_vote(
        method, candidates, items, weighting, contest["seed"]
    )
    return contest


def _assembly_body(
    assembly: dict[str, Any], contests: list[dict[str, Any]], issued_at: str, seq: int
) -> dict[str, Any]:
    return {
        "kind": "assembly",
        "software": {"name": "assembly", "version": "0.1.0"},
        "issued_at": issued_at,
        "institution": dict(INSTITUTION),
        "assembly": assembly,
        "contests": contests,
        "audit": {
            "seq": seq,
            "head_hash": hashlib.sha256(f"audit head {seq}".encode()).hexdigest(),
        },
        "keys": {
            "election": key_entry(public_key_text(_key(EXAMPLE_ELECTION_KEY_SEED))),
            "returning_officer": key_entry(public_key_text(_key(EXAMPLE_OFFICER_KEY_SEED))),
        },
    }


def make_assembly_body() -> dict[str, Any]:
    """The 2027 assembly: the chair elected in two weighted rounds of an exhaustive ballot."""
    rng = random.Random(2027)  # noqa: S311 — reproducible examples, not secrets
    candidates = [(501, "Amara OKONKWO"), (502, "Daniel REID"), (503, "Meera SHAH")]
    weighting = {
        "constituencies": [
            {"key": key, "name": name, "weight": "1/3"} for key, name in ASSEMBLY_CONSTITUENCIES
        ]
    }
    first = [
        {"ranking": [candidate], "constituency": key}
        for key, papers in ROUND_1.items()
        for (candidate, _), n in zip(candidates, papers, strict=True)
        for _ in range(n)
    ]
    second = [
        {"ranking": [candidate], "constituency": key}
        for key, papers in ROUND_2.items()
        for (candidate, _), n in zip(candidates[:2], papers, strict=True)
        for _ in range(n)
    ]
    contests = [
        _vote(rng, 51, ASSEMBLY_SEED, "round", candidates, first, 62, weighting),
        _vote(rng, 52, ASSEMBLY_SEED, "round", candidates[:2], second, 62, weighting),
    ]
    assert contests[0]["count"]["excluded_ids"] == ["c503"] and contests[1]["elected"] == [502]
    assembly = {
        "id": 3,
        "title": "Annual public assembly 2027",
        "held_on": "2027-03-13",
        "venue": "Education Centre, Riverside Community Hospital",
        "leader_title": "Chair",
        "method": "rounds",
        "weighting": True,
        "late_arrivals_vote": False,
        "seed_sha256": assembly_seed_sha256(ASSEMBLY_SEED),
        "seed": ASSEMBLY_SEED,
        "quorum": {"required": 30, "per_constituency": 5, "members": 412},
        "attendance": [
            {"key": "workers", "name": "Workers", "present": 21},
            {"key": "service-users", "name": "Service users", "present": 16},
            {"key": "community", "name": "Community", "present": 25},
        ],
        "result": {
            "outcome": "elected",
            "leader": {"candidate": 502, "name": "Daniel REID"},
            "term": {"starts_on": "2027-04-01", "ends_on": "2030-03-31"},
        },
    }
    return _assembly_body(assembly, contests, "2027-03-13T16:40:00Z", 5120)


def make_confirmation_body() -> dict[str, Any]:
    """The 2026 assembly: the sitting chair confirmed by yes / no / abstain, unweighted."""
    rng = random.Random(2028)  # noqa: S311 — reproducible examples, not secrets
    marks = [
        {"choice": choice}
        for choice, n in zip(("yes", "no", "abstain"), CONFIRMATION, strict=True)
        for _ in range(n)
    ]
    vote = _vote(
        rng, 41, CONFIRMATION_SEED, "confirmation", [(401, "Grace BROWN")], marks, 45, None
    )
    assert vote["count"]["carried"]
    assembly = {
        "id": 2,
        "title": "Annual public assembly 2026",
        "held_on": "2026-03-14",
        "venue": "Education Centre, Riverside Community Hospital",
        "leader_title": "Chair",
        "method": "irv",
        "weighting": False,
        "late_arrivals_vote": True,
        "seed_sha256": assembly_seed_sha256(CONFIRMATION_SEED),
        "seed": CONFIRMATION_SEED,
        "quorum": {"required": 30, "per_constituency": 0, "members": 398},
        "attendance": [{"key": "members", "name": "Members", "present": 45}],
        "result": {
            "outcome": "elected",
            "leader": {"candidate": 401, "name": "Grace BROWN"},
            "term": {"starts_on": "2026-04-01", "ends_on": "2029-03-31"},
        },
    }
    return _assembly_body(assembly, [vote], "2026-03-14T15:05:00Z", 3088)


def _assembly_tampered(
    rounds: dict[str, Any], confirmation: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Copies of the assembly records, each changed in one way (see README.md)."""
    out: dict[str, dict[str, Any]] = {}

    choice = copy.deepcopy(confirmation)
    ballot = choice["body"]["contests"][0]["ballots"]["items"][CONFIRMATION_RECEIPT_BALLOT]
    assert ballot["choice"] == "yes"
    ballot["choice"] = "no"
    out["assembly-tampered-choice.json"] = _rehashed(choice)

    constituency = copy.deepcopy(rounds)
    ballot = constituency["body"]["contests"][1]["ballots"]["items"][0]
    ballot["constituency"] = next(
        key for key, _ in ASSEMBLY_CONSTITUENCIES if key != ballot["constituency"]
    )
    out["assembly-tampered-constituency.json"] = _rehashed(constituency)

    seed = copy.deepcopy(rounds)
    seed["body"]["assembly"]["seed"] = hashlib.sha256(b"a seed chosen after the vote").hexdigest()
    out["assembly-tampered-seed.json"] = _rehashed(seed)
    return out


def build_assemblies() -> dict[str, dict[str, Any]]:
    """The assembly examples' names and contents."""
    election = _key(EXAMPLE_ELECTION_KEY_SEED)
    officer = _key(EXAMPLE_OFFICER_KEY_SEED)
    rounds = _countersigned(sign_record(make_assembly_body(), election), officer)
    body = make_confirmation_body()
    confirmation = _countersigned(sign_record(body, election), officer)
    vote = body["contests"][0]
    ballot = vote["ballots"]["items"][CONFIRMATION_RECEIPT_BALLOT]
    receipt = make_receipt(
        {
            "institution": INSTITUTION["slug"],
            "election": body["assembly"]["id"],
            "contest": vote["id"],
            "tracker": ballot["tracker"],
            "ballot_hash": ballot_hash(vote["id"], ballot["tracker"], choice=ballot["choice"]),
            "cast_on": body["assembly"]["held_on"],
        },
        election,
    )
    return {
        "assembly-record.json": rounds,
        "assembly-confirmation.json": confirmation,
        "assembly-receipt.json": receipt,
        **_assembly_tampered(rounds, confirmation),
    }


def build() -> dict[str, dict[str, Any]]:
    """Every example file's name and contents."""
    election = _key(EXAMPLE_ELECTION_KEY_SEED)
    officer = _key(EXAMPLE_OFFICER_KEY_SEED)
    body = make_body()
    record = sign_record(body, election)
    detached = signature_file("returning_officer", record["body_sha256"], officer)
    complete = _countersigned(copy.deepcopy(record), officer)
    public = body["contests"][0]
    ballot = public["ballots"]["items"][RECEIPT_BALLOT]
    receipt = make_receipt(
        {
            "institution": INSTITUTION["slug"],
            "election": ELECTION_ID,
            "contest": public["id"],
            "tracker": ballot["tracker"],
            "ballot_hash": ballot_hash(public["id"], ballot["tracker"], ballot["ranking"]),
            "cast_on": CAST_ON,
        },
        election,
    )
    lots = [
        t for s in public["count"]["stages"] for t in s["tie_breaks"] if t["decided_by"] == "lot"
    ]
    assert lots, "the example should show a tie decided by lot"
    return {
        "record.json": complete,
        "record.sig": detached,
        "receipt.json": receipt,
        "roll-proof.json": _roll_proof(public["id"], ROLL_PROOF_INDEX),
        **_tampered(complete),
        **build_committed(),
        **build_assemblies(),
    }


def text(document: dict[str, Any]) -> str:
    """A file's text: pretty-printed (one space per level) so that diffs stay readable."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for name, document in build().items():
        (HERE / name).write_text(text(document), encoding="utf-8")
        print(f"wrote docs/examples/{name}")


if __name__ == "__main__":
    main()
