"""Ballot files: BLT (OpenSTV / OpaVote) read and written, PrefLib ``.soi`` / ``.toi`` read.

BLT::

    <candidates> <seats>
    [-i -j …]                       optional: withdrawn candidates, negated
    <weight> <c1> <c2> … 0          one line per ballot (or per identical group of ballots)
    …
    0
    "Name of candidate 1"           one line per candidate: quoted, bare, or
    …                               # ALTERNATIVE NAME 1: Name   (files converted from PrefLib)
    "Title"

The file is UTF-8 (a byte-order mark is ignored); lines may end in CRLF and carry trailing
spaces; names may be quoted CSV-style (``""`` for a quote inside). Equal rankings (``2=3``
in BLT, ``{2,3}`` in PrefLib) are read and refused: a ``Profile`` holds strict orders only, so
no rule set here can count them. Skipped ranks (``-``) are refused. Every refusal is a
``BallotFileError`` naming the line and column (both 1-based).

Files are read a block at a time, and the ballot lines are aggregated as they arrive: identical
lines are counted in a dictionary keyed by the line's bytes (in C, with no Python per line),
and each distinct line is parsed once. A million ballot lines have at most a few hundred
thousand distinct ones, and real files have a few thousand.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from assembly.counting.ballots import BallotError, Candidate, Profile, Weight

__all__ = [
    "BallotFile",
    "BallotFileError",
    "EqualRankingsError",
    "read_ballot_file",
    "read_blt",
    "read_preflib",
    "write_blt",
]

#: Bytes read from a file at a time.
BLOCK = 1 << 20
_BOM = b"\xef\xbb\xbf"
#: The line ``0`` that closes a BLT file's ballots (surrounding blanks and a CR allowed).
_END = re.compile(rb"^[ \t\f\v]*0[ \t\f\v\r]*$", re.MULTILINE)
#: Candidate numbers the fast path knows, and the digits of a weight it reads.
_FAST = 10_000
_DIGITS = 18
_BLANKS = (b" ", b"\t", b"\f", b"\v")
_TOKEN = re.compile(rb"\S+")
_ALTERNATIVE = re.compile(rb"#\s*ALTERNATIVE\s+NAME\s+(\S+?)\s*:")


@dataclass(frozen=True)
class BallotFile:
    """What a ballot file holds: the profile, and the seats and title if it says them."""

    profile: Profile
    seats: int | None
    title: str


class BallotFileError(BallotError):
    """A ballot file that cannot be read; the message names the file, line and column."""

    def __init__(self, name: str, line: int, column: int, reason: str) -> None:
        super().__init__(f"{name}, line {line}, column {column}: {reason}")
        self.name = name
        self.line = line
        self.column = column
        self.reason = reason


class EqualRankingsError(BallotFileError):
    """A ballot ranks two or more candidates equally.

    Profiles hold strict orders, so none of the rule sets here can count such a ballot; a rule
    set that can would need profiles that hold equal rankings.
    """


# -- reading lines a block at a time -------------------------------------------------------------


class _Lines:
    """A file's lines, read a block at a time: handed out one by one (header, names) or as a
    chunk of whole lines at once (ballots). ``number`` is the number of the last line handed out."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self._blocks = iter(blocks)
        self._data = b""  # whole lines, each ending in b"\n", from self._at on
        self._at = 0
        self._carry = b""  # the start of a line whose end is not read yet
        self._start = True
        self._bare_cr = False  # lines end in a lone "\r" (classic Mac OS): read as "\n"
        self.number = 0

    def _more(self) -> bool:
        """Buffer at least one more whole line; False at the end of the file."""
        while True:
            block = next(self._blocks, None)
            if block is None:
                if not self._carry:
                    return False
                pending, self._carry = self._carry + b"\n", b""  # a last line with no line end
            else:
                if self._start and not self._carry and b"\n" not in block and b"\r" in block:
                    self._bare_cr = True
                if self._bare_cr:
                    block = block.replace(b"\r", b"\n")
                pending = self._carry + block
                cut = pending.rfind(b"\n") + 1
                pending, self._carry = pending[:cut], pending[cut:]
                if not pending:
                    continue
            if self._start:
                pending = pending.removeprefix(_BOM)
                self._start = False
            self._data, self._at = pending, 0
            return True

    def next_line(self) -> bytes | None:
        """Return the next line without its line end, or None at the end of the file."""
        end = self._data.find(b"\n", self._at)
        if end < 0:
            if not self._more():
                return None
            end = self._data.find(b"\n")
        line = self._data[self._at : end]
        self._at = end + 1
        self.number += 1
        return line

    def next_text_line(self) -> bytes | None:
        """Return the next line that is not blank, or None at the end of the file."""
        while (line := self.next_line()) is not None:
            if line.strip():
                return line
        return None

    def unread(self, line: bytes) -> None:
        """Put back the line just handed out."""
        self._data = line + b"\n" + self._data[self._at :]
        self._at = 0
        self.number -= 1

    def chunk(self) -> bytes | None:
        """Return the buffered whole lines (each ending in ``\\n``), or None at the end; the
        caller adds the lines it uses to ``number`` and gives the rest back."""
        if self._at >= len(self._data) and not self._more():
            return None
        chunk = self._data[self._at :] if self._at else self._data
        self._data, self._at = b"", 0
        return chunk

    def give_back(self, rest: bytes) -> None:
        """Put back the unused end of the last chunk."""
        self._data, self._at = rest, 0


