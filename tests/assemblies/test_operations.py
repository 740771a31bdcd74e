"""The assembly's rules through its operations: notice, candidates, check-in, quorum, the
late-arrival rule and one vote per attendee. Every refusal leaves the database unchanged."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidateStatus,
    Attendance,
    Vote,
    VoteKind,
)
from assembly.assemblies.operations import (
    AlreadyCheckedIn,
    apply_to_stand,
    cast_assembly_vote,
    check_in,
    earliest_date,
    latest_notice_on,
    open_vote,
    publish_candidates,
    quorum_status,
    schedule_assembly,
    send_notice,
)
from assembly.assemblies.paper import enter_paper_batch, give_paper, parse_papers
from assembly.assemblies.states import AssemblyState
from assembly.auth.actors import SYSTEM
from assembly.errors import Conflict, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.notices.models import OutboxMessage
from assembly.polls.casting import AlreadyVoted
from assembly.polls.models import Ballot, RollMark
from tests.assemblies.helpers import HELD_ON, SCHEDULED_ON, make_room
from tests.conftest import make_institution, make_member, make_user
from tests.membership.test_imports import database_fingerprint


def _schedule(institution: Institution, held_on: date = HELD_ON) -> Assembly:
    """Schedule an assembly in the hall on ``held_on``, on the tests' scheduling day."""
    return schedule_assembly(
        SYSTEM,
        institution,
        title="",
        held_on=held_on,
        starts_at="18:30",
        venue="Hall",
        agenda="",
        returning_officer_id=None,
        today=SCHEDULED_ON,
    )


def _count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_notice_periods_count_clear_days() -> None:
    """14 clear days: neither the day of the notice nor the day of the assembly counts."""
    held = SCHEDULED_ON + timedelta(days=15)
    assert latest_notice_on(held, 14) == SCHEDULED_ON
    assert earliest_date(SCHEDULED_ON, 14) == held


def test_a_date_with_too_little_notice_is_refused(app: Flask) -> None:
    """Scheduling 14 days ahead with 14 clear days' notice is refused with the earliest date;
    nothing is stored."""
    institution = make_institution(slug="short-notice")
    before = database_fingerprint()
    with pytest.raises(RuleViolation, match=r"Too little notice.*at the earliest"):
        _schedule(institution, SCHEDULED_ON + timedelta(days=14))
    db.session.rollback()
    assert database_fingerprint() == before


def test_a_notice_sent_too_late_is_refused(app: Flask) -> None:
    """A scheduled assembly whose notice was not sent in time cannot be noticed later."""
    institution = make_institution(slug="late-notice")
    make_member(institution, "workers")
    assembly = _schedule(institution)
    db.session.commit()
    late = latest_notice_on(HELD_ON, 14) + timedelta(days=1)
    with pytest.raises(RuleViolation, match="Too late to give 14 clear days' notice"):
        send_notice(SYSTEM, assembly, late)
    db.session.rollback()
    assert db.session.get(Assembly, assembly.id).state == AssemblyState.scheduled
    assert _count(OutboxMessage) == 0


def test_the_notice_goes_to_every_member_and_invites_the_incumbent(app: Flask) -> None:
    """One notice per current member; a second schedule while one is pending is refused."""
    room = make_room("notice-school", open_it=False)
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("notice_of_assembly") == 9
    assert kinds.count("notice_of_candidates") == 9
    with pytest.raises(Conflict, match="already scheduled"):
        _schedule(room.institution, HELD_ON + timedelta(days=30))


def test_applications_follow_the_rules(app: Flask) -> None:
    """A statement over 500 words is refused; publishing waits for every decision."""
    room = make_room("apply-school", standing=0, open_it=False)
    # make_room published already: a new room that has not.
    assert room.assembly.candidates_published_at is not None
    with pytest.raises(InvalidTransition):
        apply_to_stand(
            SYSTEM,
            room.assembly,
            room.members["users"][0].person,
            ballot_name="Late",
            statement="x",
            today=SCHEDULED_ON + timedelta(days=2),
        )


