"""Ballot files as real ones are written: the BLT variants, PrefLib, streaming, and refusals that
name the line and column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.counting import Candidate, Profile, build_profile, count_stv, formats
from assembly.counting.formats import (
    BallotFile,
    BallotFileError,
    EqualRankingsError,
    read_ballot_file,
    read_blt,
    read_preflib,
    write_blt,
)

PLAIN = "3 1\n2 1 2 0\n1 3 0\n0\nAnn\nBob\nCy\nTitle\n"


def _refusal(
    text: str | bytes, reader: Callable[[str | bytes, str], BallotFile] = read_blt
) -> BallotFileError:
    with pytest.raises(BallotFileError) as caught:
        reader(text, "test.blt")
    return caught.value


# --- the BLT variants real files use ------------------------------------------------------------


def test_identical_ballot_lines_are_aggregated() -> None:
    """Unaggregated lines (one per paper) and weighted lines add up to one weight per ranking."""
    text = "3 1\n1 1 2 0\n1 3 0\n1 1 2 0\n2 1 2 0\n1 3 0\n1 0\n0\nA\nB\nC\n"
    profile = read_blt(text).profile
    assert dict(profile.rankings) == {(0, 1): 4, (2,): 2}
    assert (profile.valid, profile.blank) == (6, 1)


def test_unquoted_names_and_title_are_read_as_they_stand() -> None:
    """Bare name lines keep their inner quotes, brackets and spaces (trailing blanks go)."""
    text = '2 1\n1 1 0\n0\nAnn "The Ace" SMITH (Ind)  \nBob, Jr\nWard 3 - North  \n'
    blt = read_blt(text)
    assert [c.name for c in blt.profile.candidates] == ['Ann "The Ace" SMITH (Ind)', "Bob, Jr"]
    assert blt.title == "Ward 3 - North"


def test_alternative_name_comment_lines_name_the_candidates() -> None:
    """Files converted from PrefLib name candidates '# ALTERNATIVE NAME i: …', in any order."""
    text = (
        "3 2\n4 2 1 0\n0\n"
        "# ALTERNATIVE NAME 2: Bob Jones (Lab)\n"
        "# ALTERNATIVE NAME 1: Ann Smith (SNP)\n"
        "#ALTERNATIVE NAME 3 :Cy\n"
        "Calton ward\n"
    )
    blt = read_blt(text)
    assert [(c.id, c.name) for c in blt.profile.candidates] == [
        ("1", "Ann Smith (SNP)"),
        ("2", "Bob Jones (Lab)"),
        ("3", "Cy"),
    ]
    assert blt.title == "Calton ward"


def test_crlf_files_read_as_their_lf_twins() -> None:
    """CRLF line ends (all, or some lines only) give exactly the profile of the LF file."""
    lf = read_blt(PLAIN)
    assert read_blt(PLAIN.replace("\n", "\r\n")) == lf
    mixed = "3 1\r\n2 1 2 0\n1 3 0\r\n0\r\nAnn\nBob\r\nCy\nTitle\r\n"
    assert read_blt(mixed) == lf


def test_bare_cr_files_read_as_their_lf_twins(tmp_path) -> None:
    """Lines ending in a lone CR (classic Mac OS) read as the LF file, from text and from a
    file read a block at a time."""
    lf = read_blt(PLAIN)
    assert read_blt(PLAIN.replace("\n", "\r")) == lf
    path = tmp_path / "mac.blt"
    path.write_bytes(PLAIN.replace("\n", "\r").encode())
    assert read_ballot_file(path).profile == lf.profile


def test_crlf_and_lf_copies_of_a_line_are_one_ranking() -> None:
    """The same ballot line with and without a CR is still one ranking with both weights."""
    profile = read_blt("2 1\n1 1 2 0\r\n1 1 2 0\n3 1 2 0 \n0\nA\nB\n").profile
    assert profile.rankings == (((0, 1), 5),)


def test_withdrawn_candidates_reach_the_profile() -> None:
    """'-2 -5' after the header withdraws candidates 2 and 5: recorded, and skipped on papers."""
    text = "5 2\n-2 -5\n3 2 1 0\n2 5 0\n1 5 2 3 0\n0\nA\nB\nC\nD\nE\nT\n"
    profile = read_blt(text).profile
    assert profile.withdrawn == {1, 4}
    assert dict(profile.rankings) == {(0,): 3, (2,): 1}
    assert profile.blank == 2
    assert tuple(count_stv(profile, 2).withdrawn) == ("2", "5")


def test_bom_blank_lines_indented_zero_and_no_last_line_end() -> None:
    """A byte-order mark, blank lines anywhere, an indented closing '0' and a title with no
    line end are all accepted."""
    text = "\ufeff\n3 1\n\n2 1 2 0\n\n1 3 0\n  0 \n\nAnn\n\nBob\nCy\nTitle"
    assert read_blt(text.encode("utf-8")) == read_blt(PLAIN)


def test_equal_rankings_are_read_and_refused_with_their_place() -> None:
    """'1 2=3 4 0' is read, and refused at the '2=3': no rule set here counts equal rankings."""
    error = _refusal("4 1\n1 1 2 0\n1 1 2=3 4 0\n0\nA\nB\nC\nD\n")
    assert isinstance(error, EqualRankingsError)
    assert (error.line, error.column) == (3, 5)
    assert str(error) == (
        "test.blt, line 3, column 5: equal rankings (2=3) cannot be counted: the rule sets here"
        " count ballots that rank candidates in strict order"
    )


def test_preflib_ties_are_refused_with_their_place() -> None:
    """A .toi line '4: 1,{2,3}' is refused at the '{', as an equal ranking."""
    text = "# ALTERNATIVE NAME 1: Ann\n# ALTERNATIVE NAME 2: Bob\n# ALTERNATIVE NAME 3: Cy\n"
    error = _refusal(text + "2: 3,1\n4: 1,{2,3}\n", read_preflib)
    assert isinstance(error, EqualRankingsError)
    assert (error.line, error.column) == (5, 6)
    assert "equal rankings (1,{2,3}) cannot be counted" in str(error)


# --- refusals name the line and the column ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("", 1, 1, "the file is empty"),
        ("two one\n", 1, 1, "'two': the first line must be '<candidates> <seats>'"),
        ("3\n", 1, 1, "the first line must be '<candidates> <seats>'"),
        ("3 0\n", 1, 3, "'0': the first line must be"),
        ("3 1\n-1 -4\n0\nA\nB\nC\n", 2, 4, "withdrawn candidate '-4' does not exist (-1 to -3)"),
        ("3 1\n1 1 2 0\n1 1 4 0\n0\nA\nB\nC\n", 3, 5, "candidate 4 does not exist (1–3)"),
        ("3 1\n1 1 2 0\n1  2 1 2 0\n0\nA\nB\nC\n", 3, 8, "candidate 2 is ranked more than once"),
        ("3 1\n1 1 2 0\n1 1 2\n0\nA\nB\nC\n", 3, 6, "it must end with 0"),
        ("3 1\nx 1 0\n0\nA\nB\nC\n", 2, 1, "the weight 'x' is not a whole number"),
        ("3 1\n1 1 0\n-1 2 0\n0\nA\nB\nC\n", 3, 1, "the weight must not be negative"),
        ("3 1\n1 1 x 0\n0\nA\nB\nC\n", 2, 5, "'x' is not a candidate number"),
        ("3 1\n1 1 - 2 0\n0\nA\nB\nC\n", 2, 5, "a skipped rank ('-') is not allowed"),
        ("3 1\n1 1=1 0\n0\nA\nB\nC\n", 2, 3, "candidate 1 is ranked more than once"),
        ("3 1\n1 1 0\n", 3, 1, "no line '0' after the ballots"),
        ("3 1\n1 1 0\n0\nA\nB\n", 6, 1, "3 candidates but 2 name lines"),
        ("2 1\n1 1 0\n0\n# ALTERNATIVE NAME 3: C\nB\n", 4, 20, "candidate '3' does not exist"),
        ("2 1\n1 1 0\n0\nB\n# ALTERNATIVE NAME 1: A\n", 5, 1, "candidate 1 is named twice"),
        (b"2 1\n1 1 0\n0\nAnn\nB\xc3\xa9\xff\n", 5, 3, "not UTF-8 (byte 0xff)"),
    ],
)
def test_every_blt_refusal_names_line_and_column(
    text: str | bytes, line: int, column: int, reason: str
) -> None:
    """Unusable BLT input is refused with the file's name, the line, the column and why."""
    error = _refusal(text)
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in error.reason
    assert str(error).startswith(f"test.blt, line {line}, column {column}: ")


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("1: 1\n", 1, 1, "no '# ALTERNATIVE NAME i: …' lines"),
        ("# ALTERNATIVE NAME x: A\n", 1, 1, "a bad '# ALTERNATIVE NAME i:' line"),
        ("# ALTERNATIVE NAME 1: A\n3: 1\n1 1\n", 3, 1, "expected '<count>: <a>,<b>,…'"),
        ("# ALTERNATIVE NAME 1: A\nx: 1\n", 2, 1, "'x' is not a count"),
        ("# ALTERNATIVE NAME 1: A\n2: 1, 7\n", 2, 7, "alternative 7 is not named"),
        ("# ALTERNATIVE NAME 1: A\n2: 1,1\n", 2, 6, "alternative 1 is ranked more than once"),
        ("# ALTERNATIVE NAME 1: A\n2: 1,b\n", 2, 6, "'b' is not an alternative number"),
        ("# ALTERNATIVE NAME 1: A\n2: {1\n", 2, 4, "'{' is not closed"),
        (
            "# ALTERNATIVE NAME 1: A\n1: 1\n# ALTERNATIVE NAME 2: B\n",
            3,
            1,
            "must come before the rankings",
        ),
    ],
)
def test_every_preflib_refusal_names_line_and_column(
    text: str, line: int, column: int, reason: str
) -> None:
    """Unusable PrefLib input is refused with the line, the column and why."""
    error = _refusal(text, read_preflib)
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in error.reason