#: Opens a file's bytes, a block at a time (again if a refusal needs a line number).
_Source = Callable[[], Iterable[bytes]]


def _file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        yield from iter(partial(file.read, BLOCK), b"")


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data


# -- positions and messages ----------------------------------------------------------------------


def _column(line: bytes, offset: int) -> int:
    """The 1-based column, in characters, of the byte at ``offset`` in ``line``."""
    return len(line[:offset].decode("utf-8", "replace")) + 1


def _shown(token: bytes) -> str:
    return token.decode("utf-8", "replace")


def _decode(line: bytes, name: str, number: int) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BallotFileError(
            name, number, _column(line, error.start), f"not UTF-8 (byte {line[error.start]:#04x})"
        ) from None


def _tokens(line: bytes) -> list[tuple[int, bytes]]:
    """The line's tokens with the column of each."""
    return [(_column(line, m.start()), m.group()) for m in _TOKEN.finditer(line)]


def _name(line: bytes, name: str, number: int) -> str:
    text = _decode(line, name, number).strip()
    if text.startswith('"'):
        try:
            row = next(csv.reader([text], skipinitialspace=True))
        except (csv.Error, StopIteration):
            raise BallotFileError(name, number, 1, f"badly quoted name: {text!r}") from None
        return " ".join(part for part in row if part)
    return text


def _equal_rankings(text: str) -> str:
    return (
        f"equal rankings ({text}) cannot be counted: the rule sets here count ballots that rank"
        " candidates in strict order"
    )


class _Refusal(Exception):
    """What is wrong with a distinct line, and where in it; the reader finds the line."""

    def __init__(self, column: int, reason: str, *, equal: bool = False) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.equal = equal

    def at(self, name: str, number: int) -> BallotFileError:
        kind = EqualRankingsError if self.equal else BallotFileError
        return kind(name, number, self.column, self.reason)


#: Turns a refusal of a distinct line into the error naming the line's first occurrence.
_Refuse = Callable[[bytes, _Refusal], BallotFileError]


def _locate(source: _Source, after: int, key: bytes) -> int:
    """Return the number of the first line after line ``after`` that is ``key``: the file is
    read again, because only a refusal needs a line number."""
    lines = _Lines(source())
    number = 0
    while (chunk := lines.chunk()) is not None:
        rows = chunk.split(b"\n")
        rows.pop()
        start = max(0, after - number)
        try:
            return number + rows.index(key, start) + 1
        except ValueError:
            number += len(rows)
    return after + 1  # not reached: the key came from the file


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's ballots are read.

    Reading makes hundreds of thousands of small tuples and lists, none in a cycle; the
    collector would walk them again and again as they accumulate.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- BLT -----------------------------------------------------------------------------------------


def _whole_number(token: bytes) -> int | None:
    try:
        return int(token)
    except ValueError:
        return None


def _header(lines: _Lines, name: str) -> tuple[int, int]:
    line = lines.next_text_line()
    if line is None:
        raise BallotFileError(name, lines.number + 1, 1, "the file is empty")
    values = []
    for column, token in _tokens(line):
        value = _whole_number(token)
        if value is None or value < 1:
            raise BallotFileError(
                name,
                lines.number,
                column,
                f"{_shown(token)!r}: the first line must be '<candidates> <seats>'",
            )
        values.append(value)
    if len(values) != 2:
        raise BallotFileError(
            name, lines.number, 1, "the first line must be '<candidates> <seats>'"
        )
    return values[0], values[1]


