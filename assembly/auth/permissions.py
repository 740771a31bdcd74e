"""Who may do what: predicates, and the decorators that load what a view is about and check
the visitor.

The decorators follow Helios's ``election_view``: load the object, check permission (and the
object's state), hand it to the view, in one step, so that no view forgets a check.
``institution_view`` loads an institution; ``object_view`` one of its objects and the parts
within it, for ``elections.access.election_view`` and ``assemblies.access.assembly_view``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import abort
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import exists, select

from assembly.errors import InvalidTransition, NotEligible
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


def get_institution_or_404(slug: str) -> Institution:
    """Return the institution with this slug, or refuse with 404."""
    institution = db.session.scalars(select(Institution).where(Institution.slug == slug)).first()
    if institution is None:
        abort(404)
    return institution


class Audience(Enum):
    """Who may open a view that is not kept to holders of roles."""

    #: Anyone, signed in or not.
    public = "public"
    #: Anyone signed in; the view itself says what they may do there, and why not.
    signed_in = "signed in"


PUBLIC = Audience.public
SIGNED_IN = Audience.signed_in


def _audience(audience: tuple[Any, ...]) -> tuple[Audience | None, frozenset[Role]]:
    """Split a decorator's audience into PUBLIC or SIGNED_IN, or the roles let through."""
    kinds = {a for a in audience if isinstance(a, Audience)}
    roles = frozenset(a for a in audience if not isinstance(a, Audience))
    if len(kinds) + bool(roles) != 1:
        raise TypeError("name the roles let through, or PUBLIC, or SIGNED_IN (one of them)")
    return (kinds.pop() if kinds else None), roles


def check_roles(institution: Institution, roles: frozenset[Role]) -> None:
    """Refuse (403) a signed-in visitor who is neither an admin nor a holder of one of
    ``roles`` in ``institution``."""
    if not current_user.is_platform_admin and not (roles_in(current_user, institution) & roles):
        abort(403)


def refuse_visitor(institution: Institution, roles: frozenset[Role]) -> ResponseReturnValue | None:
    """Send an anonymous visitor to sign in (the response returned), and refuse (403) anyone
    signed in without one of ``roles``; None lets them in."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    check_roles(institution, roles)
    return None


def institution_view(
    *audience: Role | Audience,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Load the institution named by ``slug`` and let through admins and holders of the roles
    named (or anyone, for ``PUBLIC``; anyone signed in, for ``SIGNED_IN``).

    Anonymous visitors are sent to sign in first, then an unknown institution is 404 and a
    missing role 403. The view receives ``institution`` instead of ``slug``.
    """
    kind, roles = _audience(audience)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(slug: str, *args: Any, **kwargs: Any) -> Any:
            if kind is not PUBLIC and not current_user.is_authenticated:
                return login_manager.unauthorized()
            institution = get_institution_or_404(slug)
            if roles:
                check_roles(institution, roles)
            return view(*args, institution=institution, **kwargs)

        return wrapped

    return decorator


# --- views of one election or assembly ----------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """An object within a scope's object that a URL names by its id (an election's contest)."""

    #: The URL argument holding its id, and the view's argument that receives it instead.
    id_arg: str
    arg: str
    #: It, given the objects loaded so far (by the view's arguments) and its id; None when
    #: there is no such object or it belongs to another.
    get: Callable[[Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class Scope:
    """What ``object_view`` loads for one kind of an institution's objects (an election, an
    assembly), and the objects within it."""

    #: The URL argument holding the object's id, and the view's argument that receives it.
    id_arg: str
    arg: str
    #: The institution's object with this id; refuses (404) when it has none.
    get: Callable[[Institution, int], Any]
    #: The institution with this slug and its object with this id, in one read where it can;
    #: refuses (404) when either is missing.
    get_by_slug: Callable[[str, int], tuple[Institution, Any]]
    #: The objects within it a URL may name, in the order they are loaded.
    parts: tuple[Part, ...] = ()


#: The states a view allows: a collection, or a test of the object.
States = Collection[Any] | Callable[[Any], bool]
#: What a view does with an object in a state it does not allow: None refuses with 404; a
#: message refuses with ``InvalidTransition`` (409) saying it; a function ``(institution,
#: object)`` answers instead (a redirect with a flash message, say).
NotNow = str | Callable[[Institution, Any], ResponseReturnValue] | None


def object_view(
    scope: Scope,
    *audience: Role | Audience,
    only: Callable[[Any, Any], bool] | None = None,
    denied: str | None = None,
    states: States | None = None,
    not_now: NotNow = None,
    public_in: Collection[Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Load the institution named by ``slug``, its object named by ``scope.id_arg`` and the
    parts the URL names within it; check the visitor and the object's state; then call the
    view with what was loaded (``institution``, the object, each part) instead of the ids.

    The checks run in this order, so that each view answers as it always has:

    1. Anonymous visitors are sent to sign in, unless the view is ``PUBLIC`` (or, with
       ``public_in``, until the object's state is known).
    2. For roles, as ``institution_view``: an unknown institution is 404, a visitor who is no
       admin and holds none of the roles 403; then an object the institution does not have is
       404. ``PUBLIC`` and ``SIGNED_IN`` views read the institution and the object together.
    3. ``public_in``: in these states anyone may see the view; in any other, only admins and
       holders of the roles (anonymous visitors are sent to sign in, others refused, 403).
    4. ``only(user, object)`` must hold: else ``NotEligible(denied)`` (403, saying why), or
       404 when there is no ``denied`` message (the visitor may not know it exists).
    5. ``states``: the object's state must be one of them (or pass the test), else ``not_now``.
    6. Each part the URL names must be the object's: else 404.
    """
    kind, roles = _audience(audience)
    if public_in is not None and not roles:
        raise TypeError("public_in names the states in which a view for roles is public")
    one_read = kind is not None or public_in is not None

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(slug: str, **kwargs: Any) -> Any:
            object_id = kwargs.pop(scope.id_arg)
            if kind is not PUBLIC and public_in is None and not current_user.is_authenticated:
                return login_manager.unauthorized()
            if one_read:
                institution, thing = scope.get_by_slug(slug, object_id)
                if public_in is not None and thing.state not in public_in:
                    refusal = refuse_visitor(institution, roles)
                    if refusal is not None:
                        return refusal
            else:
                institution = get_institution_or_404(slug)
                check_roles(institution, roles)
                thing = scope.get(institution, object_id)
            if only is not None and not only(current_user, thing):
                if denied is None:
                    abort(404)
                raise NotEligible(denied)
            if states is not None and not (
                states(thing) if callable(states) else thing.state in states
            ):
                if not_now is None:
                    abort(404)
                if isinstance(not_now, str):
                    raise InvalidTransition(not_now)
                return not_now(institution, thing)
            loaded: dict[str, Any] = {"institution": institution, scope.arg: thing}
            for part in scope.parts:
                if part.id_arg in kwargs:
                    found = part.get(loaded, kwargs.pop(part.id_arg))
                    if found is None:
                        abort(404)
                    loaded[part.arg] = found
            return view(**loaded, **kwargs)

        return wrapped

    return decorator


def is_returning_officer(user: Any, thing: Any) -> bool:
    """Whether ``user`` is the returning officer of ``thing`` (an election or an assembly)."""
    return bool(thing.is_returning_officer(user))
