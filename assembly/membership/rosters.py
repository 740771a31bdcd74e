"""Reading roster files: encodings, delimiters, column mappings and row validation.

A roster is a CSV file (or, from the API, a list of objects) listing the people of one
constituency. The default header is ``external_id,given_name,family_name,email,date_of_birth,
postcode``; a source's column mapping renames them (``{"external_id": "Staff number"}``);
other columns are ignored. Each row becomes a ``RosterRow`` or a ``RowProblem`` naming its
line and what is wrong. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

__all__ = [
    "FIELDS",
    "MAX_BYTES",
    "RosterFileError",
    "RosterRow",
    "RowProblem",
    "decode_roster",
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


def decode_roster(data: bytes) -> str:
    """Return the text of a roster file: UTF-8 (with or without BOM) or Windows-1252.

    :raises RosterFileError: too large, empty, or binary.
    """
    if len(data) > MAX_BYTES:
        raise RosterFileError(
            f"The file is {len(data) / 1_048_576:.1f} MB; the largest roster accepted is "
            f"{MAX_BYTES // 1_048_576} MB. Split it, or use the API."
        )
    if not data.strip():
        raise RosterFileError("The file is empty.")
    if b"\x00" in data[:8192]:
        raise RosterFileError("The file is not a CSV text file (it looks like a binary file).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise RosterFileError(
            "The file is neither UTF-8 nor Windows-1252 text. Save it as 'CSV UTF-8'."
        ) from None
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\r\n\t")
    if control:
        raise RosterFileError("The file is not a CSV text file (it has control characters).")
    return text


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


def _check_duplicates(rows: list[RosterRow | RowProblem]) -> list[RosterRow | RowProblem]:
    seen: dict[str, int] = {}
    for item in rows:
        if isinstance(item, RosterRow):
            seen[item.external_id] = seen.get(item.external_id, 0) + 1
    duplicated = {key for key, count in seen.items() if count > 1}
    if not duplicated:
        return rows
    return [
        RowProblem(
            item.line,
            item.external_id,
            f"external_id {item.external_id!r} appears more than once in the file",
        )
        if isinstance(item, RosterRow) and item.external_id in duplicated
        else item
        for item in rows
    ]


def parse_csv(
    text: str,
    mapping: Mapping[str, str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[RosterRow | RowProblem]:
    """Parse roster CSV text into rows and problems, in file order.

    :param mapping: field → column header, for sources whose headers differ from the default.
    :param progress: called with the line reached, every 5,000 rows.
    :raises RosterFileError: the header lacks a required column, or the CSV is malformed.
    """
    mapping = {field: (mapping or {}).get(field, field) for field in FIELDS}
    dialect = _sniff(text[:16384])
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFileError("The file is empty.") from None
    except csv.Error as error:
        raise RosterFileError(f"The header line cannot be read: {error}") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    lookup = {h.lower(): i for i, h in enumerate(header)}
    positions: dict[str, int] = {}
    for field, column in mapping.items():
        index = lookup.get(column.lower())
        if index is not None:
            positions[field] = index
    missing = [mapping[f] for f in REQUIRED if f not in positions]
    if missing:
        raise RosterFileError(
            f"The header has no column {', '.join(repr(m) for m in missing)}. Expected columns: "
            + ",".join(mapping[f] for f in FIELDS)
            + f". Found: {','.join(header)[:200]}"
        )
    rows: list[RosterRow | RowProblem] = []
    try:
        for values in reader:
            line = reader.line_num
            if progress is not None and line % 5000 == 0:
                progress(line)
            if not any(v.strip() for v in values):
                continue
            rows.append(
                _row(
                    line,
                    {
                        field: values[index] if index < len(values) else None
                        for field, index in positions.items()
                    },
                )
            )
    except csv.Error as error:
        raise RosterFileError(f"Line {reader.line_num} cannot be read as CSV: {error}") from None
    return _check_duplicates(rows)


def parse_records(records: Iterable[Mapping[str, object]]) -> list[RosterRow | RowProblem]:
    """Parse rows given as objects (the JSON API), numbering them from 1."""
    rows: list[RosterRow | RowProblem] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            rows.append(RowProblem(number, "", "each person must be an object"))
            continue
        values = {f: (None if record.get(f) is None else str(record.get(f))) for f in FIELDS}
        rows.append(_row(number, values))
    return _check_duplicates(rows)


def iter_valid(rows: Iterable[RosterRow | RowProblem]) -> Iterator[RosterRow]:
    return (row for row in rows if isinstance(row, RosterRow))