def _withdrawn(lines: _Lines, n: int, name: str) -> frozenset[int]:
    line = lines.next_text_line()
    if line is None or not line.lstrip().startswith(b"-"):
        if line is not None:
            lines.unread(line)
        return frozenset()
    withdrawn = set()
    for column, token in _tokens(line):
        value = _whole_number(token)
        if value is None or not -n <= value <= -1:
            raise BallotFileError(
                name,
                lines.number,
                column,
                f"withdrawn candidate {_shown(token)!r} does not exist (-1 to -{n})",
            )
        withdrawn.add(-value - 1)
    return frozenset(withdrawn)


def _closing_line(chunk: bytes) -> re.Match[bytes] | None:
    """Find the line ``0`` that closes the ballots in a chunk of whole lines."""
    if chunk.startswith(_BLANKS) or any(b"\n" + blank in chunk for blank in _BLANKS):
        return _END.search(chunk)  # some line starts with a blank: look at every line
    # Otherwise only a line that starts with 0 can be the one (a weight of 0 is rare).
    if chunk.startswith(b"0") and (match := _END.match(chunk)):
        return match
    at = chunk.find(b"\n0")
    while at >= 0:
        if match := _END.match(chunk, at + 1):
            return match
        at = chunk.find(b"\n0", at + 1)
    return None


def _ballot_line(line: bytes, n: int) -> tuple[tuple[int, ...], int]:
    """Parse a ballot line that the fast path did not take, or say what is wrong with it.

    :raises _Refusal: the column and the reason.
    """
    tokens = _tokens(line)
    column, token = tokens[0]
    weight = _whole_number(token)
    if weight is None:
        raise _Refusal(column, f"the weight {_shown(token)!r} is not a whole number")
    if weight < 0:
        raise _Refusal(column, "the weight must not be negative")
    if len(tokens) < 2 or tokens[-1][1] != b"0":
        raise _Refusal(
            len(line.rstrip().decode("utf-8", "replace")) + 1,
            "a ballot line is '<weight> <c1> <c2> … 0': it must end with 0",
        )
    ranking: list[int] = []
    for column, token in tokens[1:-1]:
        parts = token.split(b"=")
        for part in parts:
            if part in (b"-", b""):
                what = "a skipped rank ('-')" if part else "an empty equal ranking"
                raise _Refusal(column, f"{what} is not allowed")
            value = _whole_number(part)
            if value is None:
                raise _Refusal(column, f"{_shown(part)!r} is not a candidate number")
            if not 1 <= value <= n:
                raise _Refusal(column, f"candidate {value} does not exist (1–{n})")
            if value - 1 in ranking:
                raise _Refusal(column, f"candidate {value} is ranked more than once")
            ranking.append(value - 1)
        if len(parts) > 1:
            raise _Refusal(column, _equal_rankings(_shown(token)), equal=True)
    return tuple(ranking), weight


def _blt_lines(lines: _Lines, name: str) -> Counter[bytes]:
    """Count the distinct ballot lines up to the closing ``0``."""
    counts: Counter[bytes] = Counter()
    while True:
        chunk = lines.chunk()
        if chunk is None:
            raise BallotFileError(
                name, lines.number + 1, 1, "the file ends early: no line '0' after the ballots"
            )
        end = _closing_line(chunk)
        rows = (chunk if end is None else chunk[: end.start()]).split(b"\n")
        rows.pop()  # what follows the last line end: nothing
        counts.update(rows)  # in C: no Python per line
        lines.number += len(rows)
        if end is not None:
            lines.number += 1
            lines.give_back(chunk[end.end() + 1 :])
            return counts


def _blt_rankings(
    counts: Counter[bytes], n: int, withdrawn: frozenset[int], refuse: _Refuse
) -> tuple[dict[tuple[int, ...], int], int]:
    """Parse each distinct ballot line once: the weight of each ranking, and the blank papers."""
    # Candidates past _FAST (an unlikely ballot paper) take the slow path, which checks them.
    take = {str(i + 1).encode(): i for i in range(min(n, _FAST))}.__getitem__
    ballots: dict[tuple[int, ...], int] = {}
    blank = 0
    for key, times in counts.items():
        # The fast path: "<weight> <c1> … 0" with candidates written 1…n, none twice.
        tokens = key.split()
        try:
            weight_token, last = tokens[0], tokens[-1]
            ranking = tuple(map(take, tokens[1:-1]))
        except (IndexError, KeyError):
            weight_token, last, ranking = b"", b"", ()
        if (
            last == b"0"
            and weight_token.isdigit()
            and len(weight_token) <= _DIGITS
            and len(set(ranking)) == len(ranking)
        ):
            weight = int(weight_token)
        elif not tokens:
            continue  # a blank line
        else:
            try:
                ranking, weight = _ballot_line(key, n)
            except _Refusal as refusal:
                raise refuse(key, refusal) from None
        if withdrawn:
            ranking = tuple(i for i in ranking if i not in withdrawn)
        if not weight:
            continue
        if ranking:
            ballots[ranking] = ballots.get(ranking, 0) + weight * times
        else:
            blank += weight * times
    return ballots, blank


