"""Who may do what: predicates, and the decorator that loads an institution and checks roles.

The decorator follows Helios's ``election_view``: load the object, check permission, hand it
to the view, in one step, so that no view forgets a check.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import abort
from flask_login import current_user
from sqlalchemy import exists, select

from assembly.extensions import db, login_manager
from assembly.membership.models import Institution, Membership, Person

if TYPE_CHECKING:
    from assembly.auth.actors import Actor
    from assembly.auth.models import Role


def roles_in(user: Any, institution: Institution) -> set[Role]:
    """Return the roles ``user`` currently holds in ``institution``."""
    from assembly.auth.models import RoleGrant

    if user is None or getattr(user, "id", None) is None:
        return set()
    return set(
        db.session.scalars(
            select(RoleGrant.role).where(
                RoleGrant.user_id == user.id,
                RoleGrant.institution_id == institution.id,
                RoleGrant.revoked_at.is_(None),
            )
        )
    )


def is_member_of(user: Any, institution: Institution) -> bool:
    """Return whether ``user``'s address has a current membership of ``institution``."""
    email = getattr(user, "email", None)
    if not email:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Membership.institution_id == institution.id,
                    Membership.left_on.is_(None),
                    Membership.person_id == Person.id,
                    Person.email == email,
                )
            )
        )
    )


def can_grant(actor: Actor, institution: Institution, role: Role) -> bool:
    """Platform admins grant every role; a secretary grants tellers in their institution."""
    from assembly.auth.models import Role

    if actor.is_platform_admin:
        return True
    return role == Role.teller and Role.secretary in roles_in(actor, institution)


def can_manage(user: Any, institution: Institution) -> bool:
    """Return whether ``user`` may change ``institution``'s settings (its secretary or an admin)."""
    from assembly.auth.models import Role

    if getattr(user, "is_platform_admin", False):
        return True
    return Role.secretary in roles_in(user, institution)


def account_checked_by_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that checks the signed-in account itself, inside its own statements (that
    it exists and is not disabled), and signs out whoever fails that check: the user loader
    then gives it a reference to the user (``queries.get_user_reference``) instead of reading
    their row first. Only casting does this, whose few statements are its budget (DESIGN §8).

    Sign-in is still required (put ``login_required`` inside this) and Flask-Login's session
    protection still runs: only the read of the account moves into the view.
    """
    view.account_checked_by_view = True  # type: ignore[attr-defined]
    return view


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only platform admins through; send anonymous visitors to sign in."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def institution_view(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Load the institution named by ``slug`` and let through admins and holders of ``roles``.

    The view receives ``institution`` instead of ``slug``.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(slug: str, *args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            institution = db.session.scalars(
                select(Institution).where(Institution.slug == slug)
            ).first()
            if institution is None:
                abort(404)
            if not current_user.is_platform_admin and not (
                roles_in(current_user, institution) & set(roles)
            ):
                abort(403)
            return view(*args, institution=institution, **kwargs)

        return wrapped

    return decorator