def test_a_refusal_names_the_first_line_that_has_the_problem() -> None:
    """A bad line repeated many times is reported where it first occurs."""
    text = "2 1\n" + "1 1 2 0\n" * 50 + "1 2 9 0\n" + "1 1 0\n" * 10 + "1 2 9 0\n0\nA\nB\n"
    error = _refusal(text)
    assert (error.line, error.column) == (52, 5)


# --- streaming ------------------------------------------------------------------------------------


def test_a_file_read_in_tiny_blocks_reads_as_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks that split lines, CRLFs and the byte-order mark anywhere change nothing."""
    text = (
        "\ufeff4 2\r\n-4\r\n"
        + "1 1 2 0\r\n" * 7
        + "2 3 0\r\n1 2 4 3 0\r\n 0\r\n"
        + '"Ann"\r\n# ALTERNATIVE NAME 2: Bob\r\nCy\r\nDan\r\nThe title'
    )
    path = tmp_path / "tiny.blt"
    path.write_bytes(text.encode("utf-8"))
    whole = read_blt(text)
    for size in (1, 2, 3, 5, 7, 64):
        monkeypatch.setattr(formats, "BLOCK", size)
        streamed = read_ballot_file(path)
        assert streamed == whole
    assert dict(whole.profile.rankings) == {(0, 1): 7, (2,): 2, (1, 2): 1}
    assert [c.name for c in whole.profile.candidates] == ["Ann", "Bob", "Cy", "Dan"]


def test_a_refusal_in_a_later_block_names_the_right_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line of a refusal is counted across blocks (the file is read again to find it)."""
    path = tmp_path / "late.blt"
    path.write_text("2 1\n" + "1 1 2 0\n" * 300 + "1 1 3 0\n0\nA\nB\n")
    monkeypatch.setattr(formats, "BLOCK", 100)
    with pytest.raises(BallotFileError, match=r"late\.blt, line 302, column 5: candidate 3"):
        read_ballot_file(path)