def _blt_names(lines: _Lines, n: int, name: str) -> list[str]:
    names: dict[int, str] = {}  # not a list of n: the header's n is not yet borne out
    for position in range(n):
        line = lines.next_text_line()
        if line is None:
            raise BallotFileError(
                name,
                lines.number + 1,
                1,
                f"the file ends early: {n} candidates but {position} name lines",
            )
        stripped = line.lstrip()
        match = _ALTERNATIVE.match(stripped)
        slot = position
        if match:
            value = _whole_number(match.group(1))
            if value is None or not 1 <= value <= n:
                column = _column(line, len(line) - len(stripped) + match.start(1))
                raise BallotFileError(
                    name,
                    lines.number,
                    column,
                    f"candidate {_shown(match.group(1))!r} does not exist (1–{n})",
                )
            slot = value - 1
            line = stripped[match.end() :]
        if slot in names:
            raise BallotFileError(name, lines.number, 1, f"candidate {slot + 1} is named twice")
        names[slot] = _name(line, name, lines.number)
    return [names[i] for i in range(n)]


def _read_blt(source: _Source, name: str) -> BallotFile:
    lines = _Lines(source())
    n, seats = _header(lines, name)
    withdrawn = _withdrawn(lines, n, name)
    after = lines.number
    with _collector_paused():
        counts = _blt_lines(lines, name)
        ballots, blank = _blt_rankings(
            counts, n, withdrawn, lambda key, refusal: refusal.at(name, _locate(source, after, key))
        )
    names = _blt_names(lines, n, name)
    title_line = lines.next_text_line()
    title = "" if title_line is None else _name(title_line, name, lines.number)
    candidates = tuple(Candidate(str(i + 1), names[i]) for i in range(n))
    rankings: tuple[tuple[tuple[int, ...], Weight], ...] = tuple(ballots.items())
    profile = Profile(candidates=candidates, rankings=rankings, blank=blank, withdrawn=withdrawn)
    return BallotFile(profile, seats, title)


def read_blt(data: bytes | str, name: str = "BLT file") -> BallotFile:
    """Read a BLT ballot file.

    :raises BallotFileError: with the line, the column and what is wrong.
    """
    block = _as_bytes(data)
    return _read_blt(lambda: [block], name)


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


# -- PrefLib -------------------------------------------------------------------------------------


def _preflib_header(lines: _Lines, name: str) -> tuple[dict[int, str], str]:
    names: dict[int, str] = {}
    title = ""
    while (line := lines.next_line()) is not None:
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(b"#"):
            lines.unread(line)
            break
        key, _, value = _decode(line, name, lines.number).strip()[1:].partition(":")
        key = key.strip()
        if key.startswith("ALTERNATIVE NAME"):
            number = _whole_number(key.rsplit(" ", 1)[1].encode())
            if number is None:
                raise BallotFileError(name, lines.number, 1, "a bad '# ALTERNATIVE NAME i:' line")
            names[number] = value.strip()
        elif key == "TITLE":
            title = value.strip()
    if not names:
        raise BallotFileError(
            name, lines.number + 1, 1, "no '# ALTERNATIVE NAME i: …' lines before the rankings"
        )
    return names, title


