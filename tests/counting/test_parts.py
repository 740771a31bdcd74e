"""Ballot validation, file formats, lots, apportionment, weighting and confirmation votes."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import (
    ApportionmentError,
    BallotError,
    Candidate,
    LotNeeded,
    apportion,
    build_profile,
    count_confirmation,
    count_irv,
    count_plurality,
    count_stv,
    draw,
    read_blt,
    read_preflib,
    weight_constituencies,
    write_blt,
)

ABC = [Candidate("a", "Ann"), Candidate("b", "Bob"), Candidate("c", "Cat")]


# --- ballots --------------------------------------------------------------------------------


def test_profiles_aggregate_and_count_blank_papers() -> None:
    """Identical rankings are merged; an empty ranking is a blank paper, not a valid vote."""
    profile = build_profile(ABC, [(0, 1), (0, 1), (2,), ()])
    assert profile.rankings == (((0, 1), 2), ((2,), 1))
    assert (profile.valid, profile.blank) == (3, 1)


@pytest.mark.parametrize(
    ("papers", "message"),
    [
        ([(0, 0)], "ranked more than once"),
        ([(0, 7)], "unknown candidate 7"),
        ([(0, -1)], "unknown candidate -1"),
    ],
)
def test_bad_ballots_are_refused_with_a_reason(papers, message: str) -> None:
    """An unknown or repeated candidate is refused, naming the ranking and the problem."""
    with pytest.raises(BallotError, match=message):
        build_profile(ABC, papers)


def test_duplicate_candidate_ids_are_refused() -> None:
    """Candidates need distinct ids, because results name them by id."""
    with pytest.raises(BallotError, match="share the id"):
        build_profile([Candidate("a", "A"), Candidate("a", "B")], [(0,)])


# --- BLT and PrefLib --------------------------------------------------------------------------

BLT = (
    "\ufeff4 2  \r\n"
    "-4\r\n"
    "3 1 2 0 \r\n"
    "2 2 4 3 0\r\n"
    "1 4 0\r\n"
    "1 3 1 0\r\n"
    "0\r\n"
    '"Ann ""The Ace"" Smith"\r\n'
    "Bob Jones (Ind)  \r\n"
    '"Cat"\r\n'
    '"Dan"\r\n'
    '"A test, with a comma"\r\n'
)


def test_blt_reads_crlf_bom_withdrawn_quotes_and_trailing_spaces() -> None:
    """A BLT file with every awkward feature reads into the expected profile."""
    blt = read_blt(BLT.encode("utf-8"))
    profile = blt.profile
    assert (blt.seats, blt.title) == (2, "A test, with a comma")
    assert [c.name for c in profile.candidates] == [
        'Ann "The Ace" Smith',
        "Bob Jones (Ind)",
        "Cat",
        "Dan",
    ]
    assert profile.withdrawn == {3}
    # Dan (withdrawn) is skipped: "2 4 3" becomes "2 3"; "4" alone becomes blank.
    assert dict(profile.rankings) == {(0, 1): 3, (1, 2): 2, (2, 0): 1}
    assert profile.blank == 1


def test_blt_round_trips() -> None:
    """Writing a profile as BLT and reading it back gives the same profile and count."""
    blt = read_blt(BLT)
    again = read_blt(write_blt(blt.profile, 2, blt.title))
    assert again.profile == blt.profile
    assert count_stv(again.profile, 2).to_json() == count_stv(blt.profile, 2).to_json()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 1\n1 1=2 0\n0\nA\nB\n", "equal rankings"),
        ("2 1\n1 1 3 0\n0\nA\nB\n", "candidate 3 does not exist"),
        ("2 1\n1 1 1 0\n0\nA\nB\n", "ranked more than once"),
        ("2 1\n1 1 2\n0\nA\nB\n", "line 2"),
        ("2 1\n1 1 0\n0\nA\n", "ends early"),
        ("two one\n", "line 1"),
        (b"2 1\n1 1 0\n0\n\xff\xfe\n", "not UTF-8"),
    ],
)
def test_bad_blt_files_say_what_is_wrong(text: str | bytes, message: str) -> None:
    """Unusable BLT input is refused with a message naming the problem and the line."""
    with pytest.raises(BallotError, match=message):
        read_blt(text)


def test_preflib_soi_reads_names_and_counts() -> None:
    """A PrefLib strict-order file reads its alternatives and counts."""
    text = (
        "# TITLE: Test\n# ALTERNATIVE NAME 1: Ann\n# ALTERNATIVE NAME 2: Bob\n"
        "# ALTERNATIVE NAME 3: Cat\n5: 1,2\n3: 3\n2: 2,3,1\n"
    )
    pref = read_preflib(text)
    assert pref.title == "Test" and pref.seats is None
    assert dict(pref.profile.rankings) == {(0, 1): 5, (2,): 3, (1, 2, 0): 2}


def test_preflib_ties_are_refused() -> None:
    """A .toi line with tied alternatives is refused: ballots are strict orders."""
    text = "# ALTERNATIVE NAME 1: Ann\n# ALTERNATIVE NAME 2: Bob\n4: {1,2}\n"
    with pytest.raises(BallotError, match="equal rankings"):
        read_preflib(text)


# --- lots -----------------------------------------------------------------------------------


def test_a_draw_follows_the_documented_formula() -> None:
    """The draw is SHA-256 over the documented fields; anyone can repeat it by hand."""
    result = draw(bytes.fromhex("00ff"), "exclusion", ["a", "b", "c"])
    payload = b"assembly-lot-v1\x00\x00\xff\x00exclusion\x00a\x1fb\x1fc\x00" + (0).to_bytes(
        4, "big"
    )
    digest = hashlib.sha256(payload).digest()
    assert result.counter == 0 and result.digest == digest.hex()
    assert result.chosen == ["a", "b", "c"][int.from_bytes(digest, "big") % 3]


def test_a_tie_without_a_seed_asks_for_one() -> None:
    """Two candidates level at every stage need a lot; without a seed the count says so."""
    profile = build_profile(ABC[:2], [(0,), (1,)])
    with pytest.raises(LotNeeded, match="decided by lot"):
        count_irv(profile)
    result = count_irv(profile, seed="01")
    [lot] = result.lots["draws"]
    assert lot["options"] == ["a", "b"] and result.lots["seed"] == "01"
    assert result.stages[1].tie_breaks[0].by_lot


@settings(max_examples=50, deadline=None)
@given(
    st.binary(min_size=1, max_size=16),
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=6, unique=True),
)
def test_draws_are_repeatable_and_choose_an_option(seed: bytes, options: list[str]) -> None:
    """The same seed, context and options always draw the same option, one of those offered."""
    first, second = draw(seed, "x", options), draw(seed, "x", options)
    assert first == second and first.chosen in options


# --- apportionment --------------------------------------------------------------------------

THIRDS = {"workers": Fraction(1, 3), "users": Fraction(1, 3), "community": Fraction(1, 3)}


def test_nine_seats_in_thirds() -> None:
    """Nine seats at one third each: three each, by either method."""
    for method in ("largest-remainder", "sainte-lague"):
        assert apportion(THIRDS, 9, method=method).seats_by_key == {
            "community": 3,
            "users": 3,
            "workers": 3,
        }


def test_a_tie_for_the_last_seat_is_drawn() -> None:
    """Ten seats in thirds: three remainders of 1/3 tie for one seat, decided by lot."""
    with pytest.raises(LotNeeded):
        apportion(THIRDS, 10)
    result = apportion(THIRDS, 10, seed="abcd")
    assert sorted(result.seats_by_key.values()) == [3, 3, 4]
    [lot] = result.lots["draws"]
    assert result.seats_by_key[lot["chosen"]] == 4


def test_largest_remainder_and_sainte_lague_can_differ() -> None:
    """Weights 8/3/1, 5 seats. Hamilton: quotas 10/3, 5/4, 5/12 → 3, 1, 0 and the last seat to
    the largest remainder (5/12, c). Sainte-Laguë: 8, 3, 8/3, 8/5, 8/7 beat c's 1 → 4, 1, 0."""
    weights = {"a": 8, "b": 3, "c": 1}
    largest = apportion(weights, 5)
    assert largest.seats_by_key == {"a": 3, "b": 1, "c": 1}
    assert largest.quotas == {"a": Fraction(10, 3), "b": Fraction(5, 4), "c": Fraction(5, 12)}
    assert apportion(weights, 5, method="sainte-lague").seats_by_key == {"a": 4, "b": 1, "c": 0}


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["w", "u", "c", "x"]),
        st.fractions(min_value=Fraction(1, 100), max_value=10),
        min_size=1,
    ),
    st.integers(min_value=0, max_value=30),
)
def test_largest_remainder_meets_quota(weights: dict[str, Fraction], seats: int) -> None:
    """Every constituency gets its exact quota rounded down or up, and all seats are given."""
    result = apportion(weights, seats, seed="01")
    assert sum(result.seats_by_key.values()) == seats
    for key, quota in result.quotas.items():
        assert int(quota) <= result.seats_by_key[key] <= int(quota) + 1


