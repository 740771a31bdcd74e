"""Service tokens: JWTs (pyjwt, HS256, a key derived for this purpose) scoped to one source."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import jwt
from flask import current_app
from sqlalchemy import select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, actor_label
from assembly.auth.permissions import can_manage
from assembly.clock import utcnow
from assembly.errors import DomainError, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import RosterSource, ServiceToken

PURPOSE = "roster-push"


class TokenRefused(DomainError):
    """The bearer token is missing, malformed, expired, revoked or for another source."""

    status = 401
    title = "Not authorised"


class TokenScope(DomainError):
    status = 403
    title = "Not allowed"


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"assembly service tokens v1", hashlib.sha256).digest()


def issue_token(
    actor: Actor, source: RosterSource, *, name: str, days: int = 90, now: datetime | None = None
) -> tuple[ServiceToken, str]:
    """Make a service token for ``source``; return the row and the token (shown once)."""
    if not can_manage(actor, source.institution):
        raise NotEligible("Only the institution's secretary can make service tokens.")
    if not 1 <= days <= 366:
        raise RuleViolation("A service token lasts from 1 to 366 days.")
    name = name.strip()
    if not name:
        raise RuleViolation("Name the token after the system that will use it.")
    now = now or utcnow()
    row = ServiceToken(
        token_id=secrets.token_urlsafe(24),
        source_id=source.id,
        name=name[:200],
        created_by=actor_label(actor),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    token = jwt.encode(
        {
            "jti": row.token_id,
            "src": source.id,
            "pur": PURPOSE,
            "iat": int(now.timestamp()),
            "exp": int(row.expires_at.timestamp()),
        },
        _key(),
        algorithm="HS256",
    )
    record_event(
        actor,
        "service_token.issued",
        institution=source.institution,
        subject=row,
        data={"source": source.key, "name": row.name, "days": days},
    )
    return row, token


def revoke_token(actor: Actor, row: ServiceToken, *, now: datetime | None = None) -> None:
    if not can_manage(actor, row.source.institution):
        raise NotEligible("Only the institution's secretary can revoke service tokens.")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        db.session.flush()
        record_event(
            actor,
            "service_token.revoked",
            institution=row.source.institution,
            subject=row,
            data={"name": row.name},
        )


def authenticate(
    header: str | None, source: RosterSource, *, now: datetime | None = None
) -> ServiceToken:
    """Check an ``Authorization: Bearer …`` header for a push to ``source``.

    :raises TokenRefused: missing, malformed, tampered, expired or revoked (401).
    :raises TokenScope: a valid token for another source (403).
    """
    now = now or utcnow()
    if not header or not header.startswith("Bearer "):
        raise TokenRefused("Send 'Authorization: Bearer <service token>'.")
    try:
        claims = jwt.decode(
            header[7:].strip(),
            _key(),
            algorithms=["HS256"],
            options={"require": ["jti", "src", "exp"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise TokenRefused("The service token is not valid.") from None
    if claims.get("pur") != PURPOSE:
        raise TokenRefused("The service token is not valid.")
    row = db.session.scalars(
        select(ServiceToken).where(ServiceToken.token_id == str(claims["jti"]))
    ).first()
    if row is None:
        raise TokenRefused("The service token is not valid.")
    if row.revoked_at is not None:
        raise TokenRefused("The service token has been revoked.")
    if now >= row.expires_at or now.timestamp() >= int(claims["exp"]):
        raise TokenRefused("The service token has expired. Ask the secretary for a new one.")
    if row.source_id != source.id or claims["src"] != source.id:
        raise TokenScope("This service token is for another roster source.")
    row.last_used_at = now
    return row