def _preflib_line(line: bytes, index: dict[int, int]) -> tuple[tuple[int, ...], int] | None:
    """Parse a PrefLib line ``<count>: a,b,c`` that the fast path did not take (None for a
    comment), or say what is wrong with it.

    :raises _Refusal: the column and the reason.
    """
    if line.lstrip().startswith(b"#"):
        if _ALTERNATIVE.match(line.lstrip()):
            raise _Refusal(1, "'# ALTERNATIVE NAME' lines must come before the rankings")
        return None
    count_text, colon, ranking_text = line.partition(b":")
    if not colon:
        raise _Refusal(1, "expected '<count>: <a>,<b>,…'")
    count = _whole_number(count_text)
    if count is None or count < 0:
        column = _column(line, len(count_text) - len(count_text.lstrip()))
        raise _Refusal(column, f"{_shown(count_text.strip())!r} is not a count")
    ranking: list[int] = []
    offset = len(count_text) + 1
    group = 0  # the column where an open {…} starts
    for token in ranking_text.split(b","):
        column = _column(line, offset + len(token) - len(token.lstrip()))
        offset += len(token) + 1
        text = token.strip()
        if text.startswith(b"{"):
            group = column
            text = text[1:].strip()
        closes = text.endswith(b"}")
        text = text.removesuffix(b"}").strip()
        if text:
            alternative = _whole_number(text)
            if alternative is None:
                raise _Refusal(column, f"{_shown(text)!r} is not an alternative number")
            if alternative not in index:
                raise _Refusal(column, f"alternative {alternative} is not named")
            if index[alternative] in ranking:
                raise _Refusal(column, f"alternative {alternative} is ranked more than once")
            ranking.append(index[alternative])
        if group and closes:
            shown = ranking_text.decode("utf-8", "replace").strip()
            raise _Refusal(group, _equal_rankings(shown), equal=True)
    if group:
        raise _Refusal(group, "'{' is not closed")
    return tuple(ranking), count


def _preflib_lines(lines: _Lines) -> Counter[bytes]:
    counts: Counter[bytes] = Counter()
    while (chunk := lines.chunk()) is not None:
        rows = chunk.split(b"\n")
        rows.pop()
        counts.update(rows)
        lines.number += len(rows)
    return counts


def _preflib_rankings(
    counts: Counter[bytes], index: dict[int, int], refuse: _Refuse
) -> tuple[dict[tuple[int, ...], int], int]:
    take = {str(alternative).encode(): i for alternative, i in index.items()}.__getitem__
    ballots: dict[tuple[int, ...], int] = {}
    blank = 0
    for key, times in counts.items():
        # The fast path: "<count>: a,b,c" naming alternatives, none twice.
        count_text, _, ranking_text = key.partition(b":")
        try:
            ranking = tuple(map(take, ranking_text.replace(b" ", b"").strip().split(b",")))
        except KeyError:
            count_text, ranking = b"", ()
        if (
            count_text.strip().isdigit()
            and len(count_text) <= _DIGITS
            and len(set(ranking)) == len(ranking)
        ):
            count = int(count_text)
        elif not key.strip():
            continue
        else:
            try:
                parsed = _preflib_line(key, index)
            except _Refusal as refusal:
                raise refuse(key, refusal) from None
            if parsed is None:
                continue
            ranking, count = parsed
        if not count:
            continue
        if ranking:
            ballots[ranking] = ballots.get(ranking, 0) + count * times
        else:
            blank += count * times
    return ballots, blank


def _read_preflib(source: _Source, name: str) -> BallotFile:
    lines = _Lines(source())
    names, title = _preflib_header(lines, name)
    after = lines.number
    order = sorted(names)
    index = {alternative: i for i, alternative in enumerate(order)}
    with _collector_paused():
        counts = _preflib_lines(lines)
        ballots, blank = _preflib_rankings(
            counts, index, lambda key, refusal: refusal.at(name, _locate(source, after, key))
        )
    candidates = tuple(Candidate(str(a), names[a]) for a in order)
    rankings: tuple[tuple[tuple[int, ...], Weight], ...] = tuple(ballots.items())
    return BallotFile(Profile(candidates=candidates, rankings=rankings, blank=blank), None, title)


def read_preflib(data: bytes | str, name: str = "PrefLib file") -> BallotFile:
    """Read a PrefLib ``.soi`` (strict, incomplete) or ``.toi`` file without ties.

    :raises BallotFileError: with the line, the column and what is wrong.
    """
    block = _as_bytes(data)
    return _read_preflib(lambda: [block], name)


def read_ballot_file(path: str | Path) -> BallotFile:
    """Read a ballot file a block at a time, choosing the format by its extension (.blt, .soi,
    .toi; anything else is read as BLT).

    :raises BallotError: the file cannot be read (a ``BallotFileError`` names the line).
    """
    path = Path(path)
    reader = _read_preflib if path.suffix.lower() in {".soi", ".toi"} else _read_blt
    try:
        return reader(lambda: _file_blocks(path), path.name)
    except OSError as error:
        raise BallotError(f"{path}: {error.strerror or error}") from None
