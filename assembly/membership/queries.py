"""Reads about institutions and memberships used in more than one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, joinedload

from assembly.extensions import db
from assembly.membership.models import (
    Constituency,
    ImportRun,
    ImportStatus,
    Institution,
    Membership,
    Person,
    RosterSource,
    ServiceToken,
    SourceRecord,
)


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


@dataclass(frozen=True)
class RosterSourceSummary:
    source: RosterSource
    #: People in the source's latest roster (leavers are not counted).
    people_present: int
    #: The source's most recent applied import, or None if nothing was imported yet.
    last_import: ImportRun | None


def list_roster_sources(institution: Institution) -> list[RosterSourceSummary]:
    """Return the institution's roster sources, by constituency, with counts and last import."""
    return summarise_roster_sources(
        db.session.scalars(
            select(RosterSource)
            .join(Constituency, RosterSource.constituency_id == Constituency.id)
            .where(RosterSource.institution_id == institution.id)
            .options(contains_eager(RosterSource.constituency))
            .order_by(Constituency.precedence, RosterSource.name, RosterSource.id)
        )
    )


def summarise_roster_sources(sources: Iterable[RosterSource]) -> list[RosterSourceSummary]:
    """Return each source with the people present in it and its last applied import."""
    sources = list(sources)
    ids = [source.id for source in sources]
    if not ids:
        return []
    present = dict(
        db.session.execute(
            select(SourceRecord.source_id, func.count())
            .where(SourceRecord.source_id.in_(ids), SourceRecord.is_present.is_(True))
            .group_by(SourceRecord.source_id)
        ).all()
    )
    latest_ids = db.session.scalars(
        select(func.max(ImportRun.id))
        .where(ImportRun.source_id.in_(ids), ImportRun.status == ImportStatus.applied)
        .group_by(ImportRun.source_id)
    ).all()
    latest = {
        run.source_id: run
        for run in db.session.scalars(select(ImportRun).where(ImportRun.id.in_(latest_ids)))
    }
    return [
        RosterSourceSummary(source, present.get(source.id, 0), latest.get(source.id))
        for source in sources
    ]


def get_roster_source(institution: Institution, key: str) -> RosterSource | None:
    return db.session.scalars(
        select(RosterSource).where(
            RosterSource.institution_id == institution.id, RosterSource.key == key
        )
    ).first()


def list_service_tokens(source: RosterSource) -> Select[tuple[ServiceToken]]:
    """Return a select of the source's service tokens, newest first, for pagination."""
    return (
        select(ServiceToken)
        .where(ServiceToken.source_id == source.id)
        .order_by(ServiceToken.created_at.desc(), ServiceToken.id.desc())
    )


def get_service_token(source: RosterSource, token_id: int) -> ServiceToken | None:
    """Return the source's service token ``token_id``; another source's token is None."""
    return db.session.scalars(
        select(ServiceToken).where(ServiceToken.id == token_id, ServiceToken.source_id == source.id)
    ).first()


def service_token_status(token: ServiceToken, now: datetime) -> str:
    """Return ``revoked``, ``expired`` or ``active``: whether the token would be accepted now."""
    if token.revoked_at is not None:
        return "revoked"
    if now >= token.expires_at:
        return "expired"
    return "active"