def test_preflib_files_stream_and_aggregate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PrefLib lines are aggregated like BLT lines, whatever the block size."""
    text = "# TITLE: T\r\n# ALTERNATIVE NAME 1: Ann\r\n# ALTERNATIVE NAME 2: Bob\r\n"
    text += "2: 1,2\r\n1: 2\r\n3: 1, 2\r\n0: 2,1\r\n# a comment\r\n"
    path = tmp_path / "t.soi"
    path.write_text(text, newline="")
    monkeypatch.setattr(formats, "BLOCK", 3)
    pref = read_ballot_file(path)
    assert pref.title == "T" and pref.seats is None
    assert dict(pref.profile.rankings) == {(0, 1): 5, (1,): 1}
    assert pref.profile == read_preflib(text).profile


# --- round trip ---------------------------------------------------------------------------------

_NAME = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=12,
).map(str.strip)


@st.composite
def _profiles(draw: st.DrawFn) -> tuple[Profile, int, str]:
    n = draw(st.integers(1, 12))
    candidates = [Candidate(str(i + 1), draw(_NAME)) for i in range(n)]
    rankings = draw(
        st.dictionaries(
            st.permutations(range(n)).flatmap(
                lambda order: st.integers(0, len(order)).map(lambda k: tuple(order[:k]))
            ),
            st.integers(0, 10**6),
            max_size=20,
        )
    )
    withdrawn = draw(st.sets(st.integers(0, n - 1), max_size=n))
    return (
        build_profile(candidates, rankings, withdrawn=withdrawn),
        draw(st.integers(1, n)),
        draw(_NAME),
    )


@settings(max_examples=200, deadline=None)
@given(_profiles())
def test_write_blt_then_read_blt_gives_the_same_profile(example: tuple[Profile, int, str]) -> None:
    """Any profile written as BLT reads back as the same profile, seats and title."""
    profile, seats, title = example
    text = write_blt(profile, seats, title)
    again = read_blt(text)
    assert again.profile == profile
    assert (again.seats, again.title) == (seats, title)
    assert read_blt(text.replace("\n", "\r\n")).profile == profile
