"""Make the end-to-end example record and its tampered copies (docs/e2e.md).

Run ``.venv/bin/python docs/examples/e2e/make_e2e_examples.py``: it writes the files beside
itself. Unlike the other examples these are not deterministic (the proofs' randomness comes
from the operating system, as it must), so they are made once and kept; the tests check that
the record passes every step and that each tampered copy fails step 10 alone, in the part it
names, even though every copy is signed again with the example keys: what a dishonest server,
which holds the election key, could sign.

The record is the 2027 board election of ``make_examples.py`` (its ``committed-record.json``)
with the public members' contest polled end-to-end verifiably: twelve of its online ballots
were cast encrypted (three trustees, any two of whom decrypt; a credential per roll entry),
shuffled by each trustee and opened by trustees 2 and 3; the other online ballots (voters
without JavaScript) and the paper ballots are as before, each item saying its channel. One
voter audited a ballot before casting.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))
sys.path.insert(0, str(HERE.parent))

import make_examples as base  # noqa: E402

from assembly.crypto import poll  # noqa: E402
from assembly.crypto.elgamal import Ciphertext  # noqa: E402
from assembly.crypto.group import G, random_scalar  # noqa: E402
from assembly.records.record import count_assembly_vote, sign_record  # noqa: E402

LABEL = "riverside-hospital/election/2027/contest/31"
#: The election's one key ceremony, whose key every contest's ballots are encrypted under.
CEREMONY = "riverside-hospital/election/2027"
#: How many of the online ballots were cast encrypted (the rest by voters without
#: JavaScript, in today's mode, and on paper): enough to show every part, small enough to read.
ENCRYPTED = 12


def build_record() -> dict[str, Any]:
    body = base.make_body(base.COMMITTED_SEED)
    contest = body["contests"][0]
    ids = [c["id"] for c in contest["candidates"]]
    position = {candidate: i for i, candidate in enumerate(ids)}
    items = contest["ballots"]["items"]
    online = [i for i in items if i["channel"] == "online"][:ENCRYPTED]
    plain = [i for i in items if i not in online]
    rankings = [tuple(position[c] for c in i["ranking"]) for i in online]
    section, _ = poll.simulate(
        LABEL,
        len(ids),
        rankings,
        trustees=3,
        threshold=2,
        audits=1,
        roll=contest["roll"]["voters"],
        openers=(2, 3),
        ceremony=CEREMONY,
    )
    encrypted = [
        {"tracker": tracker, "ranking": [ids[i] for i in ranking], "channel": "encrypted"}
        for tracker, ranking in poll.counted(section)
    ]
    contest["ballots"] = base._with_root(
        contest["id"], sorted(plain + encrypted, key=lambda i: i["tracker"])
    )
    contest["count"] = base._count(contest)
    contest["elected"] = [int(c[1:]) for c in contest["count"]["elected_ids"]]
    contest["e2e"] = section.to_json(ids)
    return _signed(body)


def _signed(body: dict[str, Any]) -> dict[str, Any]:
    record = sign_record(body, base._key(base.EXAMPLE_ELECTION_KEY_SEED))
    return base._countersigned(record, base._key(base.EXAMPLE_OFFICER_KEY_SEED))


def _plus_one(value: list[str]) -> list[str]:
    c = Ciphertext.from_json(value)
    return Ciphertext(c.a, c.b + G).to_json()


def _recounted(contest: dict[str, Any]) -> None:
    """What a forger does after changing the ballots counted: a new root, count and result."""
    contest["ballots"] = base._with_root(contest["id"], contest["ballots"]["items"])
    contest["count"] = base._count(contest)
    contest["elected"] = [int(c[1:]) for c in contest["count"]["elected_ids"]]


def _counted_changed(contest: dict[str, Any]) -> None:
    """An encrypted ballot counted for someone else than its opened row says."""
    item = next(i for i in contest["ballots"]["items"] if i["channel"] == "encrypted")
    first = contest["candidates"][0]["id"]
    if item["ranking"][:1] == [first]:
        item["ranking"] = [contest["candidates"][1]["id"]]
    else:
        item["ranking"] = [first, *(c for c in item["ranking"] if c != first)]
    _recounted(contest)


def _e2e(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda contest: change(contest["e2e"])


#: Each tampered copy: what was changed in contest 31, and how.
TAMPERINGS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "tampered-key.json": (
        "a trustee's commitment replaced (a key the server could decrypt with)",
        _e2e(lambda e: e["trustees"][0]["commitments"].__setitem__(0, (G * random_scalar()).hex())),
    ),
    "tampered-ballot.json": (
        "a ciphertext of a cast ballot changed (a vote altered after casting)",
        _e2e(
            lambda e: e["cast"][0]["ballot"]["row"].__setitem__(
                0, _plus_one(e["cast"][0]["ballot"]["row"][0])
            )
        ),
    ),
    "tampered-credential.json": (
        "a listed credential replaced by one whose ballot was never cast by a voter",
        _e2e(
            lambda e: e["credentials"].__setitem__(
                e["credentials"].index(e["cast"][0]["credential"]), (G * random_scalar()).hex()
            )
        ),
    ),
    "tampered-shuffle.json": (
        "a row of the second shuffle changed (a vote swapped during mixing)",
        _e2e(
            lambda e: e["shuffles"][1]["rows"][0].__setitem__(
                0, _plus_one(e["shuffles"][1]["rows"][0][0])
            )
        ),
    ),
    "tampered-share.json": (
        "a trustee's decryption share changed",
        _e2e(lambda e: e["decryption"][0]["shares"][0].__setitem__(0, (G * random_scalar()).hex())),
    ),
    "tampered-opened.json": (
        "an opened row's number changed (a ranking read differently)",
        _e2e(lambda e: e["opened"][0].__setitem__(0, e["opened"][0][0] ^ 1)),
    ),
    "tampered-counted.json": (
        "an encrypted ballot counted with another ranking than its opened row's, and the "
        "contest recounted so that the count agrees with the changed ballots",
        _counted_changed,
    ),
}


# -- an assembly's vote: cards, and ballots counted by constituency ------------------------------

ASSEMBLY_CEREMONY = "riverside-hospital/assembly/3"
ASSEMBLY_LABEL = f"{ASSEMBLY_CEREMONY}/poll/51"
#: Cards printed for each constituency (more than came: the roll bounds the ballots).
CARDS_EACH = 25


def build_assembly_record() -> dict[str, Any]:
    """The 2027 assembly of ``make_examples.py`` (``assembly-record.json``) with round 1's
    phone ballots cast encrypted, each signed with a card of its voter's constituency; the
    paper ballots as before. The rows keep their constituency through the shuffles, so the
    round is counted weighted as before: SHAH is excluded."""
    body = base.make_assembly_body()
    contest = body["contests"][0]
    ids = [c["id"] for c in contest["candidates"]]
    keys = sorted(c["key"] for c in contest["weighting"]["constituencies"])
    items = contest["ballots"]["items"]
    online = [i for i in items if i["channel"] == "online"]
    plain = [i for i in items if i not in online]
    rankings = [tuple(ids.index(c) for c in i["ranking"]) for i in online]
    voter_groups = [keys.index(i["constituency"]) + 1 for i in online]
    cards = CARDS_EACH * len(keys)
    voter_groups += [1 + n % len(keys) for n in range(cards - len(online))]
    section, _ = poll.simulate(
        ASSEMBLY_LABEL,
        len(ids),
        rankings,
        trustees=3,
        threshold=2,
        audits=1,
        roll=cards,
        openers=(1, 3),
        ceremony=ASSEMBLY_CEREMONY,
        groups=keys,
        cards=True,
        voter_groups=voter_groups,
    )
    encrypted = [
        {
            "tracker": tracker,
            "ranking": [ids[i] for i in ranking],
            "constituency": key,
            "channel": "encrypted",
        }
        for tracker, key, ranking in poll.counted_by_group(section)
    ]
    contest["ballots"] = base._with_root(
        contest["id"], sorted(plain + encrypted, key=lambda i: i["tracker"])
    )
    _assembly_recounted(contest)
    assert contest["count"]["excluded_ids"] == ["c503"]
    contest["e2e"] = section.to_json(ids)
    return _signed(body)


def _assembly_recounted(contest: dict[str, Any]) -> None:
    contest["ballots"] = base._with_root(contest["id"], contest["ballots"]["items"])
    contest["count"], contest["elected"], _ = count_assembly_vote(
        contest["method"],
        [(c["id"], c["ballot_name"]) for c in contest["candidates"]],
        contest["ballots"]["items"],
        contest.get("weighting"),
        contest["seed"],
    )


def _moved_constituency(contest: dict[str, Any]) -> None:
    """An encrypted ballot counted for another constituency than its opened row's."""
    item = next(i for i in contest["ballots"]["items"] if i["channel"] == "encrypted")
    keys = sorted(c["key"] for c in contest["weighting"]["constituencies"])
    item["constituency"] = next(k for k in keys if k != item["constituency"])
    _assembly_recounted(contest)


