"""Who opens which assembly page: ``assembly_view`` loads the institution, the assembly and
the candidate the URL names, checks the visitor and the assembly's state, and hands them to
the view, in one step (``auth.permissions.object_view`` says the order of the checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from assembly.assemblies.models import Assembly, AssemblyCandidate
from assembly.assemblies.queries import get_assembly
from assembly.auth.models import Role
from assembly.auth.permissions import (
    Audience,
    Part,
    Scope,
    get_institution_or_404,
    object_view,
    roles_in,
)
from assembly.extensions import db
from assembly.membership.models import Institution

__all__ = ["assembly_view", "can_chair"]


def can_chair(user: Any, assembly: Assembly) -> bool:
    """Whether ``user`` runs the assembly (its notice, candidates, votes and declaration): the
    institution's secretary, the assembly's returning officer, or an admin."""
    if not user.is_authenticated:
        return False
    return bool(
        user.is_platform_admin
        or assembly.is_returning_officer(user)
        or Role.secretary in roles_in(user, assembly.institution)
    )


def _get_by_slug(slug: str, assembly_id: int) -> tuple[Institution, Assembly]:
    """The institution (404 when unknown) and its assembly (404 saying there is no such
    assembly)."""
    institution = get_institution_or_404(slug)
    return institution, get_assembly(institution, assembly_id)


def _candidate(loaded: Mapping[str, Any], candidate_id: int) -> AssemblyCandidate | None:
    candidate = db.session.get(AssemblyCandidate, candidate_id)
    if candidate is None or candidate.assembly_id != loaded["assembly"].id:
        return None
    return candidate


ASSEMBLY = Scope(
    id_arg="assembly_id",
    arg="assembly",
    get=get_assembly,
    get_by_slug=_get_by_slug,
    parts=(Part("candidate_id", "candidate", _candidate),),
)


def assembly_view(
    *audience: Role | Audience, **checks: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Load the institution (``slug``), its assembly (``assembly_id``) and the candidate the
    URL names (404 for one not standing at it), let through the audience (roles, ``PUBLIC`` or
    ``SIGNED_IN``) and check the ``checks`` (``only``, ``denied``, ``states``, ``not_now``,
    ``public_in``: see ``object_view``); the view receives ``institution``, ``assembly`` and
    the candidate instead of the ids."""
    return object_view(ASSEMBLY, *audience, **checks)
