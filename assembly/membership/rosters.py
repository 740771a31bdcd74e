"""Reading roster files: encodings, delimiters, column mappings and row validation.

A roster is a CSV file (or, from the API, a list of objects) listing the people of one
constituency. The default header is ``external_id,given_name,family_name,email,date_of_birth,
postcode``; a source's column mapping renames them (``{"external_id": "Staff number"}``);
other columns are ignored. Each row becomes a ``RosterRow`` or a ``RowProblem`` naming its
line and what is wrong. Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, TextIO

__all__ = [
    "FIELDS",
    "MAX_BYTES",
    "RosterFile",
    "RosterFileError",
    "RosterReader",
    "RosterRow",
    "RowProblem",
    "open_roster",
    "parse_csv",
    "parse_records",
]

#: The fields a roster row can carry, in the default header's order.
FIELDS = ("external_id", "given_name", "family_name", "email", "date_of_birth", "postcode")
REQUIRED = ("external_id", "given_name", "family_name")
#: The largest roster file accepted (a 100,000-row roster is about 8 MB).
MAX_BYTES = 64 * 1024 * 1024

EMAIL = re.compile(
    r"^[^@\s,;<>()\[\]\\\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
#: Characters that make a spreadsheet treat a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (encoding, size, header); nothing is imported."""


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int
    external_id: str
    given_name: str
    family_name: str
    email: str | None
    date_of_birth: date | None
    postcode: str | None

    @property
    def postcode_district(self) -> str | None:
        """The outward part of the postcode (``BS1`` of ``BS1 4AB``)."""
        return self.postcode.split(" ", 1)[0] if self.postcode else None


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    external_id: str
    reason: str


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


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _row(line: int, values: Mapping[str, str | None]) -> RosterRow | RowProblem:
    external_id = _clean(values.get("external_id"))
    if not external_id:
        return RowProblem(line, "", "external_id is empty")
    for field in FIELDS:
        value = _clean(values.get(field))
        if value.startswith(FORMULA_START) and not (field == "date_of_birth" and value[:1] == "-"):
            return RowProblem(
                line,
                external_id,
                f"{field} starts with {value[:1]!r}, which a spreadsheet would run as a formula",
            )
    given, family = _clean(values.get("given_name")), _clean(values.get("family_name"))
    if not given or not family:
        return RowProblem(line, external_id, "given_name and family_name are both needed")
    if len(external_id) > 100 or len(given) > 100 or len(family) > 100:
        return RowProblem(line, external_id, "a value is longer than 100 characters")
    email = _clean(values.get("email")).lower() or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        return RowProblem(line, external_id, f"email {email!r} is not an email address")
    birth_text = _clean(values.get("date_of_birth"))
    birth = None
    if birth_text:
        try:
            birth = date.fromisoformat(birth_text)
        except ValueError:
            return RowProblem(
                line, external_id, f"date_of_birth {birth_text!r} is not a date like 2001-03-14"
            )
    postcode_text = _clean(values.get("postcode")).upper()
    postcode = None
    if postcode_text:
        match = POSTCODE.match(postcode_text)
        if not match:
            return RowProblem(line, external_id, f"postcode {postcode_text!r} is not a UK postcode")
        postcode = f"{match.group(1)} {match.group(2)}"
    return RosterRow(line, external_id, given, family, email, birth, postcode)


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
                yield _row(
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
        yield _row(number, values)
