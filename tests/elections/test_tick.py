"""The timer's dated steps: nominations open with the notice of election to every member,
close with the roll frozen and uncontested contests declared, the poll opens with voting
information to every voter, and closes — each once, however often the timer runs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from fractions import Fraction

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from assembly.audit.models import AuditEvent
from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.elections.models import (
    Candidate,
    CandidateStatus,
    ContestResult,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    create_election,
    register_officer_key,
    tick,
)
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.notices.delivery import render_pending
from assembly.notices.models import OutboxMessage
from assembly.records.models import SigningKey
from assembly.records.signing import fingerprint, group_fingerprint
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import OFFICER_PUBLIC_KEY
from tests.elections.test_setup import GOOD

TIMER = SystemActor("timer")


def _approved(slug: str, seats: int = 9) -> Election:
    school = make_institution(slug=slug)
    secretary, officer = make_user(f"sec@{slug}.org"), make_user(f"ro@{slug}.org")
    grant(secretary, school, Role.secretary)
    grant(officer, school, Role.returning_officer)
    third = Fraction(1, 3)
    election = create_election(
        secretary,
        school,
        ElectionSettings(
            title="Governors 2027",
            seats=seats,
            apportionment="largest-remainder",
            weights={"workers": third, "users": third, "community": third},
            methods=dict.fromkeys(("workers", "users", "community"), CountMethod.stv),
            timetable=GOOD,
            returning_officer_id=officer.id,
        ),
    )
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    approve_election(officer, election, today=date(2027, 4, 1))
    db.session.commit()
    return election


def _stand(election: Election, key: str, count: int) -> None:
    """``count`` members of ``key`` stand and are found valid."""
    contest = next(c for c in election.contests if c.constituency.key == key)
    for n in range(count):
        member = make_member(election.institution, key, family_name=f"Candidate{key}{n}")
        db.session.add(
            Candidate(
                contest_id=contest.id,
                person_id=member.person_id,
                ballot_name=f"Candidate {n}",
                status=CandidateStatus.valid,
            )
        )
    db.session.commit()


def _notices(kind: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind)
    )


def test_each_step_happens_on_its_date_and_only_once(app: Flask) -> None:
    """Nothing before the notice date; then nominations open (one notice per member with an
    email), close, the poll opens and closes — and running again changes nothing."""
    election = _approved("tick-school")
    school = election.institution
    make_member(school, "workers", email="w1@example.org")
    paper = make_member(school, "workers", given_name="Paper")
    paper.person.email = None  # no email: a printed letter instead
    db.session.commit()
    make_member(school, "users", email="u1@example.org")
    assert tick(TIMER, GOOD.notice_of_election_on - timedelta(days=1)) == []
    done = tick(TIMER, GOOD.notice_of_election_on)
    db.session.commit()
    assert [state for _, state in done] == [ElectionState.nominations_open]
    assert _notices("notice_of_election") == 2
    assert tick(TIMER, GOOD.notice_of_election_on) == []
    assert _notices("notice_of_election") == 2
    _stand(election, "users", 4)
    assert tick(TIMER, GOOD.nominations_close_on) == []  # closes at the end of the day
    done = tick(TIMER, GOOD.nominations_close_on + timedelta(days=1))
    db.session.commit()
    assert [state for _, state in done] == [ElectionState.nominations_closed]
    done = tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    assert [state for _, state in done] == [ElectionState.poll_open]
    # Only the users contest has a poll: its 1 + 4 voters with email get voting information.
    assert _notices("voting_information") == 5
    done = tick(TIMER, GOOD.poll_closes_on + timedelta(days=1))
    db.session.commit()
    assert [state for _, state in done] == [ElectionState.poll_closed]
    assert tick(TIMER, GOOD.poll_closes_on + timedelta(days=30)) == []
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("election.%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions[-4:] == [
        "election.nominations_opened",
        "election.nominations_closed",
        "election.poll_opened",
        "election.poll_closed",
    ]


def test_a_late_timer_makes_every_missed_step_in_order(app: Flask) -> None:
    """A timer that first runs after the close of poll still makes all four steps in order."""
    election = _approved("late-timer")
    _stand(election, "workers", 5)
    done = tick(TIMER, GOOD.poll_closes_on + timedelta(days=2))
    db.session.commit()
    assert [state for _, state in done] == [
        ElectionState.nominations_open,
        ElectionState.nominations_closed,
        ElectionState.poll_open,
        ElectionState.poll_closed,
    ]
    assert election.state == ElectionState.poll_closed


def test_the_roll_is_frozen_at_the_close_of_nominations(app: Flask) -> None:
    """The roll holds the constituency's members current that day and old enough; a member who
    left before, or who is under the minimum age, is not on it; numbers run from 1."""
    election = _approved("roll-school")
    school = election.institution
    community = next(c for c in school.constituencies if c.key == "community")
    community.minimum_age = 16
    db.session.commit()
    make_member(school, "community", family_name="Adult", date_of_birth=date(1990, 1, 1))
    make_member(school, "community", family_name="Young", date_of_birth=date(2015, 1, 1))
    gone = make_member(school, "community", family_name="Gone")
    gone.left_on = GOOD.notice_of_election_on
    later = make_member(school, "community", family_name="Later")
    later.joined_on = GOOD.nominations_close_on + timedelta(days=1)
    db.session.commit()
    _stand(election, "community", 4)
    tick(TIMER, GOOD.nominations_close_on + timedelta(days=1))
    db.session.commit()
    contest = next(c for c in election.contests if c.constituency.key == "community")
    entries = db.session.scalars(
        select(RollEntry).where(RollEntry.contest_id == contest.id).order_by(RollEntry.number)
    ).all()
    names = [e.person.family_name for e in entries]
    assert "Adult" in names and "Young" not in names and "Gone" not in names
    assert "Later" not in names
    assert [e.number for e in entries] == list(range(1, len(entries) + 1))
    assert contest.roll_size == len(entries) == 5  # Adult and the four candidates
    assert len({e.salt for e in entries}) == len(entries)


def test_uncontested_contests_are_declared_without_a_poll(app: Flask) -> None:
    """A contest with no more valid candidates than seats is declared at the close of
    nominations, unfilled seats reported; when all are, the election is declared."""
    election = _approved("uncontested", seats=3)
    _stand(election, "workers", 1)
    _stand(election, "users", 1)
    tick(TIMER, GOOD.nominations_close_on + timedelta(days=1))
    db.session.commit()
    assert election.state == ElectionState.declared and election.declared_at is not None
    results = db.session.scalars(select(ContestResult)).all()
    assert len(results) == 3
    assert sorted(len(json.loads(r.elected)) for r in results) == [0, 1, 1]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "election.nominations_closed")
    ).one()
    assert json.loads(event.data)["uncontested"]["community"] == {"elected": 0, "unfilled": 1}
    assert tick(TIMER, GOOD.poll_opens_on) == []


def test_notices_render_with_how_to_stand_and_a_personal_link(app: Flask) -> None:
    """The notice of election says how and by when to stand; voting information carries the
    elector number and a personal sign-in link."""
    election = _approved("notice-school")
    make_member(election.institution, "users", email="voter@example.org", given_name="Vera")
    _stand(election, "users", 4)
    tick(TIMER, GOOD.notice_of_election_on)
    db.session.commit()
    notice = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "voter@example.org")
    ).one()
    assert render_pending(notice)
    assert notice.subject == "Notice of election: Governors 2027"
    assert "Dear Vera" in notice.body_text and "28 May 2027" in notice.body_text
    with app.test_request_context():
        tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    poll_card = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "voting_information",
            OutboxMessage.to_address == "voter@example.org",
        )
    ).one()
    from unittest import mock

    with mock.patch("assembly.elections.notices.utcnow", return_value=_noon(GOOD.poll_opens_on)):
        assert render_pending(poll_card)
    assert "Your elector number is" in poll_card.body_text
    assert "/sign-in/link/" in poll_card.body_text
    # The notice of poll prints the fingerprints of the keys that must sign the record.
    election = db.session.scalars(select(Election)).one()
    key = db.session.get(SigningKey, election.signing_key_id)
    assert key is not None
    assert f"election key {group_fingerprint(key.fingerprint)}" in poll_card.body_text
    assert f"returning officer {group_fingerprint(fingerprint(OFFICER_PUBLIC_KEY))}" in (
        poll_card.body_text
    )


def _noon(day: date):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(12), UTC)


def test_the_cli_ticks_and_says_what_it_did(app: Flask, runner: FlaskCliRunner) -> None:
    """`assembly elections tick --date D` makes the due steps and prints them."""
    _approved("cli-tick")
    result = runner.invoke(
        args=["elections", "tick", "--date", GOOD.notice_of_election_on.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "nominations open" in result.output and "1 step(s)" in result.output
    again = runner.invoke(
        args=["elections", "tick", "--date", GOOD.notice_of_election_on.isoformat()]
    )
    assert "0 step(s)" in again.output


def test_voters_who_have_not_voted_are_reminded_once(app: Flask) -> None:
    """On the reminder day the timer queues one reminder per voter with an email who has not
    voted; a voter who votes before it is sent gets nothing; it never goes twice."""
    from assembly.elections.operations import reminder_due_on
    from assembly.polls.models import Channel, RollMark

    election = _approved("remind-school")
    make_member(election.institution, "users", email="late@example.org", given_name="Late")
    make_member(election.institution, "users", email="keen@example.org", given_name="Keen")
    _stand(election, "users", 4)
    tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    day = reminder_due_on(election)
    assert day is not None and GOOD.poll_opens_on < day < GOOD.poll_closes_on
    tick(TIMER, day - timedelta(days=1))
    assert _notices("voting_reminder") == 0
    keen = db.session.scalars(
        select(RollEntry)
        .join(RollEntry.person)
        .where(RollEntry.person.has(email="keen@example.org"))
    ).one()
    db.session.add(
        RollMark(poll_id=keen.contest.poll_id, person_id=keen.person_id, channel=Channel.online)
    )
    db.session.commit()
    tick(TIMER, day)
    db.session.commit()
    assert _notices("voting_reminder") == 5  # 6 voters with email, one has voted
    tick(TIMER, day + timedelta(days=1))
    assert _notices("voting_reminder") == 5
    late = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "voting_reminder", OutboxMessage.to_address == "late@example.org"
        )
    ).one()
    from unittest import mock

    with mock.patch("assembly.elections.notices.utcnow", return_value=_noon(day)):
        assert render_pending(late)
    assert late.subject.startswith("Reminder: vote by")
