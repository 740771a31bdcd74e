"""Reads about institutions and memberships used in more than one place."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from assembly.extensions import db
from assembly.membership.models import Constituency, Institution, Membership, Person


def get_institution(slug: str) -> Institution | None:
    return db.session.scalars(select(Institution).where(Institution.slug == slug)).first()


def get_constituency(institution: Institution, key: str) -> Constituency | None:
    return db.session.scalars(
        select(Constituency).where(
            Constituency.institution_id == institution.id, Constituency.key == key
        )
    ).first()


def list_institutions():  # type: ignore[no-untyped-def]
    """Return a select of every institution, by name, for pagination."""
    return select(Institution).order_by(Institution.name, Institution.id)


@dataclass(frozen=True)
class ConstituencySummary:
    constituency: Constituency
    share: Fraction
    current_members: int


def summarise_constituencies(institution: Institution) -> list[ConstituencySummary]:
    """Return each constituency with its share of board seats and its current members."""
    counts = dict(
        db.session.execute(
            select(Membership.constituency_id, func.count())
            .where(
                Membership.institution_id == institution.id,
                Membership.left_on.is_(None),
                Membership.opted_out_on.is_(None),
            )
            .group_by(Membership.constituency_id)
        ).all()
    )
    constituencies = list(institution.constituencies)
    total = sum((c.weight for c in constituencies), Fraction(0))
    return [
        ConstituencySummary(c, c.weight / total if total else Fraction(0), counts.get(c.id, 0))
        for c in constituencies
    ]


def list_memberships_for_email(email: str) -> list[Membership]:
    """Return every membership (current and past) of the people with this address."""
    return list(
        db.session.scalars(
            select(Membership)
            .join(Person)
            .where(Person.email == email)
            .options(joinedload(Membership.institution), joinedload(Membership.constituency))
            .order_by(
                Membership.left_on.is_not(None), Membership.joined_on.desc(), Membership.id.desc()
            )
        )
    )


MEMBER_STATUSES = ("current", "left", "opted_out", "all")


def list_members(
    institution: Institution,
    *,
    search: str = "",
    constituency_id: int | None = None,
    status: str = "current",
):  # type: ignore[no-untyped-def]
    """Return a select of memberships (each with its person loaded) for the members list.

    :param search: part of a name, an email address or an external id.
    """
    statement = (
        select(Membership)
        .join(Person, Membership.person_id == Person.id)
        .options(contains_eager(Membership.person))
        .where(Membership.institution_id == institution.id)
        .order_by(Person.family_name, Person.given_name, Membership.id)
    )
    if status == "current":
        statement = statement.where(Membership.left_on.is_(None))
    elif status == "left":
        statement = statement.where(
            Membership.left_on.is_not(None), Membership.opted_out_on.is_(None)
        )
    elif status == "opted_out":
        statement = statement.where(Membership.opted_out_on.is_not(None))
    if constituency_id is not None:
        statement = statement.where(Membership.constituency_id == constituency_id)
    text = search.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            func.lower(Person.given_name + " " + Person.family_name).like(pattern, escape="\\")
            | Person.email.like(pattern, escape="\\")
        )
    return statement


def list_import_runs(institution: Institution):  # type: ignore[no-untyped-def]
    """Return a select of the institution's import runs, newest first."""
    from assembly.membership.models import ImportRun, RosterSource

    return (
        select(ImportRun)
        .join(RosterSource, ImportRun.source_id == RosterSource.id)
        .where(RosterSource.institution_id == institution.id)
        .order_by(ImportRun.id.desc())
    )


def get_import_run(institution: Institution, run_id: int):  # type: ignore[no-untyped-def]
    from assembly.membership.models import ImportRun, RosterSource

    return db.session.scalars(
        select(ImportRun)
        .join(RosterSource, ImportRun.source_id == RosterSource.id)
        .where(ImportRun.id == run_id, RosterSource.institution_id == institution.id)
    ).first()


def csv_safe(value: object) -> str:
    """Return a cell for a CSV export that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + text
    return text


def has_current_membership(institution_id: int, person_id: int) -> bool:
    """Return whether the person is a current member of the institution."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.institution_id == institution_id,
                Membership.person_id == person_id,
                Membership.left_on.is_(None),
            )
        )
    )
