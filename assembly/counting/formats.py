"""Ballot files: BLT (OpenSTV / OpaVote) read and written, PrefLib ``.soi`` / ``.toi`` read.

BLT::

    <candidates> <seats>
    [-i -j …]                       optional: withdrawn candidates, negated
    <weight> <c1> <c2> … 0          one line per ballot (or per identical group of ballots)
    …
    0
    "Name of candidate 1"           one line per candidate, quoted or bare
    …
    "Title"

Lines may end in CRLF and carry trailing spaces; names may be quoted CSV-style (``""`` for a
quote inside), and the file is UTF-8 (a byte-order mark is ignored). Equal rankings
(``1=2``) and skipped ranks (``-``) are refused: ballots here are strict orders.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from assembly.counting.ballots import BallotError, Candidate, Profile, build_profile

__all__ = ["BallotFile", "read_ballot_file", "read_blt", "read_preflib", "write_blt"]


@dataclass(frozen=True)
class BallotFile:
    """What a ballot file holds: the profile, and the seats and title if it says them."""

    profile: Profile
    seats: int | None
    title: str


def _text(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BallotError(f"{name}: not UTF-8 (byte {error.start})") from None


def _name(line: str) -> str:
    line = line.strip()
    if line.startswith('"'):
        try:
            row = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            raise BallotError(f"badly quoted name line: {line!r}") from None
        return " ".join(part for part in row if part)
    return line


def _ints(line: str, number: int, what: str) -> list[int]:
    values = []
    for token in line.split():
        if "=" in token:
            raise BallotError(f"line {number}: equal rankings ({token}) are not allowed")
        try:
            values.append(int(token))
        except ValueError:
            raise BallotError(f"line {number}: {what}: {token!r} is not a number") from None
    return values


def read_blt(data: bytes | str, name: str = "BLT file") -> BallotFile:
    """Read a BLT ballot file.

    :raises BallotError: with the line number and what is wrong.
    """
    lines = [line.rstrip() for line in _text(data, name).splitlines()]
    position = 0

    def next_line() -> tuple[int, str]:
        nonlocal position
        while position < len(lines):
            position += 1
            if lines[position - 1].strip():
                return position, lines[position - 1]
        raise BallotError(f"{name}: ends early (line {position})")

    number, line = next_line()
    header = _ints(line, number, "header")
    if len(header) != 2 or header[0] < 1 or header[1] < 1:
        raise BallotError(f"line {number}: the first line must be '<candidates> <seats>'")
    n, seats = header
    withdrawn: list[int] = []
    ballots: dict[tuple[int, ...], int] = {}
    number, line = next_line()
    if line.strip().startswith("-"):
        for value in _ints(line, number, "withdrawn candidates"):
            if value >= 0 or -value > n:
                raise BallotError(f"line {number}: withdrawn candidate {value} does not exist")
            withdrawn.append(-value - 1)
        number, line = next_line()
    while True:
        values = _ints(line, number, "ballot")
        if values == [0]:
            break
        if len(values) < 2 or values[-1] != 0:
            raise BallotError(f"line {number}: a ballot line is '<weight> <c1> … 0'")
        weight, ranking = values[0], values[1:-1]
        if weight < 0:
            raise BallotError(f"line {number}: the weight must not be negative")
        for value in ranking:
            if not 1 <= value <= n:
                raise BallotError(f"line {number}: candidate {value} does not exist (1–{n})")
        if len(set(ranking)) != len(ranking):
            raise BallotError(f"line {number}: a candidate is ranked more than once")
        key = tuple(v - 1 for v in ranking)
        ballots[key] = ballots.get(key, 0) + weight
        number, line = next_line()
    names = []
    for _ in range(n):
        number, line = next_line()
        names.append(_name(line))
    title = ""
    remaining = [line for line in lines[position:] if line.strip()]
    if remaining:
        title = _name(remaining[0])
    candidates = [Candidate(str(i + 1), names[i]) for i in range(n)]
    return BallotFile(build_profile(candidates, ballots, withdrawn=withdrawn), seats, title)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_blt(profile: Profile, seats: int, title: str = "") -> str:
    """Write a profile as BLT text (ids become 1…n in candidate order; LF line ends)."""
    if not profile.is_integral:
        raise BallotError("BLT holds whole-number ballot weights only")
    out = io.StringIO()
    out.write(f"{len(profile.candidates)} {seats}\n")
    if profile.withdrawn:
        out.write(" ".join(f"-{i + 1}" for i in sorted(profile.withdrawn)) + "\n")
    for ranking, weight in sorted(profile.rankings):
        out.write(" ".join([str(int(weight)), *(str(i + 1) for i in ranking), "0"]) + "\n")
    if profile.blank:
        out.write(f"{int(profile.blank)} 0\n")
    out.write("0\n")
    for candidate in profile.candidates:
        out.write(_quote(candidate.name) + "\n")
    out.write(_quote(title) + "\n")
    return out.getvalue()


def _preflib_ranking(text: str, number: int) -> list[int]:
    if "{" in text:
        raise BallotError(f"line {number}: equal rankings ({{…}}) are not allowed")
    ranking = []
    for token in text.split(","):
        token = token.strip()
        if not token:
            continue
        try:
            ranking.append(int(token))
        except ValueError:
            raise BallotError(f"line {number}: {token!r} is not a candidate number") from None
    return ranking


def read_preflib(data: bytes | str, name: str = "PrefLib file") -> BallotFile:
    """Read a PrefLib ``.soi`` (strict, incomplete) or ``.toi`` file without ties.

    :raises BallotError: with the line number and what is wrong.
    """
    names: dict[int, str] = {}
    title = ""
    ballots: dict[tuple[int, ...], int] = {}
    for number, raw in enumerate(_text(data, name).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            key = key.strip()
            if key.startswith("ALTERNATIVE NAME"):
                try:
                    names[int(key.rsplit(" ", 1)[1])] = value.strip()
                except ValueError:
                    raise BallotError(f"line {number}: bad alternative line") from None
            elif key == "TITLE":
                title = value.strip()
            continue
        count_text, colon, ranking_text = line.partition(":")
        if not colon:
            raise BallotError(f"line {number}: expected '<count>: <a>,<b>,…'")
        try:
            count = int(count_text)
        except ValueError:
            raise BallotError(f"line {number}: {count_text!r} is not a count") from None
        ranking = _preflib_ranking(ranking_text, number)
        for alternative in ranking:
            if alternative not in names:
                raise BallotError(f"line {number}: alternative {alternative} is not named")
        order_key = tuple(ranking)
        ballots[order_key] = ballots.get(order_key, 0) + count
    if not names:
        raise BallotError(f"{name}: no '# ALTERNATIVE NAME' lines")
    order = sorted(names)
    index = {alternative: i for i, alternative in enumerate(order)}
    candidates = [Candidate(str(a), names[a]) for a in order]
    profile = build_profile(candidates, {tuple(index[a] for a in r): w for r, w in ballots.items()})
    return BallotFile(profile, None, title)


def read_ballot_file(path: str | Path) -> BallotFile:
    """Read a ballot file, choosing the format by its extension (.blt, .soi, .toi)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BallotError(f"{path}: {error.strerror or error}") from None
    suffix = path.suffix.lower()
    if suffix in {".soi", ".toi"}:
        return read_preflib(data, path.name)
    return read_blt(data, path.name)
