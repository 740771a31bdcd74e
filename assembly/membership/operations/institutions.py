"""Institutions and their constituencies: created by a platform admin, changed by the
institution's secretary.

An institution starts with three constituencies (workers, users, community), one third of the
board's seats each; a secretary changes their names, weights, minimum ages and precedence
(which of two constituencies listing one person holds them), and adds custom ones.
"""

from __future__ import annotations

import re
from fractions import Fraction

from sqlalchemy import func, select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.permissions import can_manage
from assembly.errors import Conflict, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import (
    DEFAULT_CONSTITUENCIES,
    DEFAULT_LEADER_TITLES,
    Constituency,
    Institution,
    InstitutionKind,
)
from assembly.records.canonical import rational

__all__ = [
    "KEY_PATTERN",
    "RESERVED_SLUGS",
    "SLUG_PATTERN",
    "add_constituency",
    "create_institution",
    "parse_weight",
    "update_constituency",
    "update_institution",
]

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
#: Slugs that would collide with pages of the service itself.
RESERVED_SLUGS = frozenset({"new", "admin", "api", "static", "sign-in", "sign-out", "my"})


def parse_weight(raw: str) -> Fraction:
    """Read a weight written as ``1/3``, ``0.25`` or ``2``; it must be positive and exact.

    :raises RuleViolation: it is not a number, or is zero or negative.
    """
    text = raw.strip()
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise RuleViolation(
            f"Enter the weight as a fraction like 1/3, a decimal like 0.25, or a whole number,"
            f" not {raw!r}"
        ) from None
    if value <= 0:
        raise RuleViolation("The weight must be more than 0")
    if value.denominator > 1_000_000 or value.numerator > 1_000_000:
        raise RuleViolation("The weight is too precise: use a simpler fraction, like 1/3")
    return value


def _check_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug) or slug in RESERVED_SLUGS:
        raise RuleViolation(
            "The short name must be 1 to 63 lower-case letters, digits or hyphens, must not"
            " start or end with a hyphen, and must not be a reserved word"
        )


def create_institution(
    actor: Actor,
    *,
    slug: str,
    name: str,
    kind: InstitutionKind,
    area: str = "",
    leader_title: str = "",
) -> Institution:
    """Create an institution with its three default constituencies, one third each.

    :raises NotEligible: the actor is not a platform admin.
    :raises RuleViolation: a bad short name or an empty name.
    :raises Conflict: the short name is taken.
    """
    if not actor.is_platform_admin:
        raise NotEligible("Only a platform admin can create an institution.")
    slug = slug.strip().lower()
    _check_slug(slug)
    name = name.strip()
    if not name:
        raise RuleViolation("Enter the institution's name")
    if db.session.scalar(select(func.count()).where(Institution.slug == slug)):
        raise Conflict(f"An institution with the short name {slug!r} already exists")
    kind = InstitutionKind(kind)
    institution = Institution(
        slug=slug,
        name=name,
        kind=kind,
        area=area.strip(),
        leader_title=leader_title.strip() or DEFAULT_LEADER_TITLES[kind],
    )
    db.session.add(institution)
    db.session.flush()
    for key, constituency_name, weight, precedence in DEFAULT_CONSTITUENCIES:
        constituency = Constituency(
            institution_id=institution.id,
            key=key,
            name=constituency_name,
            precedence=precedence,
            minimum_age=0,
        )
        constituency.weight = weight
        db.session.add(constituency)
    db.session.flush()
    record_event(
        actor,
        "institution.created",
        institution=institution,
        subject=institution,
        data={
            "slug": slug,
            "name": name,
            "kind": kind.value,
            "area": institution.area,
            "leader_title": institution.leader_title,
            "constituencies": [k for k, *_ in DEFAULT_CONSTITUENCIES],
        },
    )
    return institution


