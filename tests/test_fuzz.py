"""Fuzzing the places where outside input comes in: the roster file reader, the BLT and PrefLib
ballot file readers, the ballot form and an assembly's paper batch. Random and mutated input
never crashes: it is read, or refused with an error that says what is wrong (the record
verifier's fuzzing is in tests/records/test_verify.py)."""

from __future__ import annotations

import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assembly.counting import BallotError
from assembly.counting.formats import read_blt, read_preflib
from assembly.elections.models import CountMethod
from assembly.membership.imports import (
    RosterFileError,
    RosterReader,
    RosterRow,
    RowProblem,
    open_roster,
    parse_records,
)
from assembly.polls.marks import InvalidBallot, ranking_from_marks

GOOD_BLT = b'3 1\n1 1 2 0\n2 3 0\n1 2 0\n0\n"Ann"\n"Bob"\n"Cy"\n"Fuzz"\n'
GOOD_ROSTER = (
    b"external_id,given_name,family_name,email,date_of_birth,postcode\n"
    b"E1,Ann,Smith,ann@example.org,1980-01-02,BS1 4AB\n"
    b"E2,Bob,Jones,,1975-12-31,\n"
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutated(data: bytes, seed: int, edits: int) -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        position = rng.randrange(len(out) + 1)
        action = rng.randrange(3)
        if action == 0 and position < len(out):
            out[position] = rng.randrange(256)
        elif action == 1:
            out[position:position] = bytes([rng.randrange(256)])
        elif position < len(out):
            del out[position]
    return bytes(out)


def _message(error: Exception) -> str:
    text = str(error)
    assert text and "Traceback" not in text
    return text


# -- ballot files --------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_a_blt_file(data: bytes) -> None:
    for reader in (read_blt, read_preflib):
        try:
            reader(data, "upload")
        except BallotError as error:
            _message(error)


@FUZZ
@given(st.integers(0, 2**32), st.integers(1, 8))
def test_a_damaged_blt_file(seed: int, edits: int) -> None:
    try:
        ballot_file = read_blt(_mutated(GOOD_BLT, seed, edits), "upload")
    except BallotError as error:
        _message(error)
    else:
        assert ballot_file.profile.candidates


# -- roster files --------------------------------------------------------------------------------


def _read_roster(data: bytes) -> list[RosterRow | RowProblem]:
    opened = open_roster(io.BytesIO(data))
    return list(RosterReader(opened.text))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_a_roster(data: bytes) -> None:
    try:
        rows = _read_roster(data)
    except RosterFileError as error:
        _message(error)
    else:
        for row in rows:
            assert isinstance(row, RosterRow | RowProblem)
            if isinstance(row, RowProblem):
                assert row.reason


@FUZZ
@given(st.integers(0, 2**32), st.integers(1, 10))
def test_a_damaged_roster(seed: int, edits: int) -> None:
    try:
        rows = _read_roster(_mutated(GOOD_ROSTER, seed, edits))
    except RosterFileError as error:
        _message(error)
    else:
        assert all(isinstance(row, RosterRow) or row.reason for row in rows)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "external_id",
                    "given_name",
                    "family_name",
                    "email",
                    "date_of_birth",
                    "postcode",
                    "x",
                ]
            ),
            _JSON,
            max_size=7,
        )
        | _JSON,
        max_size=5,
    )
)
def test_random_json_as_a_pushed_roster(records: list[object]) -> None:
    """The roster push API's people, whatever their shape: each a row or a problem."""
    for row in parse_records(records):  # type: ignore[arg-type]
        assert isinstance(row, RosterRow) or row.reason


# -- the ballot form -------------------------------------------------------------------------------


class _Contest:
    def __init__(self, method: CountMethod, seats: int) -> None:
        self.method = method
        self.seats = seats


class _Candidate:
    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.ballot_name = name


CANDIDATES = [_Candidate(i, f"Candidate {i}") for i in (11, 12, 13, 14)]


@FUZZ
@given(
    st.sampled_from([CountMethod.stv, CountMethod.plurality]),
    st.integers(1, 3),
    st.lists(st.tuples(st.text(max_size=4), st.text(max_size=6)), max_size=6),
    st.lists(st.text(max_size=4), max_size=5),
)
def test_any_marks_on_the_ballot_form(
    method: CountMethod, seats: int, preferences: list[tuple[str, str]], choices: list[str]
) -> None:
    """Whatever a browser sends, the marks are read as a valid ranking of the contest's
    candidates or refused with a message for the voter."""
    try:
        ranking = ranking_from_marks(_Contest(method, seats), CANDIDATES, preferences, choices)
    except InvalidBallot as problem:
        _message(problem)
    else:
        ids = {c.id for c in CANDIDATES}
        assert ranking and set(ranking) <= ids and len(set(ranking)) == len(ranking)
        if method == CountMethod.plurality:
            assert len(ranking) <= seats
