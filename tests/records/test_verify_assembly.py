"""Assembly records: the examples pass and each tampered copy fails the step that catches it;
the rules of a body's kind, of rounds, weighting, seeds and the declared result; ballot hashes
of confirmation and weighted ballots; the board-election examples unchanged; and random small
assemblies, which verify, and fail once a ballot is changed."""

from __future__ import annotations

import copy
import hashlib
import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assembly.counting import BallotError
from assembly.records.canonical import canonical_bytes
from assembly.records.merkle import inclusion_proof
from assembly.records.record import (
    CHOICES,
    assembly_seed_sha256,
    ballot_hash,
    ballot_leaf,
    count_assembly_vote,
    roll_leaf,
    roll_proof,
    vote_seed,
)
from assembly.records.schema import validate_record
from assembly.records.verify import ballot_leaf_fast, verify_record
from tests.records.test_verify import (
    EXAMPLES,
    SCHEMA,
    _conforms,
    _pick,
    details,
    failed,
    load,
    make_examples,
    resign,
)

ROUNDS = load("assembly-record.json")
CONFIRMATION = load("assembly-confirmation.json")
RECEIPT = load("assembly-receipt.json")
#: The SHA-256 of each board-election example file before assemblies were added: they must
#: stay byte for byte as they were.
BOARD_EXAMPLES = {
    "receipt.json": "c01a36272ec8ab87ec77b25c1904a35409c748768ace95b43b86fe8f27ad1688",
    "record.json": "da392ffa5998bf8935f52a5718644f8117aa65d819fda72b3362673af7c35d3d",
    "roll-proof.json": "5d7de89b51ea9935c3968e66c1f47714b41a6bdd42a0a896478c9e6ad94dcb05",
    "tampered-ballot-added.json": (
        "25c3747db1266d9d00363a9ccd2171d96a39b7964005193ab5fc223de8c0636b"
    ),
    "tampered-ballot-changed.json": (
        "64b128d3f1cc769c7247cc60ef07b864f3e8770c27cd03449268d3bbf4999bd8"
    ),
    "tampered-ballot-dropped.json": (
        "de4a5541d1f1fce365ed6a7e56e3a1a49f45acda36797b6b477a817c523eb049"
    ),
    "tampered-elected.json": "893013d31ea54ef5fcfc0b6973c303b4a463b802fcd6b5c323c44aafa4d0d3b5",
    "tampered-key.json": "93d7f6fbd75cfb2d357947e3c5835e09a9c4d6599aea488528462ee3fc7d879f",
    "tampered-roll.json": "f6b0c079ace00f571360833923fefcd0a5c2c6480887e21967df45e23fa5518a",
    "tampered-signature.json": "b5ee1c0b10320e325d7ca10603e55e691f802a5a3c89b1b505ec9d11ae1c2e4c",
    "tampered-stage-total.json": "7aebcbe3862fc671578f11bd9d57cbc7ea1c27a607ce8a5377be260b7ffde2cd",
    "record.sig": "aea8f7434281df508c4be6acce9d5d34859a0012d765081cb65af876aca730a0",
}


