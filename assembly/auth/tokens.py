"""Sign-in tokens: short-lived JWTs (pyjwt, HS256) whose id is stored and burned on use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

PURPOSE = "sign-in"
ALGORITHM = "HS256"


class TokenInvalid(ValueError):
    """The token is malformed, tampered with, expired or for another purpose."""


@dataclass(frozen=True)
class SignInClaims:
    token_id: str
    email: str
    expires_at: datetime


def _key(secret_key: str) -> bytes:
    # A key of its own, derived from the application secret, so a sign-in token can never be
    # confused with a session cookie or any other token signed with the same secret.
    return hmac.new(secret_key.encode(), b"assembly sign-in tokens v1", hashlib.sha256).digest()


def email_digest(secret_key: str, email: str) -> str:
    """Return a keyed digest of an address, to count requests without storing the address."""
    return hmac.new(_key(secret_key), email.encode(), hashlib.sha256).hexdigest()


def make_token(
    secret_key: str, email: str, now: datetime, minutes: int
) -> tuple[str, SignInClaims]:
    """Return a new sign-in JWT for ``email`` and its claims."""
    claims = SignInClaims(
        token_id=secrets.token_urlsafe(32),
        email=email,
        expires_at=now + timedelta(minutes=minutes),
    )
    token = jwt.encode(
        {
            "jti": claims.token_id,
            "sub": email,
            "pur": PURPOSE,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        },
        _key(secret_key),
        algorithm=ALGORITHM,
    )
    return token, claims


def read_token(secret_key: str, token: str, now: datetime) -> SignInClaims:
    """Check a sign-in JWT's signature, expiry and purpose and return its claims.

    :raises TokenInvalid: with a reason fit to show (expired, or not a valid link).
    """
    try:
        payload = jwt.decode(
            token,
            _key(secret_key),
            algorithms=[ALGORITHM],
            options={"require": ["jti", "sub", "exp", "iat"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise TokenInvalid("This sign-in link is not valid.") from None
    if payload.get("pur") != PURPOSE or not isinstance(payload["sub"], str):
        raise TokenInvalid("This sign-in link is not valid.")
    expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo)
    if now >= expires_at:
        raise TokenInvalid("This sign-in link has expired.")
    return SignInClaims(token_id=str(payload["jti"]), email=payload["sub"], expires_at=expires_at)
