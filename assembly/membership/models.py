"""Institutions, their constituencies, people and memberships."""

from __future__ import annotations

import enum
from datetime import date, datetime
from fractions import Fraction

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.sqltypes import UTCDateTime, enum_column


class InstitutionKind(enum.StrEnum):
    school = "school"
    hospital = "hospital"
    other = "other"


#: The leader's title by kind of institution, used when none is given.
DEFAULT_LEADER_TITLES = {
    InstitutionKind.school: "Headteacher",
    InstitutionKind.hospital: "Chief Executive",
    InstitutionKind.other: "Chief Executive",
}

#: The three constituencies every institution starts with: key, name, weight, precedence.
#: Precedence decides the one constituency of a person listed in several (lowest number wins).
DEFAULT_CONSTITUENCIES = (
    ("workers", "Workers", Fraction(1, 3), 1),
    ("users", "Service users", Fraction(1, 3), 2),
    ("community", "Local community", Fraction(1, 3), 3),
)


class Institution(db.Model):  # type: ignore[name-defined]
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short name used in web addresses: lower-case letters, digits and hyphens.
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    #: The institution's full name, as printed on notices.
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(enum_column(InstitutionKind, "institution_kind"))
    #: The area it serves (a town, a borough), shown on notices; eligibility lives on the
    #: community constituency.
    area: Mapped[str] = mapped_column(String(200), default="")
    #: What the leader elected at the annual assembly is called: "Headteacher", "Chief Executive".
    leader_title: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Board election timetable: the least working days before the close of poll for the
    #: notice of election, close of nominations, close of withdrawals and opening of the poll
    #: (defaults from the Model Election Rules 2014).
    notice_working_days: Mapped[int] = mapped_column(Integer, default=40, server_default="40")
    nominations_working_days: Mapped[int] = mapped_column(Integer, default=28, server_default="28")
    withdrawals_working_days: Mapped[int] = mapped_column(Integer, default=25, server_default="25")
    poll_opens_working_days: Mapped[int] = mapped_column(Integer, default=15, server_default="15")

    constituencies: Mapped[list[Constituency]] = relationship(
        back_populates="institution", order_by="Constituency.precedence"
    )

    def __repr__(self) -> str:
        return f"<Institution {self.slug}>"