def body(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a record's body, to change and re-sign."""
    return copy.deepcopy(record["body"])


def signed(changed: dict[str, Any]) -> dict[str, Any]:
    """A body signed by both example keys: only the check under test can fail."""
    return resign({"body": changed})


def recounted(vote: dict[str, Any]) -> dict[str, Any]:
    """A vote whose count and elected are made again from its ballots (after a change)."""
    vote["ballots"] = make_examples._with_root(vote["id"], vote["ballots"]["items"])
    vote["count"], vote["elected"], _ = count_assembly_vote(
        vote["method"],
        [(c["id"], c["ballot_name"]) for c in vote["candidates"]],
        vote["ballots"]["items"],
        vote.get("weighting"),
        vote["seed"],
    )
    return vote


# -- the examples --------------------------------------------------------------------------------


def test_the_board_election_examples_are_unchanged() -> None:
    """Every board-election example file is byte for byte what it was before assemblies."""
    for name, digest in BOARD_EXAMPLES.items():
        assert hashlib.sha256((EXAMPLES / name).read_bytes()).hexdigest() == digest, name
    assert verify_record(BOARD).ok


def test_the_weighted_rounds_example_passes_every_step() -> None:
    """The 2027 assembly: round 1 excludes SHAH, round 2 elects REID with 61/120 of the
    weighted votes though OKONKWO has more papers; every check passes."""
    report = verify_record(ROUNDS)
    assert report.ok, report.to_dict()
    assert 'assembly 3 "Annual public assembly 2027", held on 2027-03-13' in details(report, 1)
    text = details(report, 7)
    assert "contest 51 (Members present): recounted 60 ballot(s) by one round of an " in text
    assert "no majority; excluded Meera SHAH" in text
    assert "the same count; elected Daniel REID" in text
    assert "hashes to assembly.seed_sha256" in text
    assert "assembly.result: Daniel REID elected Chair by the last vote, contest 52" in text
    second = ROUNDS["body"]["contests"][1]["count"]
    assert second["stages"][0]["totals"] == {"c501": "59/120", "c502": "61/120"}
    assert second["per_ballot"] == {
        "community": "1/72",
        "service-users": "1/45",
        "workers": "1/60",
    }


def test_the_confirmation_example_passes_with_its_receipt_and_tracker() -> None:
    """The 2026 assembly confirms its chair; the receipt of a yes ballot is in the record and
    the tracker shows the choice."""
    tracker = RECEIPT["receipt"]["tracker"]
    report = verify_record(CONFIRMATION, receipt=RECEIPT, tracker=tracker.lower())
    assert report.ok, report.to_dict()
    assert "yes 27, no 9, abstain 4: carried" in details(report, 7)
    assert "Grace BROWN confirmed as Chair" in details(report, 7)
    text = details(report, 8)
    assert "is in contest 41 with the same hash" in text
    assert f"tracker {tracker} is in contest 41 (Members present); its choice: yes" in text
    assert "(on confirming Grace BROWN as Chair)" in text


def test_a_weighted_ballots_tracker_shows_its_constituency() -> None:
    """Looking up a ballot of a weighted round shows its choice and constituency."""
    item = ROUNDS["body"]["contests"][1]["ballots"]["items"][0]
    report = verify_record(ROUNDS, tracker=item["tracker"])
    assert report.ok
    assert f"its choice: Daniel REID; its constituency: {item['constituency']}" in details(
        report, 8
    )


TAMPERED = {
    "assembly-tampered-choice.json": (
        {3, 4, 5, 7},
        {
            5: "contest 41 (Members present): the ballots' Merkle root is",
            7: "contest 41 (Members present): count.yes is recorded as 27, but the recount "
            "gives 26",
        },
    ),
    "assembly-tampered-constituency.json": (
        {3, 4, 5, 7},
        {
            5: "contest 52 (Members present): the ballots' Merkle root is",
            7: "contest 52 (Members present): stage 1 (votes), totals.c501: recorded "
            '"59/120", recounted',
        },
    ),
    "assembly-tampered-seed.json": (
        {3, 4, 7},
        {
            7: "but the revealed assembly.seed hashes to",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_each_tampered_assembly_example_fails_its_step(name: str) -> None:
    """Each tampered assembly copy fails exactly the steps README.md lists, saying what."""
    expected, messages = TAMPERED[name]
    report = verify_record(load(name))
    assert failed(report) == expected
    for number, message in messages.items():
        assert message in details(report, number), details(report, number)
    for number in expected & {3, 4}:
        assert "did not sign this body" in details(report, number)


def test_the_tampered_seed_also_breaks_every_votes_seed() -> None:
    """A seed revealed after the fact gives other vote seeds: each vote says so."""
    text = details(verify_record(load("assembly-tampered-seed.json")), 7)
    for contest in (51, 52):
        assert f'(SHA-256 of "<assembly seed>:vote:{contest}")' in text


def test_a_receipt_whose_choice_was_flipped_fails() -> None:
    """The receipt's yes ballot made no: its hash is not the receipt's."""
    report = verify_record(load("assembly-tampered-choice.json"), receipt=RECEIPT)
    assert 8 in failed(report)
    assert "the record holds a different ballot from the one cast" in details(report, 8)


def test_a_receipt_from_another_assembly_fails() -> None:
    """A 2026 receipt is not for the 2027 assembly's record, and says which is which."""
    report = verify_record(ROUNDS, receipt=RECEIPT)
    assert failed(report) == {8}
    assert (
        "the receipt is for riverside-hospital assembly 2, this record for riverside-hospital "
        "assembly 3" in details(report, 8)
    )


def _roll_proof(election: int) -> dict[str, Any]:
    entries = make_examples.ROLLS[51]
    number, email, salt = entries[4]
    return roll_proof(
        institution="riverside-hospital",
        election=election,
        contest=51,
        number=number,
        email=email,
        salt=salt,
        index=4,
        size=len(entries),
        path=inclusion_proof([roll_leaf(51, *entry) for entry in entries], 4),
    )


def test_a_roll_proof_names_the_assembly() -> None:
    """A member's roll proof for a vote of the assembly holds under its roll root; one naming
    another assembly fails."""
    make_examples.make_assembly_body()  # fills make_examples.ROLLS
    assert verify_record(ROUNDS, roll_proof=_roll_proof(3)).ok
    report = verify_record(ROUNDS, roll_proof=_roll_proof(12))
    assert failed(report) == {9}
    assert "assembly 12, this record for riverside-hospital assembly 3" in details(report, 9)


# -- step 1: the rules of each kind ----------------------------------------------------------------

BOARD = load("record.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("election"), "body: lacks 'election' (a board election's record has one)"),
        (lambda b: b.update(contests=[]), "body.contests: must have at least 1 item(s), not 0"),
        (
            lambda b: b.update(assembly=ROUNDS["body"]["assembly"]),
            "body: has 'assembly', which only a record of kind \"assembly\" has",
        ),
        (
            lambda b: b["contests"][1].update(method="irv"),
            'body.contests[1].method: must be one of "stv", "fptp" in a board election, not "irv"',
        ),
        (
            lambda b: b["contests"][1].update(weighting={"constituencies": []}),
            "body.contests[1].weighting.constituencies: must have at least 1 item(s)",
        ),
        (
            lambda b: b["contests"][1].update(
                weighting={"constituencies": [{"key": "a", "name": "A", "weight": "1/1"}]}
            ),
            "body.contests[1].weighting: a board election's contest has none",
        ),
        (
            lambda b: b["contests"][1]["ballots"]["items"][3].update(choice="yes"),
            "body.contests[1].ballots.items[3]: has 'choice'",
        ),
        (
            lambda b: b["contests"][1]["ballots"]["items"][2].update(constituency="staff"),
            "body.contests[1].ballots.items[2]: has 'constituency', which only a ballot of a "
            "weighted assembly vote has",
        ),
        (
            lambda b: b["contests"][0]["ballots"]["items"][5].pop("ranking"),
            "body.contests[0].ballots.items[5]: lacks 'ranking'",
        ),
    ],
)
def test_a_board_election_keeps_its_election_contests_and_ballots(
    change: Any, message: str
) -> None:
    """A board election's record has an election, contests by STV or first past the post,
    and ballots of a tracker, ranking and channel only: otherwise step 1 fails and says
    where (the schema, without conditionals, allows the assembly's fields)."""
    changed = body(BOARD)
    change(changed)
    report = verify_record(signed(changed))
    assert failed(report) == set(range(1, 8))
    assert message in details(report, 1), details(report, 1)


def test_a_board_election_may_say_its_kind() -> None:
    """kind "board-election" is the default written out: the record passes."""
    changed = body(BOARD)
    changed["kind"] = "board-election"
    assert verify_record(signed(changed)).ok


def _weighted_off(b: dict[str, Any]) -> None:
    vote = b["contests"][0]
    del vote["weighting"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(election=BOARD["body"]["election"]), "body: has 'election', but"),
        (lambda b: b.pop("assembly"), "body: lacks 'assembly'"),
        (
            lambda b: b["contests"][0].update(method="stv"),
            'body.contests[0].method: must be one of "irv", "round", "confirmation" in an '
            'assembly, not "stv"',
        ),
        (
            lambda b: b["contests"][0].update(method="irv"),
            "body.contests[0].method: the assembly votes by rounds (assembly.method), so each "
            "vote is round or confirmation, not irv",
        ),
        (
            lambda b: b["contests"][1].update(constituency={"key": "public", "name": "Public"}),
            'body.contests[1].constituency: must be {"key": "present", "name": "Members '
            "present\"} in an assembly's vote",
        ),
        (lambda b: b["contests"][1].update(seats=2), "body.contests[1].seats: must be 1"),
        (lambda b: b["contests"][1].update(weight="1/2"), 'body.contests[1].weight: must be "1/1"'),
        (
            lambda b: b["contests"][1].update(uncontested=True),
            "body.contests[1].uncontested: must be false",
        ),
        (
            _weighted_off,
            "body.contests[0].weighting: assembly.weighting is true, but this vote is not "
            "weighted by constituency",
        ),
        (_weighted_off, "body.contests[0].ballots.items[0]: has 'constituency', which only"),
        (
            lambda b: b["contests"][1]["ballots"]["items"][0].pop("constituency"),
            "body.contests[1].ballots.items[0]: lacks 'constituency' (the vote is weighted)",
        ),
        (
            lambda b: b["contests"][1]["ballots"]["items"][0].update(choice="no"),
            "body.contests[1].ballots.items[0]: has 'choice'; only a confirmation vote's",
        ),
    ],
)
def test_an_assembly_has_its_own_fields_and_votes(change: Any, message: str) -> None:
    """An assembly's record has an assembly and no election, votes of the members present,
    one seat each, by its methods, weighted as assembly.weighting says, with ballots of the
    right shape: otherwise step 1 fails and says where."""
    changed = body(ROUNDS)
    change(changed)
    report = verify_record(signed(changed))
    assert failed(report) == set(range(1, 8))
    assert message in details(report, 1), details(report, 1)


def test_a_confirmation_ballot_has_a_choice_not_a_ranking() -> None:
    """A confirmation's ballot with a ranking instead of a choice fails step 1."""
    changed = body(CONFIRMATION)
    item = changed["contests"][0]["ballots"]["items"][0]
    del item["choice"]
    item["ranking"] = [401]
    text = details(verify_record(signed(changed)), 1)
    assert "body.contests[0].ballots.items[0]: lacks 'choice'" in text
    assert "has 'ranking'; a confirmation vote's ballot has a choice instead" in text


def test_the_schema_agrees_with_a_plain_reading_on_the_assembly_example() -> None:
    """The schema accepts the assembly examples, as a plain reading of it does."""
    for record in (ROUNDS, CONFIRMATION):
        assert validate_record(record) == []
        assert _conforms(SCHEMA, record)


# -- step 5 ----------------------------------------------------------------------------------------


def test_a_round_ballot_chooses_exactly_one_candidate() -> None:
    """A round's ballot naming two candidates fails step 5, and the vote is not recounted."""
    changed = body(ROUNDS)
    vote = changed["contests"][0]
    vote["ballots"]["items"][2]["ranking"] = [501, 502]
    vote["ballots"] = make_examples._with_root(51, vote["ballots"]["items"])
    report = verify_record(signed(changed))
    assert failed(report) == {5, 7}
    tracker = vote["ballots"]["items"][2]["tracker"]
    assert f"ballot {tracker} (items[2]) chooses 2 candidates; a round's ballot chooses one" in (
        details(report, 5)
    )
    assert "contest 51 (Members present): not recounted" in details(report, 7)


def test_a_ballot_from_a_constituency_the_weighting_lacks_fails() -> None:
    """A weighted ballot's constituency must be one of the vote's weighting."""
    changed = body(ROUNDS)
    vote = changed["contests"][1]
    vote["ballots"]["items"][4]["constituency"] = "staff"
    vote["ballots"] = make_examples._with_root(52, vote["ballots"]["items"])
    report = verify_record(signed(changed))
    assert failed(report) == {5, 7}
    assert 'is from constituency "staff", which the vote\'s weighting does not list' in details(
        report, 5
    )


def test_a_weighting_lists_each_constituency_once() -> None:
    """A constituency listed twice in a weighting fails step 5."""
    changed = body(ROUNDS)
    constituencies = changed["contests"][1]["weighting"]["constituencies"]
    constituencies.append(dict(constituencies[0]))
    report = verify_record(signed(changed))
    assert 5 in failed(report)
    assert 'its weighting lists constituency "workers" more than once' in details(report, 5)


def test_a_confirmation_has_exactly_one_candidate() -> None:
    """A confirmation of two candidates fails step 5 and is not recounted."""
    changed = body(CONFIRMATION)
    changed["contests"][0]["candidates"].append({"id": 402, "ballot_name": "Tom WRIGHT"})
    report = verify_record(signed(changed))
    assert failed(report) == {5, 7}
    assert "a confirmation vote has exactly one candidate, not 2" in details(report, 5)


# -- step 7 ----------------------------------------------------------------------------------------


def test_the_next_round_is_between_the_candidates_still_standing() -> None:
    """Round 2 with the excluded candidate back on the paper fails, naming both lists."""
    changed = body(ROUNDS)
    changed["contests"][1]["candidates"].append({"id": 503, "ballot_name": "Meera SHAH"})
    recounted(changed["contests"][1])
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert (
        "contest 52 (Members present): its candidates are [501, 502, 503], but after contest 51 "
        "(Members present) excluded Meera SHAH the candidates still standing are [501, 502]"
    ) in details(report, 7)


def test_no_vote_follows_one_that_ended_the_voting() -> None:
    """A vote after a confirmation (or after a round that elected) fails step 7."""
    changed = body(CONFIRMATION)
    again = copy.deepcopy(changed["contests"][0])
    again["id"] = 42
    again["seed"] = vote_seed(changed["assembly"]["seed"], 42)
    changed["contests"].append(recounted(again))
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert (
        "contest 41 (Members present) was a confirmation vote, which ends the voting, but "
        "contest 42 (Members present) follows it"
    ) in details(report, 7)


def test_a_record_that_stops_after_an_exclusion_is_unfinished() -> None:
    """Without round 2 the record ends before anyone was elected: step 7 says so."""
    changed = body(ROUNDS)
    del changed["contests"][1]
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert (
        "contest 51 (Members present), the last vote, elected nobody (it excluded Meera SHAH): "
        "the record ends before the assembly chose its Chair"
    ) in details(report, 7)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            {"leader": {"candidate": 501, "name": "Amara OKONKWO"}},
            'assembly.result.leader is {"candidate": 501, "name": "Amara OKONKWO"}, but the last '
            'vote, contest 52 (Members present), elected {"candidate": 502, "name": "Daniel REID"}',
        ),
        (
            {"outcome": "not-confirmed", "leader": None, "term": None},
            'assembly.result.outcome is "not-confirmed", but the last vote, contest 52 (Members '
            'present), gives "elected"',
        ),
        (
            {"outcome": "no-candidates"},
            'assembly.result.leader is {"candidate": 502, "name": "Daniel REID"}, but the '
            'outcome is "no-candidates": it must be null',
        ),
        (
            {"term": {"starts_on": "2030-04-01", "ends_on": "2027-03-31"}},
            "assembly.result.term starts on 2030-04-01, after it ends on 2027-03-31",
        ),
    ],
)
def test_the_declared_result_is_the_last_votes(result: dict[str, Any], message: str) -> None:
    """assembly.result must be what the last vote decided, with a leader and term only when
    someone was elected."""
    changed = body(ROUNDS)
    changed["assembly"]["result"].update(result)
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert message in details(report, 7)