def test_bad_apportionments_are_refused() -> None:
    """Negative weights, all-zero weights and unknown methods are refused with a reason."""
    with pytest.raises(ApportionmentError, match="negative"):
        apportion({"a": -1}, 3)
    with pytest.raises(ApportionmentError, match="more than 0"):
        apportion({"a": 0}, 3)
    with pytest.raises(ApportionmentError, match="unknown method"):
        apportion({"a": 1}, 3, method="dhondt-ish")


# --- weighting and confirmation -----------------------------------------------------------------


def test_each_constituency_weighs_its_share() -> None:
    """With thirds, 1 worker outweighs 3 service users: each ballot weighs W_c / N_c."""
    workers = build_profile(ABC[:2], [(0,)])
    users = build_profile(ABC[:2], [(1,), (1,), (1,)])
    community = build_profile(ABC[:2], [(0,), (1,)])
    weighted = weight_constituencies(
        {"workers": workers, "users": users, "community": community}, THIRDS
    )
    assert weighted.per_ballot == {
        "workers": Fraction(1, 3),
        "users": Fraction(1, 9),
        "community": Fraction(1, 6),
    }
    assert weighted.profile.valid == 1
    result = count_irv(weighted.profile, seed="02")
    assert result.stages[0].totals == (Fraction(1, 2), Fraction(1, 2))
    plurality = count_plurality(weighted.profile, seed="02")
    assert plurality.to_dict()["stages"][0]["totals"] == {"a": "1/2", "b": "1/2"}


def test_confirmation_is_carried_when_yes_beats_no() -> None:
    """Yes > no carries; a tie does not; abstentions are recorded but do not count."""
    assert count_confirmation("lee", 10, 9, 100).carried
    assert not count_confirmation("lee", 10, 10, 0).carried
    assert not count_confirmation("lee", 20, 11, threshold=Fraction(2, 3)).carried
    assert count_confirmation("lee", 21, 10, threshold=Fraction(2, 3)).carried
    with pytest.raises(BallotError):
        count_confirmation("lee", -1, 0)
