"""Who may join a constituency: its minimum age, and the postcode districts it is limited to.

A roster row that fails either is reported as ineligible and not enrolled; the public sign-up
page asks the same question before it sends a confirmation link.
"""

from __future__ import annotations

from datetime import date

from assembly.clock import age_on
from assembly.membership.imports.rows import RosterRow
from assembly.membership.models import Constituency

__all__ = ["districts_of", "eligibility_problem", "eligibility_reason"]


def districts_of(constituency: Constituency) -> frozenset[str]:
    """The postcode districts a constituency is limited to (empty: anywhere)."""
    return frozenset(constituency.postcode_districts.upper().replace(",", " ").split())


def eligibility_reason(
    row: RosterRow, constituency: Constituency, districts: frozenset[str], day: date
) -> str | None:
    """Return why ``row`` may not join ``constituency`` on ``day``, given its ``districts``."""
    if (
        constituency.minimum_age
        and row.date_of_birth is not None
        and age_on(row.date_of_birth, day) < constituency.minimum_age
    ):
        return f"under {constituency.minimum_age}, the minimum age for {constituency.name}"
    if districts:
        if row.postcode_district is None:
            return f"no postcode: {constituency.name} is for residents of its area"
        if row.postcode_district not in districts:
            return f"postcode district {row.postcode_district} is outside the area"
    return None


def eligibility_problem(row: RosterRow, constituency: Constituency, day: date) -> str | None:
    """Return why ``row`` may not join ``constituency`` on ``day`` (age, area), or None."""
    return eligibility_reason(row, constituency, districts_of(constituency), day)
