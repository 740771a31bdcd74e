"""Who may do what at an assembly: the chair (secretary or returning officer) and the tellers."""

from __future__ import annotations

from assembly.assemblies.models import (
    Assembly,
)
from assembly.auth.actors import Actor
from assembly.auth.models import Role
from assembly.auth.permissions import roles_in
from assembly.errors import NotEligible


def check_chair(actor: Actor, assembly: Assembly) -> None:
    """The secretary, the assembly's returning officer, or an admin: they run the room."""
    if actor.is_platform_admin or assembly.is_returning_officer(actor):
        return
    if Role.secretary in roles_in(actor, assembly.institution):
        return
    raise NotEligible("Only the secretary or the returning officer can do this.")


def can_check_in(user: object, assembly: Assembly) -> bool:
    """Tellers, the secretary, the assembly's returning officer and admins check members in."""
    if getattr(user, "is_platform_admin", False) or assembly.is_returning_officer(user):
        return True
    return bool(roles_in(user, assembly.institution) & {Role.teller, Role.secretary})
