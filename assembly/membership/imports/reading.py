"""Reading roster files: the size limit, the encoding, the delimiter, the header and a
source's column mapping; and rows given as objects (the JSON API).

A roster is a CSV file (or, from the API, a list of objects) listing the people of one
constituency. The default header is ``external_id,given_name,family_name,email,date_of_birth,
postcode``; a source's column mapping renames them (``{"external_id": "Staff number"}``);
other columns are ignored. Each row is checked on its own by ``rows.parse_row``. Nothing here
touches the database.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from assembly.membership.imports.rows import FIELDS, REQUIRED, RosterRow, RowProblem, parse_row

__all__ = [
    "MAX_BYTES",
    "RosterFile",
    "RosterFileError",
    "RosterReader",
    "open_roster",
    "parse_csv",
    "parse_records",
]

#: The largest roster file accepted (a 100,000-row roster is about 8 MB).
MAX_BYTES = 64 * 1024 * 1024


class RosterFileError(ValueError):
    """The file as a whole cannot be read (encoding, size, header); nothing is imported."""


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


@dataclass(frozen=True, slots=True)
class RosterFile:
    """An opened roster file: its text (to read once), SHA-256 and number of lines."""

    text: io.TextIOWrapper
    sha256: str
    lines: int


def open_roster(handle: BinaryIO, *, max_bytes: int = MAX_BYTES) -> RosterFile:
    """Open a roster file for reading as text: UTF-8 (with or without BOM) or Windows-1252.

    The file is read once, a megabyte at a time, to choose the encoding, hash it and count
    its lines; nothing is held in memory.

    :param handle: a seekable binary file.
    :raises RosterFileError: too large, empty, binary, or in neither encoding.
    """
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if size > max_bytes:
        raise RosterFileError(
            f"The file is {size / 1_048_576:.1f} MB; the largest roster accepted is "
            f"{max_bytes // 1_048_576} MB. Split it, or use the API."
        )
    head = handle.read(8192)
    if not head.strip():
        raise RosterFileError("The file is empty.")
    if _looks_binary(head):
        raise RosterFileError("The file is not a CSV text file (it looks like a binary file).")
    handle.seek(0)
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    lines = 0
    while block := handle.read(1 << 20):
        digest.update(block)
        lines += block.count(b"\n")
        if is_utf8:
            try:
                utf8.decode(block)
            except UnicodeDecodeError:
                is_utf8 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    encoding = "utf-8-sig" if is_utf8 else "cp1252"
    if not is_utf8:
        try:
            sample = head.decode("cp1252")
        except UnicodeDecodeError:
            raise RosterFileError(
                "The file is neither UTF-8 nor Windows-1252 text. Save it as 'CSV UTF-8'."
            ) from None
        if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in sample):
            raise RosterFileError("The file is not a CSV text file (it has control characters).")
    handle.seek(0)
    # Bytes that Windows-1252 leaves undefined surface as a clear error while reading.
    text = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
    return RosterFile(text, digest.hexdigest(), max(lines, 1))


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


class RosterReader:
    """The rows of a roster CSV, read one at a time (a million rows in constant memory).

    The header is read when the reader is made: a missing required column is refused
    before any row is looked at. Iterating yields a ``RosterRow`` or a ``RowProblem`` per
    non-blank line, in file order; ``line`` is the line reached. Duplicate external ids are
    the planner's to find (it sees the whole file).

    :param mapping: field → column header, for sources whose headers differ from the default.
    :raises RosterFileError: the header lacks a required column, or the CSV is malformed.
    """

    def __init__(self, text: TextIO, mapping: Mapping[str, str] | None = None) -> None:
        mapping = {field: (mapping or {}).get(field, field) for field in FIELDS}
        try:
            sample = text.read(16384)
            text.seek(0)
        except UnicodeDecodeError:
            raise _undecodable() from None
        self._reader = csv.reader(text, _sniff(sample))
        try:
            header = next(self._reader)
        except StopIteration:
            raise RosterFileError("The file is empty.") from None
        except csv.Error as error:
            raise RosterFileError(f"The header line cannot be read: {error}") from None
        except UnicodeDecodeError:
            raise _undecodable() from None
        header = [h.strip().lstrip("\ufeff") for h in header]
        lookup = {h.lower(): i for i, h in enumerate(header)}
        self._positions: dict[str, int] = {}
        for field, column in mapping.items():
            index = lookup.get(column.lower())
            if index is not None:
                self._positions[field] = index
        missing = [mapping[f] for f in REQUIRED if f not in self._positions]
        if missing:
            raise RosterFileError(
                f"The header has no column {', '.join(repr(m) for m in missing)}. Expected "
                "columns: "
                + ",".join(mapping[f] for f in FIELDS)
                + f". Found: {','.join(header)[:200]}"
            )

    @property
    def line(self) -> int:
        return self._reader.line_num

    def __iter__(self) -> Iterator[RosterRow | RowProblem]:
        reader, positions = self._reader, self._positions
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                yield parse_row(
                    reader.line_num,
                    {
                        field: values[index] if index < len(values) else None
                        for field, index in positions.items()
                    },
                )
        except csv.Error as error:
            raise RosterFileError(
                f"Line {reader.line_num} cannot be read as CSV: {error}"
            ) from None
        except UnicodeDecodeError:
            raise _undecodable(reader.line_num + 1) from None


def _undecodable(line: int | None = None) -> RosterFileError:
    where = f" (line {line:,})" if line else ""
    return RosterFileError(
        f"The file is neither UTF-8 nor Windows-1252 text{where}. Save it as 'CSV UTF-8'."
    )


def parse_csv(text: str, mapping: Mapping[str, str] | None = None) -> list[RosterRow | RowProblem]:
    """Parse roster CSV text held in memory into rows and problems, in file order."""
    return list(RosterReader(io.StringIO(text, newline=""), mapping))


def parse_records(records: Iterable[Mapping[str, object]]) -> Iterator[RosterRow | RowProblem]:
    """Parse rows given as objects (the JSON API), numbering them from 1."""
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            yield RowProblem(number, "", "each person must be an object")
            continue
        values = {f: (None if record.get(f) is None else str(record.get(f))) for f in FIELDS}
        yield parse_row(number, values)