def test_statement_length_and_pending_applications(app: Flask) -> None:
    institution = make_institution(slug="statement-school")
    member = make_member(institution, "users", email="stand@statement-school.org")
    assembly = _schedule(institution)
    send_notice(SYSTEM, assembly, SCHEDULED_ON)
    db.session.commit()
    with pytest.raises(RuleViolation, match="501 words"):
        apply_to_stand(
            SYSTEM,
            assembly,
            member.person,
            ballot_name="Ann",
            statement="word " * 501,
            today=SCHEDULED_ON,
        )
    db.session.rollback()
    candidate = apply_to_stand(
        SYSTEM, assembly, member.person, ballot_name="Ann", statement="Hello", today=SCHEDULED_ON
    )
    db.session.commit()
    assert candidate.status == AssemblyCandidateStatus.applied
    with pytest.raises(InvalidTransition, match="Applications close"):
        publish_candidates(SYSTEM, assembly, SCHEDULED_ON)
    with pytest.raises(InvalidTransition, match="Decide every application first: 1 waiting"):
        publish_candidates(SYSTEM, assembly, assembly.applications_close_on + timedelta(days=1))
    with pytest.raises(InvalidTransition, match="Applications closed"):
        apply_to_stand(
            SYSTEM,
            assembly,
            member.person,
            ballot_name="Ann",
            statement="Hello",
            today=assembly.applications_close_on + timedelta(days=1),
        )


def test_a_member_is_checked_in_once(app: Flask) -> None:
    """A second check-in of the same member, by another teller, is refused and says when."""
    room = make_room("door-school")
    member = room.members["users"][0]
    first = room.check_in(member)
    assert first.number == 1 and first.constituency.key == "users"
    with pytest.raises(AlreadyCheckedIn, match="checked in already"):
        check_in(room.secretary, room.assembly, member.person)
    db.session.rollback()
    assert _count(Attendance) == 1


def test_only_tellers_check_in_and_only_members_count(app: Flask) -> None:
    """A member cannot check anyone in; someone who is not a member is not checked in."""
    room = make_room("teller-school")
    member = room.members["users"][1]
    with pytest.raises(NotEligible, match="Only a teller"):
        check_in(make_user(member.person.email), room.assembly, member.person)
    outsider = make_member(make_institution(slug="elsewhere"), "users")
    with pytest.raises(NotEligible, match="is not a member of Teller School"):
        check_in(room.teller, room.assembly, outsider.person)
    db.session.rollback()
    assert _count(Attendance) == 0


def test_no_vote_while_inquorate(app: Flask) -> None:
    """With a quorum of 4 and 3 present the chair cannot open a vote; with 4 they can."""
    room = make_room("quorum-school", quorum_members=4)
    for membership in room.everyone()[:3]:
        room.check_in(membership)
    status = quorum_status(room.assembly)
    assert (status.present, status.required, status.quorate) == (3, 4, False)
    with pytest.raises(RuleViolation, match="not quorate: 1 more member"):
        open_vote(room.secretary, room.assembly)
    db.session.rollback()
    assert _count(Vote) == 0
    room.check_in(room.everyone()[3])
    vote = open_vote(room.secretary, room.assembly)
    assert vote.kind == VoteKind.irv


def test_quorum_by_share_and_per_constituency(app: Flask) -> None:
    """A third of 9 members is 3; one from each constituency is needed as well."""
    room = make_room("share-school", quorum_share=Fraction(1, 3), quorum_per_constituency=1)
    for membership in room.members["workers"]:
        room.check_in(membership)
    status = quorum_status(room.assembly)
    assert status.required == 3 and status.present == 3 and not status.quorate
    with pytest.raises(RuleViolation, match="too few present from Service users, Local community"):
        open_vote(room.secretary, room.assembly)
    db.session.rollback()
    room.check_in(room.members["users"][0])
    room.check_in(room.members["community"][0])
    assert quorum_status(room.assembly).quorate


