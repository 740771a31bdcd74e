"""A roster row, and the rules each row must meet on its own.

Each line of a roster file (or object of a push) becomes a ``RosterRow``, or a ``RowProblem``
naming its line and what is wrong: no external id, a value a spreadsheet would run as a
formula, a missing name, a value too long, an email address, date of birth or postcode that is
not one. Rules across rows are the planner's (``duplicates``), and so are the constituency's
(``eligibility``). Nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

__all__ = ["FIELDS", "REQUIRED", "RosterRow", "RowProblem", "parse_row"]

#: The fields a roster row can carry, in the default header's order.
FIELDS = ("external_id", "given_name", "family_name", "email", "date_of_birth", "postcode")
REQUIRED = ("external_id", "given_name", "family_name")

EMAIL = re.compile(
    r"^[^@\s,;<>()\[\]\\\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
#: Characters that make a spreadsheet treat a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


#: Control characters (tab, line feed and carriage return aside): no name, address or id holds
#: one, and PostgreSQL's text cannot hold NUL at all.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str | None) -> str:
    return (value or "").strip()


def parse_row(line: int, values: Mapping[str, str | None]) -> RosterRow | RowProblem:
    """Return the row that ``values`` (field → text) make, or the first problem with them."""
    external_id = _clean(values.get("external_id"))
    if not external_id:
        return RowProblem(line, "", "external_id is empty")
    for field in FIELDS:
        value = _clean(values.get(field))
        if CONTROL.search(value):
            return RowProblem(
                line,
                CONTROL.sub("?", external_id),
                f"{field} holds a control character, which no roster value may hold",
            )
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