def test_an_assembly_where_nobody_stood_has_no_votes() -> None:
    """No candidates: no votes, outcome "no-candidates", no leader; claiming a leader fails."""
    changed = body(ROUNDS)
    changed["contests"] = []
    changed["assembly"]["result"] = {"outcome": "no-candidates", "leader": None, "term": None}
    report = verify_record(signed(changed))
    assert report.ok, report.to_dict()
    assert "no candidates stood, so there was no vote" in details(report, 7)
    changed["assembly"]["result"]["outcome"] = "elected"
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert 'the record has no votes: with none the outcome is "no-candidates"' in details(report, 7)


def _confirmation(
    papers: list[tuple[str, str | None]], weighting: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The confirmation record with these papers instead: (choice, constituency or None)."""
    changed = body(CONFIRMATION)
    vote = changed["contests"][0]
    items = vote["ballots"]["items"][: len(papers)]
    for item, (choice, constituency) in zip(items, papers, strict=True):
        item["choice"] = choice
        if constituency is not None:
            item["constituency"] = constituency
    vote["ballots"]["items"] = items
    if weighting is not None:
        vote["weighting"] = weighting
        changed["assembly"]["weighting"] = True
    recounted(vote)
    if not vote["elected"]:
        changed["assembly"]["result"] = {"outcome": "not-confirmed", "leader": None, "term": None}
    return changed


def test_a_confirmation_not_carried_is_not_confirmed() -> None:
    """Fewer yes than no: not carried, elected is empty, and the outcome is "not-confirmed";
    declaring the candidate elected fails."""
    choices = ["yes", "no", "no", "abstain", "yes", "no"]
    changed = _confirmation([(choice, None) for choice in choices])
    vote = changed["contests"][0]
    assert vote["count"]["carried"] is False and vote["elected"] == []
    report = verify_record(signed(changed))
    assert report.ok, report.to_dict()
    assert "yes 2, no 3, abstain 1: not carried" in details(report, 7)
    assert "assembly.result: not confirmed by the last vote" in details(report, 7)
    changed["assembly"]["result"] = CONFIRMATION["body"]["assembly"]["result"]
    report = verify_record(signed(changed))
    assert 'assembly.result.outcome is "elected", but the last vote' in details(report, 7)


THIRDS = {
    "constituencies": [
        {"key": "workers", "name": "Workers", "weight": "1/3"},
        {"key": "users", "name": "Service users", "weight": "1/3"},
        {"key": "community", "name": "Community", "weight": "1/3"},
    ]
}


def test_a_weighted_confirmation_is_recounted_exactly() -> None:
    """Workers 3 yes 1 no, users 2 no (and an abstention), community 1 yes, a third each:
    yes = 1/3·3/4 + 1/3·1 = 7/12, no = 1/3·1/4 + 1/3·1 = 5/12, carried; the abstention
    weighs as a user's paper (1/6), and the count records each weight per ballot."""
    papers: list[tuple[str, str | None]] = [
        *[("yes", "workers")] * 3,
        ("no", "workers"),
        *[("no", "users")] * 2,
        ("abstain", "users"),
        ("yes", "community"),
    ]
    changed = _confirmation(papers, THIRDS)
    count = changed["contests"][0]["count"]
    assert (count["yes"], count["no"], count["abstain"], count["carried"]) == (
        "7/12",
        "5/12",
        "1/6",
        True,
    )
    assert count["per_ballot"] == {"community": "1/3", "users": "1/6", "workers": "1/12"}
    report = verify_record(signed(changed))
    assert report.ok, report.to_dict()
    assert "yes 7/12, no 5/12, abstain 1/6: carried" in details(report, 7)


def test_a_changed_per_ballot_weight_fails_the_recount() -> None:
    """The recorded per_ballot weights are checked like the rest of the count."""
    changed = body(ROUNDS)
    changed["contests"][0]["count"]["per_ballot"]["workers"] = "1/61"
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    assert 'count.per_ballot is recorded as {"community": "1/75"' in details(report, 7)


def test_a_vote_seed_not_made_from_the_assembly_seed_fails() -> None:
    """A vote whose seed (and so its lots) is not made from the assembly's seed fails."""
    changed = body(ROUNDS)
    vote = changed["contests"][0]
    vote["seed"] = "ab" * 32
    recounted(vote)
    report = verify_record(signed(changed))
    assert failed(report) == {7}
    expected = vote_seed(changed["assembly"]["seed"], 51)
    assert f"contest 51 (Members present): its seed is {'ab' * 32}, but the assembly's seed " in (
        details(report, 7)
    )
    assert expected in details(report, 7)


def test_a_weight_that_cannot_be_counted_fails_plainly() -> None:
    """Negative weights cannot be recounted: step 7 says why."""
    changed = body(ROUNDS)
    for entry in changed["contests"][0]["weighting"]["constituencies"]:
        entry["weight"] = "-1/3"
    report = verify_record(signed(changed))
    assert 7 in failed(report)
    assert "the ballots cannot be recounted: weights must not be negative" in details(report, 7)


# -- ballot hashes and count_assembly_vote ---------------------------------------------------------


def test_a_board_ballots_hash_is_unchanged() -> None:
    """A ranked ballot's hash is what the example receipt says, as before."""
    receipt = load("receipt.json")["receipt"]
    item = next(
        i
        for i in BOARD["body"]["contests"][0]["ballots"]["items"]
        if i["tracker"] == receipt["tracker"]
    )
    assert ballot_hash(31, item["tracker"], item["ranking"]) == receipt["ballot_hash"]


def test_choice_and_constituency_enter_the_ballot_hash() -> None:
    """A confirmation ballot hashes its choice instead of a ranking, and a weighted ballot
    its constituency too, as canonical JSON."""
    expected = hashlib.sha256(
        b'{"choice":"yes","constituency":"workers","contest":41,"tracker":"AAAA-AAAA-AAAA-AAAA"}'
    ).hexdigest()
    assert ballot_hash(41, "AAAA-AAAA-AAAA-AAAA", choice="yes", constituency="workers") == expected
    assert (
        ballot_hash(5, "AAAA-AAAA-AAAA-AAAA", [3], constituency="w")
        == hashlib.sha256(
            b'{"constituency":"w","contest":5,"ranking":[3],"tracker":"AAAA-AAAA-AAAA-AAAA"}'
        ).hexdigest()
    )
    for function in (ballot_leaf, ballot_leaf_fast):
        with pytest.raises(ValueError, match="either a ranking or a choice"):
            function(1, "AAAA-AAAA-AAAA-AAAA")
        with pytest.raises(ValueError, match="either a ranking or a choice"):
            function(1, "AAAA-AAAA-AAAA-AAAA", [1], choice="yes")


trackers = st.from_regex(r"\A[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}\Z")


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=2**63),
    trackers,
    st.one_of(st.none(), st.lists(st.integers(1, 2**63), min_size=1, max_size=5)),
    st.sampled_from(CHOICES),
    st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"]), min_size=1)),
)
def test_the_fast_ballot_hash_equals_the_canonical_one_for_every_kind(
    contest: int, tracker: str, ranking: list[int] | None, choice: str, constituency: str | None
) -> None:
    """For ranked, confirmation and weighted ballots (any constituency text, quotes and
    all), the verifier's direct encoding hashes as record.ballot_leaf's canonical JSON."""
    marks: dict[str, Any] = {"choice": choice} if ranking is None else {"ranking": ranking}
    fast = ballot_leaf_fast(contest, tracker, **marks, constituency=constituency)
    assert fast == ballot_leaf(contest, tracker, **marks, constituency=constituency)
    data = {"contest": contest, "tracker": tracker, **marks}
    if constituency is not None:
        data["constituency"] = constituency
    assert fast == hashlib.sha256(canonical_bytes(data)).digest()


