"""Sign-in, users and role grants."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, select, update

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.models import Role, RoleGrant, SignInToken, User
from assembly.auth.permissions import can_grant
from assembly.auth.tokens import TokenInvalid, email_digest, make_token, read_token
from assembly.clock import utcnow
from assembly.errors import Conflict, DomainError, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person
from assembly.notices.models import OutboxMessage
from assembly.notices.operations import queue_notice
from assembly.urls import external_url


class SignInFailed(DomainError):
    """A sign-in link that cannot be used: tampered, expired or already used."""

    status = 400
    title = "This sign-in link cannot be used"


def normalise_email(raw: str) -> str:
    """Return an address as stored: trimmed and lower-cased."""
    return raw.strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == normalise_email(email))).first()


def _can_sign_in(email: str) -> bool:
    user = get_user_by_email(email)
    if user is not None:
        return not user.is_disabled
    # Past members too: they can see their history, and rejoin if they opted out.
    is_member = db.session.scalar(
        select(exists().where(Person.email == email, Membership.person_id == Person.id))
    )
    return bool(is_member)


def request_sign_in(
    email: str, *, next_path: str | None = None, now: datetime | None = None
) -> OutboxMessage | None:
    """Queue a single-use sign-in link for ``email`` if it may sign in.

    Returns the queued message, or ``None`` when nothing was sent: the address is unknown, or
    it has had its share of links in the last 15 minutes. Callers answer both cases the same
    way, so the response does not tell whether an address is known.
    """
    config = current_app.config
    now = now or utcnow()
    email = normalise_email(email)
    if not email or not _can_sign_in(email):
        return None
    digest = email_digest(config["SECRET_KEY"], email)
    window_start = now - timedelta(minutes=15)
    recent = db.session.scalar(
        select(func.count())
        .select_from(SignInToken)
        .where(SignInToken.email_digest == digest, SignInToken.issued_at > window_start)
    )
    if recent >= config["SIGN_IN_PER_ADDRESS"]:
        return None
    minutes = config["SIGN_IN_TOKEN_MINUTES"]
    token, claims = make_token(config["SECRET_KEY"], email, now, minutes)
    db.session.add(
        SignInToken(
            id=claims.token_id, email_digest=digest, issued_at=now, expires_at=claims.expires_at
        )
    )
    return queue_notice(
        "sign_in",
        email,
        "Your sign-in link",
        "sign_in",
        link=external_url(
            "auth.sign_in_link", token=token, **({"next": next_path} if next_path else {})
        ),
        minutes=minutes,
    )


def redeem_sign_in(token: str, *, now: datetime | None = None) -> User:
    """Burn a sign-in link and return the user it signs in (made on a member's first visit).

    :raises SignInFailed: the link is tampered with, expired, or was used before.
    """
    config = current_app.config
    now = now or utcnow()
    try:
        claims = read_token(config["SECRET_KEY"], token, now)
    except TokenInvalid as error:
        raise SignInFailed(f"{error} Ask for a new link on the sign-in page.") from None
    burned = db.session.execute(
        update(SignInToken)
        .where(SignInToken.id == claims.token_id, SignInToken.used_at.is_(None))
        .values(used_at=now)
    )
    if burned.rowcount != 1:  # type: ignore[attr-defined]
        raise SignInFailed(
            "This sign-in link has already been used, or was not issued by this service. "
            "Ask for a new link on the sign-in page."
        )
    user = get_user_by_email(claims.email)
    if user is None:
        if not _can_sign_in(claims.email):
            raise SignInFailed("This address no longer has access. Ask your secretary.")
        user = User(email=claims.email)
        db.session.add(user)
        db.session.flush()
        record_event(user, "user.created", subject=user, data={"via": "sign-in"}, now=now)
    elif user.is_disabled:
        raise SignInFailed("This account is disabled. Ask your secretary or the platform admin.")
    user.last_signed_in_at = now
    record_event(user, "user.signed_in", subject=user, now=now)
    return user


def ensure_user(actor: Actor, email: str, display_name: str = "") -> User:
    """Return the user with ``email``, making one if there is none."""
    email = normalise_email(email)
    user = get_user_by_email(email)
    if user is None:
        user = User(email=email, display_name=display_name.strip())
        db.session.add(user)
        db.session.flush()
        record_event(actor, "user.created", subject=user, data={"email": email})
    return user


def grant_role(
    actor: Actor, institution: Institution, email: str, role: Role, display_name: str = ""
) -> RoleGrant:
    """Give the user with ``email`` a role in ``institution`` and tell them by email.

    :raises NotEligible: the actor may not grant this role here.
    :raises Conflict: the user already holds it.
    """
    if not can_grant(actor, institution, role):
        raise NotEligible(f"You cannot grant the {role.label.lower()} role in {institution.name}.")
    email = normalise_email(email)
    if "@" not in email:
        raise RuleViolation("Enter an email address in the correct format, like name@example.com")
    user = ensure_user(actor, email, display_name)
    current = db.session.scalars(
        select(RoleGrant).where(
            RoleGrant.user_id == user.id,
            RoleGrant.institution_id == institution.id,
            RoleGrant.role == role,
            RoleGrant.revoked_at.is_(None),
        )
    ).first()
    if current is not None:
        raise Conflict(f"{email} is already {role.label.lower()} of {institution.name}.")
    grant = RoleGrant(
        user_id=user.id, institution_id=institution.id, role=role, granted_by_id=actor.id
    )
    db.session.add(grant)
    db.session.flush()
    record_event(
        actor,
        "role.granted",
        institution=institution,
        subject=grant,
        data={"email": email, "role": role.value},
    )
    queue_notice(
        "role_granted",
        email,
        f"You are now {role.label.lower()} of {institution.name}",
        "role_granted",
        institution=institution,
        role=role,
        sign_in_url=external_url("auth.sign_in"),
    )
    return grant


def revoke_role(actor: Actor, grant: RoleGrant, *, now: datetime | None = None) -> None:
    """End a role grant (the row stays, with the time it ended)."""
    if not can_grant(actor, grant.institution, grant.role):
        raise NotEligible("You cannot remove this role.")
    if grant.revoked_at is not None:
        raise Conflict("This role has already been removed.")
    grant.revoked_at = now or utcnow()
    record_event(
        actor,
        "role.revoked",
        institution=grant.institution,
        subject=grant,
        data={"email": grant.user.email, "role": grant.role.value},
    )
    db.session.flush()


def issue_sign_in_link(actor: Actor, email: str, *, now: datetime | None = None) -> str:
    """Return a fresh sign-in link for ``email`` for the operator to hand over (CLI, demo).

    Unlike ``request_sign_in`` nothing is emailed and no rate limit applies, so it is audited.
    """
    config = current_app.config
    now = now or utcnow()
    email = normalise_email(email)
    if not _can_sign_in(email):
        raise NotEligible(f"{email} has no account and no membership")
    token, claims = make_token(config["SECRET_KEY"], email, now, config["SIGN_IN_TOKEN_MINUTES"])
    db.session.add(
        SignInToken(
            id=claims.token_id,
            email_digest=email_digest(config["SECRET_KEY"], email),
            issued_at=now,
            expires_at=claims.expires_at,
        )
    )
    record_event(actor, "sign_in_link.issued", data={"email": email}, now=now)
    return external_url("auth.sign_in_link", token=token)


def personal_sign_in_link(
    email: str, *, expires_at: datetime, next_path: str | None = None, now: datetime | None = None
) -> str:
    """Return a single-use sign-in link for a notice to ``email`` (voting information), valid
    until ``expires_at``. The notice batch that carries these links is audited by its caller;
    each link is burned when used, like any other."""
    config = current_app.config
    now = now or utcnow()
    email = normalise_email(email)
    minutes = max(1, int((expires_at - now).total_seconds() // 60))
    token, claims = make_token(config["SECRET_KEY"], email, now, minutes)
    db.session.add(
        SignInToken(
            id=claims.token_id,
            email_digest=email_digest(config["SECRET_KEY"], email),
            issued_at=now,
            expires_at=claims.expires_at,
        )
    )
    return external_url(
        "auth.sign_in_link", token=token, **({"next": next_path} if next_path else {})
    )