class Constituency(db.Model):  # type: ignore[name-defined]
    __tablename__ = "constituencies"
    __table_args__ = (
        UniqueConstraint("institution_id", "key"),
        UniqueConstraint("institution_id", "precedence"),
        CheckConstraint("weight_numerator >= 0", name="weight_not_negative"),
        CheckConstraint("weight_denominator > 0", name="weight_denominator_positive"),
        CheckConstraint("minimum_age >= 0", name="minimum_age_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    #: Stable identifier within the institution: ``workers``, ``users``, ``community`` or custom.
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    #: Board-seat weight as an exact rational; shares are weights divided by their sum.
    weight_numerator: Mapped[int] = mapped_column(Integer)
    weight_denominator: Mapped[int] = mapped_column(Integer)
    #: Youngest age at which a person may be a member of this constituency.
    minimum_age: Mapped[int] = mapped_column(Integer, default=0)
    #: A person listed in several constituencies belongs to the one with the lowest number.
    precedence: Mapped[int] = mapped_column(Integer)
    #: Postcode districts (``BS1 BS2 …``) a member must live in; empty for no restriction.
    postcode_districts: Mapped[str] = mapped_column(Text, default="")

    institution: Mapped[Institution] = relationship(back_populates="constituencies")

    @property
    def weight(self) -> Fraction:
        return Fraction(self.weight_numerator, self.weight_denominator)

    @weight.setter
    def weight(self, value: Fraction) -> None:
        value = Fraction(value)
        self.weight_numerator = value.numerator
        self.weight_denominator = value.denominator

    def __repr__(self) -> str:
        return f"<Constituency {self.key} of institution {self.institution_id}>"


class Person(db.Model):  # type: ignore[name-defined]
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    #: Normalised (lower-case, trimmed) email address; members sign in with it. Optional:
    #: members without one get printed letters.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="person")

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class Membership(db.Model):  # type: ignore[name-defined]
    """One period of a person's membership of an institution, in one constituency.

    History is never deleted: leaving sets ``left_on``, opting out sets ``opted_out_on``, and
    a return or a move to another constituency starts a new row.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),
        # A person has at most one current membership of an institution.
        Index(
            "uq_memberships_current",
            "institution_id",
            "person_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituencies.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    #: The day the membership ended (left the roster, moved constituency); NULL while current.
    left_on: Mapped[date | None] = mapped_column(Date)
    #: The day the person opted out; an opted-out person is never re-enrolled automatically.
    opted_out_on: Mapped[date | None] = mapped_column(Date)
    #: Where the membership came from: a roster source's name, "sign-up", "demo", "manual".
    source: Mapped[str] = mapped_column(String(100))

    institution: Mapped[Institution] = relationship()
    person: Mapped[Person] = relationship(back_populates="memberships")
    constituency: Mapped[Constituency] = relationship()

    @property
    def is_current(self) -> bool:
        return self.left_on is None and self.opted_out_on is None


class RosterKind(enum.StrEnum):
    hr = "hr"
    pupil_register = "pupil_register"
    patient_register = "patient_register"
    community_signup = "community_signup"
    other = "other"

    @property
    def label(self) -> str:
        return {
            "hr": "HR list",
            "pupil_register": "Pupil register",
            "patient_register": "Patient register",
            "community_signup": "Community sign-up",
            "other": "Other",
        }[self.value]


class RosterSource(db.Model):  # type: ignore[name-defined]
    """A feed of people for one constituency: an HR list, a patient register, a sign-up."""

    __tablename__ = "roster_sources"
    __table_args__ = (UniqueConstraint("institution_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituencies.id"), index=True)
    #: Stable short name within the institution, used in URLs and as memberships' ``source``.
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RosterKind] = mapped_column(enum_column(RosterKind, "roster_kind"))
    #: JSON object: roster field → the column header this source uses for it.
    column_mapping: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()
    constituency: Mapped[Constituency] = relationship()


class SourceRecord(db.Model):  # type: ignore[name-defined]
    """A person as one source knows them: the same source and external id is the same person."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("roster_sources.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: Whether the person was in the source's latest roster (a leaver is not).
    is_present: Mapped[bool] = mapped_column(Boolean, default=True)


class ImportStatus(enum.StrEnum):
    #: An uploaded file being checked in the background; then previewed or refused.
    checking = "checking"
    previewed = "previewed"
    #: Confirmed and being applied in the background; then applied, refused or failed.
    applying = "applying"
    applied = "applied"
    refused = "refused"
    #: Stopped by an error (or a restart) before it finished: nothing was changed.
    failed = "failed"

    @property
    def is_running(self) -> bool:
        return self in {ImportStatus.checking, ImportStatus.applying}


class ImportRun(db.Model):  # type: ignore[name-defined]
    """One roster import: its diff, its problems, and whether it was applied."""

    __tablename__ = "import_runs"
    # A push repeated with the same idempotency key is applied once (NULLs never collide).
    __table_args__ = (UniqueConstraint("source_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("roster_sources.id"), index=True)
    #: ``snapshot`` (absent people are leavers) or ``delta`` (explicit joins and leaves).
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, "import_status"))
    actor_label: Mapped[str] = mapped_column(String(254))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    #: SHA-256 of the uploaded bytes: the same file imported twice is recognised.
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    #: An idempotency key given by an API client.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    #: JSON object of counts: new, changed, leaving, unchanged, rejected, …
    counts: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON object: the first rows of each kind, for the preview and the run's page.
    samples: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON list of every rejected row: line, external_id, reason.
    problems: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The import date: leavers' memberships end on it, joiners' start on it.
    effective_on: Mapped[date] = mapped_column(Date)
    #: Lines in the file (for progress while it is checked or applied).
    lines_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Why a failed import stopped.
    error: Mapped[str] = mapped_column(Text, default="", server_default="")

    source: Mapped[RosterSource] = relationship()


class ServiceToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for one roster source's push API: scoped, expiring, revocable.

    The token itself (a JWT) is shown once when made; only its id is stored.
    """

    __tablename__ = "service_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The JWT's ``jti``.
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("roster_sources.id"), index=True)
    #: What the token is for, as the secretary named it: "HR system nightly feed".
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[RosterSource] = relationship()
