"""Reads about users and their roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assembly.auth.models import RoleGrant, User
from assembly.extensions import db
from assembly.membership.models import Institution


def list_institution_roles(user: Any, institution: Institution | None = None) -> list[RoleGrant]:
    """Return the current role grants of ``user`` (in ``institution``, if given)."""
    if getattr(user, "id", None) is None:
        return []
    statement = (
        select(RoleGrant)
        .where(RoleGrant.user_id == user.id, RoleGrant.revoked_at.is_(None))
        .options(joinedload(RoleGrant.institution))
        .order_by(RoleGrant.institution_id, RoleGrant.role)
    )
    if institution is not None:
        statement = statement.where(RoleGrant.institution_id == institution.id)
    return list(db.session.scalars(statement))


def list_grants(institution: Institution) -> list[RoleGrant]:
    """Return the institution's current role grants, by role then address."""
    return list(
        db.session.scalars(
            select(RoleGrant)
            .join(User, RoleGrant.user_id == User.id)
            .where(RoleGrant.institution_id == institution.id, RoleGrant.revoked_at.is_(None))
            .options(joinedload(RoleGrant.user))
            .order_by(RoleGrant.role, User.email)
        )
    )


def get_grant(institution: Institution, grant_id: int) -> RoleGrant | None:
    return db.session.scalars(
        select(RoleGrant).where(
            RoleGrant.id == grant_id, RoleGrant.institution_id == institution.id
        )
    ).first()
