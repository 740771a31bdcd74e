"""Board elections: the election, its contests, candidates and frozen roll, and each
contest's count.

Each contest owns a poll (``polls.models``): its ballots, roll marks and paper batches are
the poll's, the same tables as an assembly vote's. Secrecy is built into them (DESIGN §6): a
ballot has a random id, a tracker, its content, its poll and the *date* it was cast — no
voter, no time of day; whether a voter has voted is a separate row whose primary key is the
poll and the person, so the database itself refuses a second vote, however many requests race.
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

from assembly.auth.models import User
from assembly.clock import utcnow
from assembly.counting.rulesets import DEFAULT_RULES
from assembly.e2e.models import Ceremony
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.membership.models import Constituency, Institution, Person
from assembly.polls.marks import CountMethod
from assembly.polls.models import Poll, PollKind
from assembly.sqltypes import UTCDateTime, enum_column

__all__ = [
    "Candidate",
    "CandidateOrder",
    "CandidateStatus",
    "Contest",
    "ContestResult",
    "CountMethod",
    "Election",
    "RollEntry",
]


class CandidateOrder(enum.StrEnum):
    #: Alphabetical by family name, then given name (the Model Election Rules' ballot paper).
    alphabetical = "alphabetical"
    #: Rotated per voter, so no candidate gains by being first.
    rotated = "rotated"


class Election(db.Model):  # type: ignore[name-defined]
    """A board election: N seats shared among the institution's constituencies."""

    __tablename__ = "elections"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint(
            "notice_of_election_on < nominations_close_on"
            " AND nominations_close_on < withdrawals_close_on"
            " AND withdrawals_close_on < poll_opens_on"
            " AND poll_opens_on <= poll_closes_on",
            name="timetable_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    #: As printed on notices: "Election of governors 2027".
    title: Mapped[str] = mapped_column(String(200))
    #: Board seats to fill, shared among the contests by ``apportionment``.
    seats: Mapped[int] = mapped_column(Integer)
    #: ``largest-remainder`` (default) or ``sainte-lague`` (see assembly.counting.apportionment).
    apportionment: Mapped[str] = mapped_column(String(30), default="largest-remainder")
    state: Mapped[ElectionState] = mapped_column(
        enum_column(ElectionState, "election_state"), default=ElectionState.draft
    )
    candidate_order: Mapped[CandidateOrder] = mapped_column(
        enum_column(CandidateOrder, "candidate_order"), default=CandidateOrder.alphabetical
    )
    notice_of_election_on: Mapped[date] = mapped_column(Date)
    nominations_close_on: Mapped[date] = mapped_column(Date)
    withdrawals_close_on: Mapped[date] = mapped_column(Date)
    poll_opens_on: Mapped[date] = mapped_column(Date)
    #: The poll closes at the end of this day (Europe/London).
    poll_closes_on: Mapped[date] = mapped_column(Date)
    #: Working days before the close on which non-voters are reminded (0: no reminder).
    reminder_days_before_close: Mapped[int] = mapped_column(Integer, default=3)
    #: The returning officer who approves the set-up, validates nominations and declares.
    returning_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: SHA-256 of the settings the returning officer approved (changes need a new approval).
    approved_settings: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Seed for every lot drawn in this election, fixed when it is approved.
    seed: Mapped[str] = mapped_column(String(64), default="")
    #: The deployment's election key that signs this election's receipts and record: the
    #: current one when the election was approved.
    signing_key_id: Mapped[int | None] = mapped_column(ForeignKey("signing_keys.id"))
    #: The returning officer's own public key (base64), registered before the poll opens;
    #: they countersign the record with its private part, which the server never holds.
    officer_public_key: Mapped[str] = mapped_column(String(64), default="")
    officer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    roll_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Online ballots are encrypted in the voter's browser and opened by the trustees after
    #: a shuffle (``assembly.e2e``): a setting, approved with the others.
    e2e: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The trustees' key ceremony, once the returning officer has named them.
    ceremony_id: Mapped[int | None] = mapped_column(ForeignKey("e2e_ceremonies.id"))
    #: When the reminders to voters who had not voted were queued (they go once).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the ballots were deleted under the retention rule (the signed record keeps them).
    ballots_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")

    institution: Mapped[Institution] = relationship()
    returning_officer: Mapped[User | None] = relationship()
    ceremony: Mapped[Ceremony | None] = relationship()
    contests: Mapped[list[Contest]] = relationship(
        back_populates="election", order_by="Contest.id", cascade="all, delete-orphan"
    )

    def is_returning_officer(self, user: object) -> bool:
        """Whether ``user`` is this election's returning officer."""
        return isinstance(user, User) and user.id == self.returning_officer_id


class Contest(db.Model):  # type: ignore[name-defined]
    """One constituency's part of an election: its seats, method, candidates and roll."""

    __tablename__ = "contests"
    __table_args__ = (
        UniqueConstraint("election_id", "constituency_id"),
        CheckConstraint("seats >= 0", name="seats_not_negative"),
        CheckConstraint("weight_numerator >= 0", name="weight_not_negative"),
        CheckConstraint("weight_denominator > 0", name="weight_denominator_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    constituency_id: Mapped[int] = mapped_column(ForeignKey("constituencies.id"))
    #: The contest's poll: what its ballots, roll marks and paper batches hang on.
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), unique=True)
    #: This election's weight for the constituency (from the institution, editable).
    weight_numerator: Mapped[int] = mapped_column(Integer)
    weight_denominator: Mapped[int] = mapped_column(Integer)
    #: Seats apportioned to this contest.
    seats: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[CountMethod] = mapped_column(
        enum_column(CountMethod, "count_method"), default=CountMethod.stv
    )
    #: The STV rule set the contest is counted by (``counting.rulesets``); plurality
    #: contests keep the default and never read it.
    rules: Mapped[str] = mapped_column(
        String(40), default=DEFAULT_RULES, server_default=DEFAULT_RULES
    )
    #: Voters on the frozen roll (set when the roll is frozen).
    roll_size: Mapped[int] = mapped_column(Integer, default=0)
    #: Declared at the close of nominations without a poll (valid candidates ≤ seats).
    is_uncontested: Mapped[bool] = mapped_column(Boolean, default=False)

    election: Mapped[Election] = relationship(back_populates="contests")
    constituency: Mapped[Constituency] = relationship()
    candidates: Mapped[list[Candidate]] = relationship(
        back_populates="contest", order_by="Candidate.id"
    )
    poll: Mapped[Poll] = relationship()

    def __init__(self, **values: Any) -> None:
        values.setdefault("poll", Poll(kind=PollKind.contest))
        super().__init__(**values)

    @property
    def weight(self) -> Fraction:
        return Fraction(self.weight_numerator, self.weight_denominator)

    @weight.setter
    def weight(self, value: Fraction) -> None:
        self.weight_numerator, self.weight_denominator = value.numerator, value.denominator


class CandidateStatus(enum.StrEnum):
    #: Nominated, waiting for the returning officer.
    nominated = "nominated"
    valid = "valid"
    invalid = "invalid"
    withdrawn = "withdrawn"


class Candidate(db.Model):  # type: ignore[name-defined]
    """A member's nomination in their own constituency's contest."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("contest_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: The name on the ballot paper, as the candidate gave it.
    ballot_name: Mapped[str] = mapped_column(String(200))
    #: Plain text, at most 250 words.
    statement: Mapped[str] = mapped_column(Text, default="")
    #: The candidate declared they are eligible to stand.
    declares_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Declared interests (plain text; "None" is an answer).
    interests: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CandidateStatus] = mapped_column(
        enum_column(CandidateStatus, "candidate_status"), default=CandidateStatus.nominated
    )
    #: Why the returning officer found the nomination invalid (told to the candidate).
    reason: Mapped[str] = mapped_column(Text, default="")
    nominated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contest: Mapped[Contest] = relationship(back_populates="candidates")
    person: Mapped[Person] = relationship()


class RollEntry(db.Model):  # type: ignore[name-defined]
    """One voter on a contest's roll, frozen at the close of nominations."""

    __tablename__ = "roll_entries"
    __table_args__ = (
        UniqueConstraint("contest_id", "person_id"),
        UniqueConstraint("contest_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: Elector number within the contest (printed on letters and paper ballots' lists).
    number: Mapped[int] = mapped_column(Integer)
    #: Random salt for the voter's commitment in the published record (issue: records).
    salt: Mapped[str] = mapped_column(String(64))

    contest: Mapped[Contest] = relationship()
    person: Mapped[Person] = relationship()


class ContestResult(db.Model):  # type: ignore[name-defined]
    """A contest's count: one per contest (a database constraint), kept as the count's record."""

    __tablename__ = "contest_results"

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    #: The counting core's result (stages, lots, elected), as canonical JSON.
    result: Mapped[str] = mapped_column(Text)
    #: Elected candidate ids, in order of election, as JSON.
    elected: Mapped[str] = mapped_column(Text)
    ballots_counted: Mapped[int] = mapped_column(Integer)
    #: Roll entries marked as voted when counted (the poll is closed: it cannot change), so
    #: that the results page and every declaration notice need not count the roll again.
    voted: Mapped[int] = mapped_column(Integer)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