CANDIDATES = [(1, "Ada"), (2, "Ben")]


@pytest.mark.parametrize(
    ("method", "candidates", "ballots", "weighting", "message"),
    [
        ("stv", CANDIDATES, [], None, "counted by irv, round or confirmation, not 'stv'"),
        ("confirmation", CANDIDATES, [], None, "exactly one candidate, not 2"),
        ("confirmation", CANDIDATES[:1], [{"tracker": "T", "choice": "maybe"}], None, "'maybe'"),
        ("irv", CANDIDATES, [{"tracker": "T", "ranking": [3]}], None, "ranks [3], not this"),
        ("round", CANDIDATES, [{"tracker": "T", "ranking": [1, 2]}], None, "chooses 2 candidates"),
        (
            "round",
            CANDIDATES,
            [{"tracker": "T", "ranking": [1], "constituency": "workers"}],
            None,
            "names constituency 'workers', but the vote is not weighted",
        ),
        (
            "round",
            CANDIDATES,
            [{"tracker": "T", "ranking": [1], "constituency": "staff"}],
            THIRDS,
            "is from constituency 'staff', which the weighting does not list",
        ),
        (
            "round",
            CANDIDATES,
            [],
            {"constituencies": THIRDS["constituencies"] * 2},
            "lists constituency 'workers' twice",
        ),
        (
            "round",
            CANDIDATES,
            [],
            {"constituencies": [{"key": "a", "name": "A", "weight": "0.5"}]},
            "has the weight '0.5', not 'n/d'",
        ),
        ("round", CANDIDATES, [], None, "there are no valid ballots to count"),
    ],
)
def test_count_assembly_vote_refuses_what_it_cannot_count(
    method: str,
    candidates: list[tuple[int, str]],
    ballots: list[dict[str, Any]],
    weighting: dict[str, Any] | None,
    message: str,
) -> None:
    """The server's and the verifier's count of a vote refuses bad input with a reason."""
    with pytest.raises(BallotError, match=message.replace("[", r"\[").replace("]", r"\]")):
        count_assembly_vote(method, candidates, ballots, weighting, "00" * 32)


