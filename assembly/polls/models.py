"""The tables every poll has: the poll's own row, its ballots, its roll marks and its paper
batches. A board election's contest and an assembly's vote each own one poll (their
``poll_id``); what differs between them (nominations and the frozen roll; check-in, quorum
and rounds) stays in their own tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from assembly.clock import utcnow
from assembly.extensions import db
from assembly.sqltypes import UTCDateTime, enum_column

__all__ = ["Ballot", "BatchStatus", "Channel", "PaperBatch", "Poll", "PollKind", "RollMark"]


class PollKind(enum.StrEnum):
    #: One constituency's seats in a board election.
    contest = "contest"
    #: One vote at an annual assembly (a confirmation, the preferential ballot, a round).
    assembly_vote = "assembly_vote"


class Channel(enum.StrEnum):
    #: On the web: a member's own browser, or their phone in the room.
    online = "online"
    #: A paper or postal ballot, entered in a batch.
    paper = "paper"
    #: A ranking opened after an end-to-end verifiable poll's shuffles (its tracker is the
    #: opened row's): cast encrypted online, and linked to no cast ballot. Never a roll mark's.
    encrypted = "encrypted"


class BatchStatus(enum.StrEnum):
    #: One entry made; waiting for the second, by another person.
    first_entered = "first_entered"
    #: Both entries matched: the ballots are stored.
    accepted = "accepted"
    #: The second entry differed (or the batch was set aside): kept, counted never.
    rejected = "rejected"


class Poll(db.Model):  # type: ignore[name-defined]
    """One question put to a roll of voters: the row every ballot, mark and batch hangs on."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PollKind] = mapped_column(enum_column(PollKind, "poll_kind"))


class RollMark(db.Model):  # type: ignore[name-defined]
    """ "This person has voted in this poll": the primary key makes a second vote impossible.

    Written in the same transaction as the ballot, but holding nothing that links to it.
    """

    __tablename__ = "poll_marks"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))


class PaperBatch(db.Model):  # type: ignore[name-defined]
    """A batch of paper or postal ballots, entered twice by two people (``polls.paper``)."""

    __tablename__ = "poll_batches"
    __table_args__ = (
        # One batch waits for its second entry per label (``polls.paper``).
        Index(
            "uq_poll_batches_waiting",
            "poll_id",
            "constituency",
            "label",
            unique=True,
            sqlite_where=text("status = 'first_entered'"),
            postgresql_where=text("status = 'first_entered'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), index=True)
    #: The constituency whose papers these are, where the poll counts them apart (an
    #: assembly's room); empty where the poll is one constituency's (a contest).
    constituency: Mapped[str] = mapped_column(String(40), default="")
    #: The label written on the batch ("Postal 3", "Ward B box 2").
    label: Mapped[str] = mapped_column(String(100))
    status: Mapped[BatchStatus] = mapped_column(
        enum_column(BatchStatus, "paper_batch_status"), default=BatchStatus.first_entered
    )
    #: The first entry, as canonical JSON.
    first_entry: Mapped[str] = mapped_column(Text)
    first_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    second_entry: Mapped[str] = mapped_column(Text, default="")
    second_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Ballot(db.Model):  # type: ignore[name-defined]
    """The content of one vote, with no link to the voter and no time finer than a date."""

    __tablename__ = "poll_ballots"
    # Without a rowid, SQLite keeps no hidden counter of the order ballots were stored in:
    # rows are kept in the order of their random ids.
    __table_args__ = {"sqlite_with_rowid": False}

    #: Random (not sequential, so the order of casting cannot be read from it).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), index=True)
    #: The code the voter keeps to find their ballot in the published record.
    tracker: Mapped[str] = mapped_column(String(32), unique=True)
    #: The constituency the ballot counts for, where the poll weights constituencies (an
    #: assembly's vote); empty where the poll is one constituency's (a contest).
    constituency: Mapped[str] = mapped_column(String(40), default="")
    #: The preferences: candidate ids in order, as JSON (``[12, 9, 14]``); empty for a blank
    #: or a confirmation ballot.
    ranking: Mapped[str] = mapped_column(Text, default="[]")
    #: ``yes``, ``no`` or ``abstain`` on a confirmation ballot; empty otherwise.
    choice: Mapped[str] = mapped_column(String(10), default="")
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    cast_on: Mapped[date] = mapped_column()
    #: The paper batch it came in, for paper ballots (a batch holds many voters' papers).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("poll_batches.id"))