def test_one_vote_per_attendee(app: Flask) -> None:
    """A second ballot from the same attendee is refused; one mark, one ballot."""
    room = make_room("once-school")
    attendance = room.check_in(room.members["users"][0])
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    ids = [c.id for c in room.candidates]
    tracker = cast_assembly_vote(attendance, vote, ranking=ids, day=HELD_ON)
    db.session.commit()
    with pytest.raises(AlreadyVoted):
        cast_assembly_vote(attendance, vote, ranking=ids[::-1], day=HELD_ON)
    db.session.rollback()
    assert _count(RollMark) == 1 and _count(Ballot) == 1
    ballot = db.session.scalars(select(Ballot)).one()
    assert ballot.tracker == tracker and ballot.constituency == "users"


def test_late_arrivals_when_the_rules_say_no(app: Flask) -> None:
    """With late arrivals barred, a member checked in after the vote opened cannot vote in
    it; one checked in before can."""
    room = make_room("late-school", late_arrivals_vote=False)
    early = room.check_in(room.members["workers"][2])
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    late = room.check_in(room.members["users"][0])
    ids = [c.id for c in room.candidates]
    with pytest.raises(NotEligible, match="late arrivals do not vote"):
        cast_assembly_vote(late, vote, ranking=ids, day=HELD_ON)
    db.session.rollback()
    cast_assembly_vote(early, vote, ranking=ids, day=HELD_ON)
    db.session.commit()
    assert _count(RollMark) == 1


def test_late_arrivals_may_vote_by_default(app: Flask) -> None:
    room = make_room("late-ok-school")
    room.check_in(room.members["workers"][2])
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    late = room.check_in(room.members["users"][0])
    cast_assembly_vote(late, vote, ranking=[room.candidates[0].id], day=HELD_ON)
    db.session.commit()
    assert _count(RollMark) == 1


def test_a_ballot_must_name_the_votes_candidates(app: Flask) -> None:
    room = make_room("ballot-school")
    attendance = room.check_in(room.members["users"][0])
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    for ranking, choice in (([], ""), ([999], ""), ([room.candidates[0].id] * 2, ""), ([], "yes")):
        with pytest.raises(RuleViolation):
            cast_assembly_vote(attendance, vote, ranking=ranking, choice=choice, day=HELD_ON)
        db.session.rollback()
    assert _count(RollMark) == 0


# --- paper ballots ------------------------------------------------------------------------------


def test_phone_and_paper_never_both(app: Flask) -> None:
    """A member who voted on the phone gets no paper; one given a paper cannot vote on the
    phone; nobody gets two papers."""
    room = make_room("paper-once-school")
    phone = room.check_in(room.members["users"][0])
    paper = room.check_in(room.members["users"][1])
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    ids = [c.id for c in room.candidates]
    cast_assembly_vote(phone, vote, ranking=ids, day=HELD_ON)
    db.session.commit()
    with pytest.raises(AlreadyVoted):
        give_paper(room.teller, vote, phone)
    db.session.rollback()
    give_paper(room.teller, vote, paper)
    db.session.commit()
    with pytest.raises(AlreadyVoted):
        cast_assembly_vote(paper, vote, ranking=ids, day=HELD_ON)
    db.session.rollback()
    with pytest.raises(AlreadyVoted):
        give_paper(room.secretary, vote, paper)
    db.session.rollback()
    marks = db.session.execute(select(RollMark.channel).order_by(RollMark.channel)).scalars()
    assert list(marks) == ["online", "paper"]


def test_a_mismatched_batch_is_refused_then_entered_again(app: Flask) -> None:
    """Two tellers enter the same batch; a second entry that differs rejects it and stores
    nothing; entered again twice alike, it is accepted and its ballots stored."""
    room = make_room("paper-batch-school")
    users = [room.check_in(m) for m in room.members["users"]]
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    for attendance in users:
        give_paper(room.teller, vote, attendance)
    db.session.commit()
    constituency = users[0].constituency
    first = parse_papers("1 2\n2\n2 1", vote)
    batch, outcome = enter_paper_batch(room.teller, vote, constituency, "Box 1", first)
    db.session.commit()
    assert outcome is None and batch.status == "first_entered"
    with pytest.raises(NotEligible, match="another teller"):
        enter_paper_batch(room.teller, vote, constituency, "Box 1", first)
    db.session.rollback()
    wrong = parse_papers("1 2\n1\n2 1", vote)
    _, outcome = enter_paper_batch(room.secretary, vote, constituency, "Box 1", wrong)
    db.session.commit()
    assert outcome is False and _count(Ballot) == 0
    enter_paper_batch(room.teller, vote, constituency, "Box 1", first)
    # The same papers in another order: the same batch.
    _, outcome = enter_paper_batch(
        room.secretary, vote, constituency, "Box 1", parse_papers("2\n2 1\n1 2", vote)
    )
    db.session.commit()
    assert outcome is True
    rankings = sorted(db.session.scalars(select(Ballot.ranking).where(Ballot.channel == "paper")))
    a, b = (c.id for c in room.candidates)
    assert rankings == sorted([f"[{a},{b}]", f"[{b}]", f"[{b},{a}]"])


