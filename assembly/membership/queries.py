"""Reads about institutions and memberships used in more than one place."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

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