def _moved_card(e: dict[str, Any]) -> None:
    """A cast card listed in another constituency's group."""
    cast = {c["credential"] for c in e["cast"]}
    first, second = e["groups"][0]["credentials"], e["groups"][1]["credentials"]
    card = next(c for c in first if c in cast)
    first.remove(card)
    second.append(card)
    second.sort()


def _not_cards(e: dict[str, Any]) -> None:
    """The cards said to be one credential per roll entry: there are more than the roll."""
    del e["cards"]


#: Each tampered copy of the assembly's record: what was changed in vote 51, and how.
ASSEMBLY_TAMPERINGS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "tampered-assembly-constituency.json": (
        "an encrypted ballot counted in another constituency than its opened row's, and the "
        "round recounted so that the count agrees",
        _moved_constituency,
    ),
    "tampered-assembly-card.json": (
        "a card that was cast listed in another constituency's group (its ballot's tag is "
        "then not the one the first shuffle took)",
        _e2e(_moved_card),
    ),
    "tampered-assembly-cards.json": (
        "the cards passed off as one credential per roll entry, of which there are more than "
        "the members present",
        _e2e(_not_cards),
    ),
}


def build() -> dict[str, dict[str, Any]]:
    record = build_record()
    files = {"e2e-record.json": record}
    for name, (_, change) in TAMPERINGS.items():
        body = copy.deepcopy(record["body"])
        change(body["contests"][0])
        files[name] = _signed(body)
    assembly = build_assembly_record()
    files["e2e-assembly-record.json"] = assembly
    for name, (_, change) in ASSEMBLY_TAMPERINGS.items():
        body = copy.deepcopy(assembly["body"])
        change(body["contests"][0])
        files[name] = _signed(body)
    return files


def main() -> None:
    only = set(sys.argv[1:])  # "assembly": make the assembly's files only, keep the others
    for name, document in build().items():
        if only and ("assembly" in name) != ("assembly" in only):
            continue
        (HERE / name).write_text(
            json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        print(f"wrote docs/examples/e2e/{name}")


if __name__ == "__main__":
    main()
