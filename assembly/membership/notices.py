"""Membership notices: the welcome notice with its signed opt-out link."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from assembly.extensions import db
from assembly.membership.models import Membership
from assembly.notices.delivery import CONTEXT_BUILDERS
from assembly.urls import external_url

_SALT = "assembly.membership.opt-out"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def opt_out_token(membership_id: int) -> str:
    """Return the signed token of a membership's opt-out link (it never expires)."""
    return str(_serializer().dumps(membership_id))


def read_opt_out_token(token: str) -> int | None:
    """Return the membership id a token was signed for, or None if it was not."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def _welcome(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    membership = db.session.get(Membership, context.get("membership_id"))
    if membership is None or not membership.is_current:
        return None
    institution = membership.institution
    return (
        f"You are a member of {institution.name}",
        {
            "institution": institution,
            "person": membership.person,
            "constituency": membership.constituency,
            "opt_out_url": external_url("membership.opt_out", token=opt_out_token(membership.id)),
            "sign_in_url": external_url("auth.sign_in"),
        },
    )


CONTEXT_BUILDERS["welcome"] = _welcome
