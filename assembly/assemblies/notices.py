"""Assembly notices: the notice of assembly (with the member's pass for the door), the notice
of candidates, and the result. Queued in bulk, rendered when sent."""

from __future__ import annotations

from typing import Any

import segno
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from assembly.assemblies.models import Assembly, AssemblyCandidate
from assembly.assemblies.states import AssemblyState
from assembly.clock import long_date
from assembly.extensions import db
from assembly.membership.models import Membership
from assembly.notices.delivery import CONTEXT_BUILDERS
from assembly.urls import external_url

__all__ = ["pass_qr_svg", "pass_token", "pass_url", "read_pass"]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="assembly pass")


def pass_token(assembly_id: int, person_id: int) -> str:
    """The member's pass for one assembly: signed, so nobody can make one for someone else.
    A teller who opens it checks the member in; the member, once checked in, votes with it."""
    return str(_serializer().dumps([assembly_id, person_id]))


def read_pass(token: str) -> tuple[int, int] | None:
    """(assembly id, person id) from a pass, or None if it is not one of ours."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value[0], value[1]


def pass_url(assembly: Assembly, person_id: int) -> str:
    return external_url(
        "assemblies.member_pass",
        slug=assembly.institution.slug,
        assembly_id=assembly.id,
        token=pass_token(assembly.id, person_id),
    )


def pass_qr_svg(url: str, scale: int = 5) -> Markup:
    """The pass as an inline SVG QR code (segno), for pages and printed letters."""
    svg = segno.make(url, error="m").svg_inline(scale=scale, title="Your assembly pass")
    return Markup(svg)  # noqa: S704 - segno's own SVG, with our URL escaped inside it


def _member_context(context: dict[str, Any]) -> tuple[Assembly, Membership] | None:
    assembly = db.session.get(Assembly, context.get("assembly_id"))
    membership = db.session.get(Membership, context.get("membership_id"))
    if assembly is None or membership is None or assembly.state == AssemblyState.cancelled:
        return None
    return assembly, membership


def _common(assembly: Assembly, membership: Membership) -> dict[str, Any]:
    from assembly.assemblies.operations.scheduling import seed_commitment
    from assembly.assemblies.queries import valid_candidates

    url = pass_url(assembly, membership.person_id)
    return {
        "assembly": assembly,
        "institution": assembly.institution,
        "person": membership.person,
        "constituency": membership.constituency,
        "long_date": long_date,
        "pass_url": url,
        "pass_png": segno.make(url, error="m").png_data_uri(scale=4),
        "seed_sha256": seed_commitment(assembly),
        "candidates": valid_candidates(assembly),
        "assembly_url": external_url(
            "assemblies.assembly_public", slug=assembly.institution.slug, assembly_id=assembly.id
        ),
    }


def _notice_of_assembly(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    found = _member_context(context)
    if found is None:
        return None
    assembly, membership = found
    values = _common(assembly, membership)
    values["invited"] = any(
        c.is_incumbent and c.person_id == membership.person_id for c in assembly.candidates
    )
    return f"Notice of assembly: {assembly.title}", values


def _notice_of_candidates(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    found = _member_context(context)
    if found is None:
        return None
    assembly, membership = found
    return (
        f"Candidates for {assembly.leader_title.lower()}: {assembly.title}",
        _common(assembly, membership),
    )


def _assembly_result(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    found = _member_context(context)
    if found is None or found[0].state != AssemblyState.declared:
        return None
    assembly, membership = found
    values = _common(assembly, membership)
    values["leader"] = (
        db.session.get(AssemblyCandidate, assembly.leader_candidate_id)
        if assembly.leader_candidate_id
        else None
    )
    return f"Result: {assembly.title}", values


CONTEXT_BUILDERS["notice_of_assembly"] = _notice_of_assembly
CONTEXT_BUILDERS["notice_of_candidates"] = _notice_of_candidates
CONTEXT_BUILDERS["assembly_result"] = _assembly_result