def update_institution(
    actor: Actor, institution: Institution, *, name: str, area: str, leader_title: str
) -> None:
    """Change an institution's name, area and leader title."""
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can change its details.")
    name, area, leader_title = name.strip(), area.strip(), leader_title.strip()
    if not name:
        raise RuleViolation("Enter the institution's name")
    if not leader_title:
        raise RuleViolation("Enter the leader's title, for example Headteacher")
    before = {
        "name": institution.name,
        "area": institution.area,
        "leader_title": institution.leader_title,
    }
    after = {"name": name, "area": area, "leader_title": leader_title}
    if before == after:
        return
    institution.name, institution.area, institution.leader_title = name, area, leader_title
    db.session.flush()
    record_event(
        actor,
        "institution.updated",
        institution=institution,
        subject=institution,
        data={"before": before, "after": after},
    )


def _constituency_fields(constituency: Constituency) -> dict[str, object]:
    return {
        "key": constituency.key,
        "name": constituency.name,
        "weight": rational(constituency.weight),
        "minimum_age": constituency.minimum_age,
        "precedence": constituency.precedence,
    }


def _check_constituency_values(name: str, minimum_age: int, precedence: int) -> None:
    if not name.strip():
        raise RuleViolation("Enter the constituency's name")
    if not 0 <= minimum_age <= 120:
        raise RuleViolation("The minimum age must be between 0 and 120")
    if not 1 <= precedence <= 1000:
        raise RuleViolation("The precedence must be a whole number from 1 to 1000")


def _check_precedence_free(
    institution: Institution, precedence: int, ignore: Constituency | None = None
) -> None:
    for other in institution.constituencies:
        if other is not ignore and other.precedence == precedence:
            raise Conflict(
                f"{other.name} already has precedence {precedence}; each constituency needs its"
                " own, so that a person listed in two is placed in exactly one"
            )


def update_constituency(
    actor: Actor,
    constituency: Constituency,
    *,
    name: str,
    weight: Fraction,
    minimum_age: int,
    precedence: int,
) -> None:
    """Change a constituency's name, board-seat weight, minimum age and precedence."""
    institution = constituency.institution
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can change its constituencies.")
    _check_constituency_values(name, minimum_age, precedence)
    if weight <= 0:
        raise RuleViolation("The weight must be more than 0")
    _check_precedence_free(institution, precedence, ignore=constituency)
    before = _constituency_fields(constituency)
    constituency.name = name.strip()
    constituency.weight = weight
    constituency.minimum_age = minimum_age
    constituency.precedence = precedence
    after = _constituency_fields(constituency)
    if before == after:
        return
    db.session.flush()
    record_event(
        actor,
        "constituency.updated",
        institution=institution,
        subject=constituency,
        data={"before": before, "after": after},
    )


def add_constituency(
    actor: Actor,
    institution: Institution,
    *,
    key: str,
    name: str,
    weight: Fraction,
    minimum_age: int,
    precedence: int,
) -> Constituency:
    """Add a custom constituency (a staff class, say) to an institution."""
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can add constituencies.")
    key = key.strip().lower()
    if not KEY_PATTERN.match(key):
        raise RuleViolation(
            "The key must start with a letter and use only lower-case letters, digits,"
            " hyphens and underscores (at most 40)"
        )
    if any(c.key == key for c in institution.constituencies):
        raise Conflict(f"{institution.name} already has a constituency with the key {key!r}")
    _check_constituency_values(name, minimum_age, precedence)
    _check_precedence_free(institution, precedence)
    constituency = Constituency(
        institution_id=institution.id,
        key=key,
        name=name.strip(),
        minimum_age=minimum_age,
        precedence=precedence,
    )
    constituency.weight = weight
    db.session.add(constituency)
    db.session.flush()
    db.session.refresh(institution, ["constituencies"])
    record_event(
        actor,
        "constituency.added",
        institution=institution,
        subject=constituency,
        data=_constituency_fields(constituency),
    )
    return constituency