def test_a_batch_with_more_papers_than_were_given_out_is_refused(app: Flask) -> None:
    room = make_room("paper-count-school")
    attendance = room.check_in(room.members["community"][0])
    vote = open_vote(room.secretary, room.assembly)
    give_paper(room.teller, vote, attendance)
    db.session.commit()
    papers = parse_papers("1\n2", vote)
    enter_paper_batch(room.teller, vote, attendance.constituency, "Box 9", papers)
    db.session.commit()
    before = database_fingerprint()
    with pytest.raises(RuleViolation, match="1 paper\\(s\\) were given out and 0 entered"):
        enter_paper_batch(room.secretary, vote, attendance.constituency, "Box 9", papers)
    db.session.rollback()
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the papers"),
        ("1 x", "Paper line 1: write ballot positions as numbers"),
        ("1\n3", "Paper line 2: ballot positions run from 1 to 2"),
        ("1 1", "Paper line 1: a candidate is marked twice"),
    ],
)
def test_bad_batch_lines_are_named(app: Flask, text: str, message: str) -> None:
    room = make_room("paper-lines-school")
    room.check_in(room.members["users"][0])
    vote = open_vote(room.secretary, room.assembly)
    with pytest.raises(RuleViolation, match=message):
        parse_papers(text, vote)


def test_the_timer_sends_a_notice_on_its_last_day_only(app: Flask, runner: Any) -> None:
    """`assembly elections tick` sends the notice of a scheduled assembly on the last day it
    can go, not before, and only once."""
    institution = make_institution(slug="timer-school")
    make_member(institution, "workers")
    assembly = _schedule(institution)
    db.session.commit()
    last = latest_notice_on(HELD_ON, 14)
    early = runner.invoke(args=["elections", "tick", "--date", SCHEDULED_ON.isoformat()])
    assert early.exit_code == 0 and "notice sent" not in early.output
    due = runner.invoke(args=["elections", "tick", "--date", last.isoformat()])
    assert due.exit_code == 0, due.output
    assert f"assembly {assembly.id}" in due.output and "1 notice(s) sent" in due.output
    again = runner.invoke(args=["elections", "tick", "--date", last.isoformat()])
    assert "notice sent" not in again.output
    db.session.rollback()
    assert db.session.get(Assembly, assembly.id).state == AssemblyState.noticed
    assert _count(OutboxMessage) == 1


def test_the_officer_key_is_read_as_for_a_board_election(app: Flask) -> None:
    """A key pasted with the line breaks a mail client adds is the same key; a wrong one is
    refused with the reason, and the key registered before stays."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from assembly.assemblies.record import register_assembly_officer_key
    from assembly.records.signing import fingerprint, public_key_text
    from tests.elections.polls import OFFICER_PUBLIC_KEY

    room = make_room("key-paste", open_it=False)
    assembly = room.assembly
    with pytest.raises(RuleViolation, match="not a public key made by `assembly keys generate`"):
        register_assembly_officer_key(room.officer, assembly, "not-a-key")
    assert assembly.officer_public_key == OFFICER_PUBLIC_KEY
    other = public_key_text(Ed25519PrivateKey.generate())
    register_assembly_officer_key(room.officer, assembly, other[:20] + "\n" + other[20:] + "\n")
    assert assembly.officer_public_key == other
    assert assembly.officer_fingerprint == fingerprint(other)
