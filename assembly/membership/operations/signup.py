"""A resident's own sign-up to the community constituency, from the public join page.

The sign-up is a one-row roster of the institution's ``community-signup`` source, so the
same rules as imports apply: matching, precedence, eligibility, opt-outs.
"""

from __future__ import annotations

from assembly.auth.actors import SystemActor
from assembly.clock import today
from assembly.errors import InvalidTransition
from assembly.membership.imports import (
    ImportPlan,
    RosterRow,
    apply_import,
    eligibility_problem,
    plan_import,
)
from assembly.membership.models import Constituency, Institution, RosterKind
from assembly.membership.operations.sources import ensure_source

__all__ = ["SIGNUP_SOURCE", "check_signup", "join_community"]

SIGNUP_SOURCE = "community-signup"


def _community(institution: Institution) -> Constituency:
    community = next((c for c in institution.constituencies if c.key == "community"), None)
    if community is None:
        raise InvalidTransition(f"{institution.name} has no local community constituency.")
    return community


def check_signup(institution: Institution, row: RosterRow) -> str | None:
    """Return why a resident cannot join the community constituency, or None if they can."""
    return eligibility_problem(row, _community(institution), today())


def join_community(institution: Institution, row: RosterRow) -> ImportPlan:
    """Enrol a resident who confirmed their email address in the community constituency.

    Uses the same rules as roster imports: matching, precedence, eligibility, opt-outs.
    """
    actor = SystemActor(f"sign-up: {row.email}")
    source = ensure_source(
        actor,
        _community(institution),
        key=SIGNUP_SOURCE,
        name="Community sign-up",
        kind=RosterKind.community_signup,
    )
    plan = plan_import(source, [row], mode="delta", effective_on=today())
    if plan.has_changes:
        plan, _ = apply_import(
            actor, source, [row], mode="delta", effective_on=today(), file_name="sign-up"
        )
    return plan
