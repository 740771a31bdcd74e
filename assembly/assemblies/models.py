"""The annual public assembly: its rules, the meeting, leader candidates, attendance, the
votes in the room, their ballots, and the leaders' terms.

Each vote owns a poll (``polls.models``), as a board election's contest does: its ballots,
roll marks and paper batches are the poll's. Secrecy as for board elections (DESIGN §6): a
ballot has a random id, a tracker, its content, the constituency it counts for (needed when
constituency weighting is on) and the date — no attendee, no time of day. Whether an
attendee has voted in a vote is a separate row whose primary key is (poll, person): the
database refuses a second vote, on the phone or on paper.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assembly.assemblies.states import AssemblyState
from assembly.auth.models import User
from assembly.clock import utcnow
from assembly.e2e.models import Ceremony
from assembly.extensions import db
from assembly.membership.models import Constituency, Institution, Membership, Person
from assembly.polls.models import Poll, PollKind
from assembly.sqltypes import UTCDateTime, enum_column

__all__ = [
    "Assembly",
    "AssemblyCandidate",
    "AssemblyCandidateStatus",
    "AssemblyCard",
    "AssemblyMethod",
    "AssemblyOutcome",
    "AssemblyRules",
    "Attendance",
    "LeaderTerm",
    "Vote",
    "VoteKind",
    "VoteState",
]


class AssemblyMethod(enum.StrEnum):
    #: One preferential ballot counted by instant runoff.
    irv = "irv"
    #: Exhaustive rounds: each a new single-choice vote; the lowest is excluded until one
    #: candidate has more than half the votes.
    rounds = "rounds"


class QuorumRules:
    """Quorum and voting rules shared by the institution's settings and each assembly."""

    #: At least this many members present (0: no fixed number).
    quorum_members: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: And at least this share of the members (numerator/denominator; 0/1: none).
    quorum_share_numerator: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quorum_share_denominator: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: And at least this many present from each constituency that has members (0: none).
    quorum_per_constituency: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    method: Mapped[AssemblyMethod] = mapped_column(
        enum_column(AssemblyMethod, "assembly_method"), default=AssemblyMethod.irv
    )
    #: Constituency weighting: each constituency's votes together weigh its share. Off by
    #: default: one member, one vote.
    weighting: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Whether a member who checks in after a vote opened may vote in it.
    late_arrivals_vote: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    @property
    def quorum_share(self) -> Fraction:
        return Fraction(self.quorum_share_numerator, self.quorum_share_denominator)

    @quorum_share.setter
    def quorum_share(self, value: Fraction) -> None:
        self.quorum_share_numerator = value.numerator
        self.quorum_share_denominator = value.denominator


class AssemblyRules(QuorumRules, db.Model):  # type: ignore[name-defined]
    """An institution's standing rules for its annual assembly (copied into each assembly
    when it is scheduled, so that changing them never changes an assembly under way)."""

    __tablename__ = "assembly_rules"
    __table_args__ = (
        CheckConstraint("term_months BETWEEN 1 AND 60", name="term_months_range"),
        CheckConstraint("notice_days >= 0", name="notice_days_not_negative"),
        CheckConstraint("quorum_share_denominator > 0", name="quorum_share_denominator_positive"),
    )

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    #: The leader's term, in months (one year by default).
    term_months: Mapped[int] = mapped_column(Integer, default=12)
    #: Clear days of notice: neither the day the notice goes nor the day of the assembly count.
    notice_days: Mapped[int] = mapped_column(Integer, default=14)

    institution: Mapped[Institution] = relationship()


class AssemblyOutcome(enum.StrEnum):
    elected = "elected"
    #: The only candidate was not confirmed by the room.
    not_confirmed = "not-confirmed"
    #: Nobody stood.
    no_candidates = "no-candidates"


