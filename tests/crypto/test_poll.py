"""A whole end-to-end poll (trustees, credentials, encrypted and audited ballots, shuffles,
threshold decryption) checked part by part; each tampering caught by the part it breaks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from assembly.crypto import ballot as ballots
from assembly.crypto import poll
from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import G, GroupError, L, random_scalar

IDS = ["c1", "c2", "c3", "c4"]
RANKINGS = [(0, 1), (2,), (1, 0, 3), (3, 2, 1, 0), (0,), (2, 3)]


@pytest.fixture(scope="module")
def made() -> tuple[poll.Section, dict[str, Any]]:
    section, _ = poll.simulate(
        "inst/e/1/contest/1", 4, RANKINGS, trustees=3, threshold=2, roll=8, openers=(2, 3)
    )
    return section, section.to_json(IDS)


def _check(
    document: dict[str, Any], stated: list[tuple[str, tuple[int, ...]]] | None = None
) -> list[tuple[str, tuple[bool, str]]]:
    section = poll.Section.from_json(json.loads(json.dumps(document)), IDS)
    return poll.check_section(
        section, roll=8, stated=poll.counted(section) if stated is None else stated
    )


def test_a_whole_poll_checks_and_opens_to_its_rankings(made) -> None:
    section, document = made
    findings = _check(document)
    assert tuple(name for name, _ in findings) == poll.PARTS
    assert all(ok for _, (ok, _) in findings), findings
    assert sorted(r for _, r in poll.counted(section)) == sorted(RANKINGS)
    assert len(section.shuffles) == 3 and len(section.openings) == 2
    # Nothing links an opened row to a cast ballot: their trackers are not the same.
    assert not {t for t, _ in poll.counted(section)} & {c.tracker for c in section.cast}


def _tampered(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def _other_point() -> str:
    return (G * random_scalar()).hex()


def _ciphertext_plus_one(value: list[str]) -> list[str]:
    c = Ciphertext.from_json(value)
    return Ciphertext(c.a, c.b + G).to_json()


def _flip_scalar(text: str) -> str:
    k = int.from_bytes(bytes.fromhex(text), "little")
    return ((k + 1) % L).to_bytes(32, "little").hex()


TAMPERINGS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "a trustee's commitment replaced": (
        "key ceremony",
        lambda d: d["trustees"][1]["commitments"].__setitem__(0, _other_point()),
    ),
    "the election key replaced": (
        "key ceremony",
        lambda d: d.__setitem__("election_key", _other_point()),
    ),
    "a credential listed twice": (
        "credentials",
        lambda d: d["credentials"].__setitem__(1, d["credentials"][0]),
    ),
    "a ballot stuffed with an unlisted credential": (
        "ballots",
        lambda d: d["credentials"].__setitem__(
            d["credentials"].index(d["cast"][0]["credential"]), _other_point()
        ),
    ),
    "a ballot's ciphertext changed": (
        "ballots",
        lambda d: d["cast"][2]["ballot"]["row"].__setitem__(
            0, _ciphertext_plus_one(d["cast"][2]["ballot"]["row"][0])
        ),
    ),
    "a ballot's signature changed": (
        "ballots",
        lambda d: d["cast"][1]["signature"].__setitem__(
            "s", _flip_scalar(d["cast"][1]["signature"]["s"])
        ),
    ),
    "an audited ballot's stated ranking changed": (
        "audited ballots",
        lambda d: d["audited"][0].__setitem__("ranking", ["c4", "c3"]),
    ),
    "a shuffled ciphertext changed": (
        "shuffles",
        lambda d: d["shuffles"][1]["rows"][0].__setitem__(
            0, _ciphertext_plus_one(d["shuffles"][1]["rows"][0][0])
        ),
    ),
    "a shuffle's response changed": (
        "shuffles",
        lambda d: d["shuffles"][0]["proof"].__setitem__(
            "s2", _flip_scalar(d["shuffles"][0]["proof"]["s2"])
        ),
    ),
    "a shuffle left out": ("shuffles", lambda d: d["shuffles"].pop(1)),
    "a decryption share changed": (
        "decryption",
        lambda d: d["decryption"][0]["shares"][3].__setitem__(0, _other_point()),
    ),
    "too few trustees' shares": ("decryption", lambda d: d["decryption"].pop()),
    "an opened number changed": (
        "decryption",
        lambda d: d["opened"][0].__setitem__(0, d["opened"][0][0] ^ 1),
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_is_caught_by_the_part_it_breaks(made, name: str) -> None:
    _, document = made
    part, change = TAMPERINGS[name]
    findings = _check(_tampered(document, change))
    assert findings[-1][0] == part, findings
    assert not findings[-1][1][0]
    assert all(ok for _, (ok, _) in findings[:-1])


def test_a_counted_ranking_not_opened_is_caught(made) -> None:
    section, document = made
    stated = poll.counted(section)
    stated[0] = (stated[0][0], (3,))
    findings = _check(document, stated)
    assert findings[-1][0] == "opened rows" and not findings[-1][1][0]


def test_a_ballot_cast_again_under_another_credential_is_refused(made) -> None:
    """Proofs bind the credential: a copy of someone's ciphertexts re-signed with a second
    listed credential fails its proofs (no replaying another voter's ballot)."""
    section, document = made
    secret = random_scalar()
    copied = _tampered(document, lambda d: None)
    copied["credentials"].append((G * secret).hex())
    copied["credentials"].sort()
    theirs = poll.Section.from_json(document, IDS).cast[0]
    replay = poll.Cast(
        G * secret, theirs.ballot, ballots.sign(secret, section.label, theirs.ballot)
    )
    copied["cast"].append(replay.to_json())
    copied["cast"].sort(key=lambda c: c["tracker"])  # the same tracker twice
    findings = poll.check_section(
        poll.Section.from_json(copied, IDS), roll=9, stated=poll.counted(section)
    )
    assert findings[2][0] == "ballots" and not findings[2][1][0]


def test_a_poll_with_no_ballots_checks() -> None:
    section, _ = poll.simulate("p", 3, [], trustees=2, threshold=1, roll=3, audits=0)
    findings = poll.check_section(section, roll=3, stated=[])
    assert all(ok for _, (ok, _) in findings), findings


def test_missing_trustees_beyond_the_threshold_do_not_stop_the_count() -> None:
    """3 of 5: trustees 2, 4 and 5 open the rows; 1 and 3 never appear after the ceremony."""
    section, _ = poll.simulate(
        "p", 3, [(0, 1), (2,)], trustees=5, threshold=3, shufflers=(2, 4, 5), openers=(2, 4, 5)
    )
    findings = poll.check_section(section, roll=2, stated=poll.counted(section))
    assert all(ok for _, (ok, _) in findings), findings
    assert sorted(r for _, r in poll.counted(section)) == [(0, 1), (2,)]


def test_malformed_sections_are_refused_with_a_reason(made) -> None:
    _, document = made
    for change in (
        lambda d: d.__setitem__("group", "p256"),
        lambda d: d.pop("shuffles"),
        lambda d: d["cast"][0].__setitem__("credential", "00" * 31),
        lambda d: d["trustees"][0].__setitem__("number", 0),
        lambda d: d["cast"][0]["ballot"].__setitem__("extra", []),
    ):
        with pytest.raises(GroupError):
            poll.Section.from_json(_tampered(document, change), IDS)


def test_a_first_past_the_post_contest_reads_each_opened_ranking_as_its_choice() -> None:
    """For two seats, a ranking is read as its first two candidates in increasing order of
    id (how the count reads it, and how the record lists a choice); the opened rows check
    against the ballots so read, and not against the rankings as encrypted."""
    ids = [30, 10, 20]
    rankings = [(0, 1, 2), (2, 1), (0,), ()]
    section, _ = poll.simulate("fptp", 3, rankings, trustees=2, threshold=1, audits=0)
    read = poll.choice_reader(2, ids)
    assert [read(r) for r in rankings] == [(1, 0), (1, 2), (0,), ()]
    stated = poll.counted(section, read)
    assert sorted(r for _, r in stated) == [(0,), (1, 0), (1, 2)]
    findings = poll.check_section(section, roll=4, stated=stated, read=read)
    assert findings[-1][0] == "opened rows" and findings[-1][1][0]
    raw = poll.check_section(section, roll=4, stated=poll.counted(section), read=read)
    assert raw[-1][0] == "opened rows" and not raw[-1][1][0]


# -- a poll counted by constituency (a weighted assembly vote): groups and cards ------------------

GROUPS = ("community", "service-users", "workers")


@pytest.fixture(scope="module")
def grouped() -> tuple[poll.Section, dict[str, Any]]:
    section, _ = poll.simulate(
        "inst/assembly/1/poll/7", 4, RANKINGS, roll=9, groups=GROUPS, cards=True
    )
    return section, section.to_json(IDS)


def _grouped_stated(section: poll.Section) -> list[tuple[str, str, tuple[int, ...]]]:
    return poll.counted_by_group(section)


def test_every_opened_row_keeps_its_constituency_through_the_shuffles(grouped) -> None:
    section, document = grouped
    read = poll.Section.from_json(json.loads(json.dumps(document)), IDS)
    assert read == section
    assert [g["key"] for g in document["groups"]] == list(GROUPS)
    assert "credentials" not in document and document["cards"] is True
    findings = poll.check_section(read, roll=6, stated=_grouped_stated(section))
    assert all(ok for _, (ok, _) in findings), findings
    # The voters were dealt round the groups: each ranking opens in its voter's group.
    group_of = section.group_of()
    by_voter = sorted(
        (GROUPS[group_of[c.credential] - 1], ballots.tracker(c.ballot)) for c in section.cast
    )
    opened = poll.counted_by_group(section)
    assert sorted(k for _, k, _ in opened) == sorted(k for k, _ in by_voter)
    assert sorted(r for _, _, r in opened) == sorted(RANKINGS)


def test_cards_may_outnumber_the_roll_but_ballots_may_not(grouped) -> None:
    section, document = grouped
    read = poll.Section.from_json(json.loads(json.dumps(document)), IDS)
    # 9 cards printed, 6 cast: a roll of 6 present holds, a roll of 5 does not.
    findings = dict(poll.check_section(read, roll=6, stated=_grouped_stated(section)))
    assert findings["credentials"][0] and "9 distinct" in findings["credentials"][1]
    findings = dict(poll.check_section(read, roll=5, stated=_grouped_stated(section)))
    assert findings["credentials"] == (False, "6 ballots cast with cards for a roll of 5")


def test_a_ballot_counted_in_another_constituency_is_caught(grouped) -> None:
    section, _ = grouped
    stated = _grouped_stated(section)
    tracker, key, ranking = stated[0]
    other = next(k for k in GROUPS if k != key)
    moved = [(tracker, other, ranking), *stated[1:]]
    findings = dict(poll.check_section(section, roll=6, stated=moved))
    assert findings["opened rows"][0] is False


def test_a_card_moved_to_another_group_breaks_the_first_shuffle(grouped) -> None:
    section, document = grouped
    copied = copy.deepcopy(document)
    cast = {c.credential.hex() for c in section.cast}
    moved = next(c for c in copied["groups"][0]["credentials"] if c in cast)
    copied["groups"][0]["credentials"].remove(moved)
    copied["groups"][1]["credentials"] = sorted([*copied["groups"][1]["credentials"], moved])
    findings = dict(
        poll.check_section(
            poll.Section.from_json(copied, IDS), roll=6, stated=_grouped_stated(section)
        )
    )
    # The tag of that card's ballot is not the one the first shuffle took.
    assert findings["shuffles"] == (False, "trustee 1's shuffle: its proof does not hold")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.__setitem__("cards", 1), "cards must be true or false"),
        (lambda d: d.__setitem__("credentials", []), "not both"),
    ],
)
def test_a_grouped_section_is_read_strictly(grouped, change, message) -> None:
    _, document = grouped
    copied = copy.deepcopy(document)
    change(copied)
    with pytest.raises(GroupError, match=message):
        poll.Section.from_json(copied, IDS)


