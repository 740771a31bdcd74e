"""Reads about users and their roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached

from assembly.auth.models import RoleGrant, User
from assembly.extensions import db
from assembly.membership.models import Institution


def get_user(user_id: int) -> User | None:
    """The user with this id, if their account exists and is not disabled."""
    user = db.session.get(User, user_id)
    return user if user is not None and not user.is_disabled else None


def get_user_reference(user_id: int) -> User:
    """The user with this id as the session knows them, without reading their row: every
    other column loads when first read (one SELECT), and ``is_disabled`` reads false until
    then (or until the session's next commit or rollback, which expires it).

    Only for a request whose own statements check the account (``account_checked_by_view``):
    nothing here says the account exists or is enabled.
    """
    known = db.session.identity_map.get(Session.identity_key(User, user_id))
    if known is not None:
        return known  # type: ignore[no-any-return]
    user = User(id=user_id, is_disabled=False)
    make_transient_to_detached(user)
    db.session.add(user)
    return user


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
