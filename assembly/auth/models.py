"""Users, their roles, and single-use sign-in tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.sqltypes import UTCDateTime, enum_column


class Role(enum.StrEnum):
    """A role held in one institution. Platform admin is a flag on the user, not a role."""

    secretary = "secretary"
    returning_officer = "returning_officer"
    teller = "teller"

    @property
    def label(self) -> str:
        return {
            "secretary": "Secretary",
            "returning_officer": "Returning officer",
            "teller": "Teller",
        }[self.value]


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """Someone who can sign in: a member, a secretary, a returning officer, a teller, an admin.

    Members need no row until they first sign in; their memberships are found by email.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised (lower-case, trimmed) email address; the only way to sign in.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A disabled user cannot sign in; their history stays.
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return not self.is_disabled

    @property
    def name(self) -> str:
        return self.display_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class RoleGrant(db.Model):  # type: ignore[name-defined]
    """A role held by a user in one institution; revoking sets ``revoked_at``, never deletes."""

    __tablename__ = "role_grants"
    __table_args__ = (
        Index(
            "uq_role_grants_current",
            "user_id",
            "institution_id",
            "role",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    institution: Mapped[Institution] = relationship()


class SignInToken(db.Model):  # type: ignore[name-defined]
    """A sign-in link that was sent: its JWT id, burned on first use.

    The address is kept only as a keyed digest, enough to rate-limit per address.
    """

    __tablename__ = "sign_in_tokens"

    #: The JWT's ``jti``: 32 random bytes, URL-safe.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set once, when the link is used; a used link never works again.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