def _hand_made(key, layout: ballots.Layout, numbers: list[int], label: str, secret: int):
    """A ballot made by hand, not by a browser: any numbers, each ciphertext with a good
    proof of its randomness (context as docs/e2e.md gives it), signed with the credential."""
    from assembly.crypto.elgamal import encrypt
    from assembly.crypto.proofs import Schnorr

    credential = (G * secret).hex()
    row, proofs = [], []
    for k, number in enumerate(numbers, start=1):
        c, r = encrypt(key, number)
        row.append(c)
        proofs.append(Schnorr.prove(r, f"{label}/ballot/{credential}/{k}/{c.b.hex()}"))
    ballot = ballots.EncryptedBallot(tuple(row), tuple(proofs))
    assert ballots.ballot_is_valid(key, layout, ballot, label, credential)
    return poll.Cast(G * secret, ballot, ballots.sign(secret, label, ballot))


def test_a_hand_made_ballot_of_no_ranking_is_a_spoilt_paper_and_the_poll_still_checks() -> None:
    """Proofs of randomness do not say a row holds a ranking: a hand-made ballot whose number
    is beyond any a row can hold opens to -1, reads as no ranking, and is not counted, while
    every part of the poll (its other ballots counted as cast) still checks."""
    label = "inst/e/1/contest/7"
    layout = ballots.Layout(4)
    made_, secrets_ = poll.simulate(
        label, 4, [(0, 1), (2,)], roll=2, audits=0, shufflers=(), openers=()
    )
    secret = random_scalar()
    spoilt = _hand_made(made_.key, layout, [layout.largest + 70_000], label, secret)
    casts = tuple(sorted((*made_.cast, spoilt), key=lambda c: c.tracker))
    rows = poll.first_rows(layout, casts)
    shuffles = []
    for trustee in (1, 2):
        shuffles.append(poll.mix(made_.key, rows, label, trustee))
        rows = shuffles[-1].rows
    openings = [poll.open_rows(secrets_[t - 1], t, rows, label) for t in (1, 2)]
    opened = poll.opened_numbers(layout, rows, openings)
    assert sorted(opened) == sorted([[-1], [1 | 2 << 3], [3]])
    section = poll.Section(
        **{
            **made_.__dict__,
            "credentials": tuple(sorted((*made_.credentials, G * secret), key=lambda p: p.data)),
            "cast": casts,
            "shuffles": tuple(shuffles),
            "openings": tuple(openings),
            "opened": tuple(tuple(r) for r in opened),
        }
    )
    assert sorted(r for _, r in poll.counted(section)) == [(0, 1), (2,)]
    document = json.loads(json.dumps(section.to_json(IDS)))
    again = poll.Section.from_json(document, IDS)
    findings = poll.check_section(again, roll=3, stated=poll.counted(again))
    assert all(ok for _, (ok, _) in findings), findings
    # Counting the spoilt paper as a ranking is caught.
    stated = [*poll.counted(again), (ballots.row_tracker(rows[0]), (3,))]
    findings = poll.check_section(again, roll=3, stated=sorted(stated))
    assert findings[-1][0] == "opened rows" and not findings[-1][1][0]