class Assembly(QuorumRules, db.Model):  # type: ignore[name-defined]
    """One annual public assembly of an institution's members."""

    __tablename__ = "assemblies"
    __table_args__ = (
        CheckConstraint("term_months BETWEEN 1 AND 60", name="term_months_range"),
        CheckConstraint("quorum_share_denominator > 0", name="quorum_share_denominator_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    #: Local time the meeting starts, "18:30".
    starts_at: Mapped[str] = mapped_column(String(5), default="18:30")
    venue: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[AssemblyState] = mapped_column(
        enum_column(AssemblyState, "assembly_state"), default=AssemblyState.scheduled
    )
    #: Copied from the institution's rules when scheduled.
    leader_title: Mapped[str] = mapped_column(String(100))
    term_months: Mapped[int] = mapped_column(Integer, default=12)
    notice_days: Mapped[int] = mapped_column(Integer, default=14)
    #: Applications to stand close at the end of this day.
    applications_close_on: Mapped[date] = mapped_column(Date)
    #: Seed of every lot drawn at this assembly, fixed when it is scheduled; its SHA-256 is
    #: printed on the notice and shown on the screen before any vote.
    seed: Mapped[str] = mapped_column(String(64))
    returning_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The deployment's election key that signs the record: the current one at scheduling.
    signing_key_id: Mapped[int | None] = mapped_column(ForeignKey("signing_keys.id"))
    #: The returning officer's own public key, registered before the assembly; they
    #: countersign the record with its private part.
    officer_public_key: Mapped[str] = mapped_column(String(64), default="")
    officer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    candidates_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[AssemblyOutcome | None] = mapped_column(
        enum_column(AssemblyOutcome, "assembly_outcome")
    )
    #: The candidate elected (an ``assembly_candidates`` id; no foreign key, which would make
    #: the two tables refer to each other).
    leader_candidate_id: Mapped[int | None] = mapped_column(Integer)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the ballots were deleted under the retention rule (the signed record keeps them).
    ballots_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The assembly this one reconvenes, when the first elected no leader.
    reconvenes_id: Mapped[int | None] = mapped_column(ForeignKey("assemblies.id"))
    cancelled_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The votes' online ballots are end-to-end verifiable: encrypted on the phone, signed
    #: with a card handed out at the door, shuffled and opened by the trustees after each
    #: vote (``assemblies.e2e``). Set when the assembly is scheduled.
    e2e: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The trustees' key ceremony, once the returning officer has named them.
    ceremony_id: Mapped[int | None] = mapped_column(ForeignKey("e2e_ceremonies.id"))

    institution: Mapped[Institution] = relationship()
    returning_officer: Mapped[User | None] = relationship()
    ceremony: Mapped[Ceremony | None] = relationship()
    candidates: Mapped[list[AssemblyCandidate]] = relationship(
        back_populates="assembly",
        order_by="AssemblyCandidate.id",
        foreign_keys="AssemblyCandidate.assembly_id",
    )
    votes: Mapped[list[Vote]] = relationship(back_populates="assembly", order_by="Vote.number")

    def is_returning_officer(self, user: object) -> bool:
        return isinstance(user, User) and user.id == self.returning_officer_id


class AssemblyCandidateStatus(enum.StrEnum):
    #: The incumbent, invited to stand; not yet answered.
    invited = "invited"
    #: Applied (or the incumbent accepted); waiting for the secretary and returning officer.
    applied = "applied"
    valid = "valid"
    invalid = "invalid"
    #: Withdrew, or the incumbent declined.
    withdrawn = "withdrawn"


class AssemblyCandidate(db.Model):  # type: ignore[name-defined]
    """A member standing for leader at an assembly."""

    __tablename__ = "assembly_candidates"
    __table_args__ = (UniqueConstraint("assembly_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    ballot_name: Mapped[str] = mapped_column(String(200))
    #: Plain text, at most 500 words.
    statement: Mapped[str] = mapped_column(Text, default="")
    is_incumbent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[AssemblyCandidateStatus] = mapped_column(
        enum_column(AssemblyCandidateStatus, "assembly_candidate_status"),
        default=AssemblyCandidateStatus.applied,
    )
    #: Why the application was found invalid (told to the applicant).
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assembly: Mapped[Assembly] = relationship(
        back_populates="candidates", foreign_keys=[assembly_id]
    )
    person: Mapped[Person] = relationship()


class Attendance(db.Model):  # type: ignore[name-defined]
    """A member checked in at the door: once per assembly (a database constraint)."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("assembly_id", "person_id"),
        UniqueConstraint("assembly_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituencies.id"))
    #: Order of arrival (1, 2, …): the attendee's entry in each vote's roll commitment.
    number: Mapped[int] = mapped_column(Integer)
    #: Random salt for the attendee's roll commitment in the record.
    salt: Mapped[str] = mapped_column(String(64))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person: Mapped[Person] = relationship()
    membership: Mapped[Membership] = relationship()
    constituency: Mapped[Constituency] = relationship()


class VoteKind(enum.StrEnum):
    #: One candidate: yes, no or abstain.
    confirmation = "confirmation"
    #: A preferential ballot counted by instant runoff.
    irv = "irv"
    #: One round of an exhaustive ballot: one choice.
    round = "round"


class VoteState(enum.StrEnum):
    open = "open"
    #: Closed with encrypted ballots: waiting for the trustees to shuffle and open them.
    closed = "closed"
    counted = "counted"


class Vote(db.Model):  # type: ignore[name-defined]
    """One vote in the room: a confirmation, the preferential ballot, or one round."""

    __tablename__ = "assembly_votes"
    __table_args__ = (UniqueConstraint("assembly_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), index=True)
    #: The vote's poll: what its ballots, roll marks and paper batches hang on.
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), unique=True)
    #: 1, 2, … in the order the chair opened them.
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[VoteKind] = mapped_column(enum_column(VoteKind, "vote_kind"))
    state: Mapped[VoteState] = mapped_column(
        enum_column(VoteState, "vote_state"), default=VoteState.open
    )
    #: The candidates on this vote's ballot (ids, JSON), in ballot order.
    candidate_ids: Mapped[str] = mapped_column(Text)
    #: Its phone ballots are encrypted (``assemblies.e2e``): the chair's choice when opening
    #: it at an assembly scheduled end-to-end verifiable (a vote may be held in today's mode,
    #: if the trustees cannot stay).
    e2e: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The count (canonical JSON), once counted.
    result: Mapped[str] = mapped_column(Text, default="")
    elected_id: Mapped[int | None] = mapped_column(ForeignKey("assembly_candidates.id"))
    excluded_id: Mapped[int | None] = mapped_column(ForeignKey("assembly_candidates.id"))

    assembly: Mapped[Assembly] = relationship(back_populates="votes")
    poll: Mapped[Poll] = relationship()

    def __init__(self, **values: Any) -> None:
        values.setdefault("poll", Poll(kind=PollKind.assembly_vote))
        super().__init__(**values)


class AssemblyCard(db.Model):  # type: ignore[name-defined]
    """The public half of a voting card of an end-to-end verifiable assembly: the returning
    officer's browser made the card's code and printed it; a teller hands one of the member's
    constituency to each member checked in. Nothing links a card to a member."""

    __tablename__ = "assembly_cards"
    __table_args__ = {"sqlite_with_rowid": False}

    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), primary_key=True)
    credential: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The key of the constituency whose members are given it.
    constituency: Mapped[str] = mapped_column(String(40))


class LeaderTerm(db.Model):  # type: ignore[name-defined]
    """A leader's term, from the assembly that elected them."""

    __tablename__ = "leader_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assemblies.id"), unique=True)
    ballot_name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)

    person: Mapped[Person] = relationship()
    assembly: Mapped[Assembly] = relationship()