def test_seeds_are_derived_as_documented() -> None:
    """The commitment is SHA-256 of the seed's hex text; a vote's seed that of
    "<seed>:vote:<contest id>"."""
    seed = "0f" * 32
    assert assembly_seed_sha256(seed) == hashlib.sha256(seed.encode()).hexdigest()
    assert vote_seed(seed, 51) == hashlib.sha256(f"{seed}:vote:51".encode()).hexdigest()


# -- random small assemblies -----------------------------------------------------------------------

KEYS = ["workers", "service-users", "community"]
weights = st.fractions(min_value=Fraction(1, 5), max_value=2, max_denominator=6)


def _prefixes(order: list[int]) -> st.SearchStrategy[list[int]]:
    return st.integers(1, len(order)).map(lambda k: order[:k])


@st.composite
def assemblies(draw: st.DrawFn) -> dict[str, Any]:
    """A small random assembly's record, built honestly and signed by the example keys: one
    preferential vote, rounds until someone has a majority, or a confirmation; weighted by
    constituency or not."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    method = draw(st.sampled_from(["irv", "rounds"]))
    weighting = None
    if draw(st.booleans()):
        weighting = {
            "constituencies": [
                {"key": key, "name": key.title(), "weight": f"{w.numerator}/{w.denominator}"}
                for key, w in zip(
                    KEYS, draw(st.lists(weights, min_size=3, max_size=3)), strict=True
                )
            ]
        }
    seed = draw(st.binary(min_size=32, max_size=32)).hex()
    standing = [(100 + k, f"Candidate {k}") for k in range(1, draw(st.integers(1, 4)) + 1)]

    def marks(strategy: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
        if weighting is not None:
            strategy = st.tuples(strategy, st.sampled_from(KEYS)).map(
                lambda pair: {**pair[0], "constituency": pair[1]}
            )
        return draw(st.lists(strategy, min_size=1, max_size=10))

    def vote(kind: str, papers: list[dict[str, Any]]) -> dict[str, Any]:
        contest_id = len(votes) + 1
        extra = draw(st.integers(0, 3))
        return make_examples._vote(
            rng, contest_id, seed, kind, standing, papers, len(papers) + extra, weighting
        )

    votes: list[dict[str, Any]] = []
    ids = [i for i, _ in standing]
    if len(standing) == 1:
        votes.append(vote("confirmation", marks(st.sampled_from(CHOICES).map(_choice))))
    elif method == "irv":
        votes.append(vote("irv", marks(st.permutations(ids).flatmap(_prefixes).map(_ranking))))
    else:
        while True:
            ids = [i for i, _ in standing]
            votes.append(vote("round", marks(st.sampled_from(ids).map(lambda i: _ranking([i])))))
            if votes[-1]["elected"]:
                break
            out = votes[-1]["count"]["excluded_ids"]
            standing = [c for c in standing if f"c{c[0]}" not in out]
    last = votes[-1]
    names = {c["id"]: c["ballot_name"] for c in last["candidates"]}
    if last["elected"]:
        result = {
            "outcome": "elected",
            "leader": {"candidate": last["elected"][0], "name": names[last["elected"][0]]},
            "term": {"starts_on": "2027-04-01", "ends_on": "2030-03-31"},
        }
    else:
        result = {"outcome": "not-confirmed", "leader": None, "term": None}
    assembly = {
        "id": 9,
        "title": "Annual public assembly",
        "held_on": "2027-03-13",
        "venue": "The hall",
        "leader_title": "Chair",
        "method": method,
        "weighting": weighting is not None,
        "late_arrivals_vote": False,
        "seed_sha256": assembly_seed_sha256(seed),
        "seed": seed,
        "quorum": {"required": 1, "per_constituency": 0, "members": 100},
        "attendance": [{"key": "members", "name": "Members", "present": 50}],
        "result": result,
    }
    return resign(
        {"body": make_examples._assembly_body(assembly, votes, "2027-03-13T18:00:00Z", 1)}
    )


def _choice(choice: str) -> dict[str, Any]:
    return {"choice": choice}


def _ranking(ranking: list[int]) -> dict[str, Any]:
    return {"ranking": list(ranking)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assemblies())
def test_random_small_assemblies_verify(record: dict[str, Any]) -> None:
    """A record built honestly from any small assembly passes every step."""
    report = verify_record(record)
    assert report.ok, report.to_dict()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assemblies(), st.data())
def test_one_changed_ballot_field_fails(record: dict[str, Any], data: st.DataObject) -> None:
    """Changing one field of one ballot — its tracker, ranking, choice, constituency or
    channel — fails the signatures (3, 4); every field but the channel is in the ballot's
    hash, so step 5 fails too, even when the keys' holders re-sign it."""
    vote = data.draw(st.sampled_from(record["body"]["contests"]))
    items = vote["ballots"]["items"]
    item = data.draw(st.sampled_from(items))
    name = data.draw(st.sampled_from(sorted(item)))
    ids = [c["id"] for c in vote["candidates"]]
    if name == "tracker":
        item["tracker"] = data.draw(trackers.filter(lambda t: t != item["tracker"]))
    elif name == "ranking":
        others = [i for i in ids if i not in item["ranking"]]
        if others:
            item["ranking"] = [others[0]]
        elif len(item["ranking"]) > 1:
            item["ranking"] = list(reversed(item["ranking"]))
        else:
            item["ranking"] = [999]  # the only candidate: rank someone else
    elif name == "choice":
        item["choice"] = data.draw(st.sampled_from([c for c in CHOICES if c != item["choice"]]))
    elif name == "constituency":
        item["constituency"] = data.draw(st.sampled_from([k for k in KEYS if k != item[name]]))
    else:
        item["channel"] = "online" if item["channel"] == "paper" else "paper"
    forged = make_examples._rehashed(record)
    report = verify_record(forged)
    assert {3, 4} <= failed(report)
    if name != "channel":
        assert 5 in failed(report)
        assert 5 in failed(verify_record(resign(forged)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["assembly-record.json", "assembly-confirmation.json"]), st.data())
def test_any_damage_to_an_assembly_record_gives_a_report(name: str, data: st.DataObject) -> None:
    """Deleting any field of an assembly record, or replacing any value with another JSON
    type, never raises: the report fails and says where; and the schema validator agrees
    with a plain reading of the schema."""
    record = load(name)
    parent, key = _pick(record, data)
    replacement = data.draw(
        st.sampled_from([None, True, 0, -1, 1.5, "", "x" * 70, [], {}, [1, 2], {"a": 1}, "del"])
    )
    if replacement == "del":
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]
    else:
        assume(not (type(parent[key]) is type(replacement) and parent[key] == replacement))
        parent[key] = replacement
    assert (validate_record(record) == []) == _conforms(SCHEMA, record)
    tracker = RECEIPT["receipt"]["tracker"]
    report = verify_record(record, receipt=RECEIPT, tracker=tracker)
    assert not report.ok
    for step in report.steps:
        for line in step.details:
            assert "could not be checked" not in line, line
