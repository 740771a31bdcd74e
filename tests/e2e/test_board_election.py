"""A board election from set-up to declaration, every person in their own browser.

The secretary sets it up, the returning officer approves it, three members stand and the
returning officer finds them valid; four members vote online from their voting-information
email, a teller and the returning officer each enter the same batch of postal papers; the
returning officer counts and declares. The winners on the declaration equal the counting
core's result on the stored ballots. axe-core checks every main page on the way.

The timetable's dated steps are the timer's job: the test runs ``tick`` for each date. The
service's pages check "today" against the timetable too (nominations until they close, votes
only while the poll is open), and the returning officer cannot approve a notice of election
in the past, so the poll always opens days after the real today. The test therefore moves the
service's today (``StoryClock``) to each date as the timer reaches it; the live server runs in
this process, so its pages read the same clock.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from assembly import clock
from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.counting import count_plurality, count_stv
from assembly.elections.count import contest_profile
from assembly.elections.models import (
    Contest,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.operations import tick
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.membership.models import Person
from assembly.notices.delivery import render_pending
from assembly.notices.models import OutboxMessage
from assembly.polls.models import Ballot, Channel
from assembly.records.record import contest_seed
from assembly.records.signing import fingerprint, group_fingerprint
from tests.conftest import grant, make_institution, make_member, make_user
from tests.e2e.conftest import assert_accessible, expect_flash, fresh, signed_in
from tests.elections.polls import OFFICER_PUBLIC_KEY, countersign

TIMER = SystemActor("timer")
SLUG = "meadow-election"
TITLE = "Election of governors"

#: The workers who stand: (given name, family name); ballot positions 1, 2, 3.
CANDIDATES = (("Ann", "Archer"), ("Ben", "Baker"), ("Cat", "Carter"))
ARCHER, BAKER, CARTER = (f"{given} {family}" for given, family in CANDIDATES)
#: Workers who vote online, and the numbers each writes next to the candidates.
ONLINE = {
    "dee@example.org": {ARCHER: 1},
    "eve@example.org": {BAKER: 1},
    "fay@example.org": {CARTER: 1, BAKER: 2},
    "gus@example.org": {ARCHER: 1, CARTER: 2},
}
#: Workers who vote by post: their papers are entered as a batch.
POSTAL = ("hal@example.org", "ivy@example.org", "jon@example.org")
#: The batch's papers as ballot positions: Baker then Archer; Archer; Baker.
PAPERS = ((2, 1), (1,), (2,))
#: First preferences 3 Archer, 3 Baker, 1 Carter; quota 4. Carter is excluded and Fay's
#: second preference elects Baker: the transfer decides, and no tie calls for a lot.
WINNER = BAKER


class StoryClock:
    """The service's "today" (Europe/London), moved on by the test as the timetable's dates
    come. Every module of the service that imported ``assembly.clock.today`` reads it, the
    live server's request threads included; until a day is set it is the real today."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.day: date | None = None
        self._real = clock.today
        for name, module in list(sys.modules.items()):
            if name != "assembly" and not name.startswith("assembly."):
                continue
            for attribute, value in list(vars(module).items()):
                if value is self._real:
                    monkeypatch.setattr(module, attribute, self.today)

    def today(self) -> date:
        return self.day if self.day is not None else self._real()


def _timer(story: StoryClock, day: date, expected: ElectionState) -> Election:
    """The timer runs on ``day`` (and the service's today becomes ``day``)."""
    fresh()
    story.day = day
    done = tick(TIMER, day)
    db.session.commit()
    assert [state for _, state in done] == [expected]
    election, _ = done[0]
    return election


def _voting_link(email: str) -> str:
    """The personal link in the voter's voting information, rendered as when it is sent."""
    fresh()
    message = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "voting_information", OutboxMessage.to_address == email
        )
    ).one()
    assert render_pending(message)
    db.session.commit()  # the rendered body, and the link's sign-in token
    found = re.search(r"https?://\S+/sign-in/link/\S+", message.body_text)
    assert found, message.body_text
    return found.group(0)


def _elected_on_page(page: Any, constituency: str) -> list[str]:
    """The names under "Elected" in a constituency's section of the results page."""
    row = page.locator(
        f"xpath=//h2[normalize-space()='{constituency}']/following-sibling::dl[1]"
        "/div[dt[normalize-space()='Elected']]/dd"
    )
    return [str(name) for name in row.locator("li").all_inner_texts()]


def _core_result(election: Election, contest: Contest) -> list[str]:
    """The counting core's winners on the contest's stored ballots, with the contest's seed."""
    count = count_stv if contest.method == CountMethod.stv else count_plurality
    result = count(
        contest_profile(contest), contest.seats, seed=contest_seed(election.seed, contest.id)
    )
    return list(result.elected_names)


def test_a_board_election_from_set_up_to_declaration(
    app: Flask, new_page: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set up → approve → nominate → validate → vote online → paper batch twice → close →
    count → declare; the declared winners are the counting core's."""
    story = StoryClock(monkeypatch)
    school = make_institution(slug=SLUG, name="Meadow School")
    grant(make_user("sam@example.org", name="Sam Secretary"), school, Role.secretary)
    grant(make_user("rita@example.org", name="Rita Officer"), school, Role.returning_officer)
    grant(make_user("tom@example.org", name="Tom Teller"), school, Role.teller)
    for given, family in CANDIDATES:
        make_member(
            school,
            "workers",
            email=f"{given.lower()}@example.org",
            given_name=given,
            family_name=family,
        )
    for email in (*ONLINE, *POSTAL):
        make_member(
            school,
            "workers",
            email=email,
            given_name=email.split("@")[0].title(),
            family_name="Voter",
        )

    # -- the secretary sets the election up (the form suggests a timetable that meets the rules)
    secretary = signed_in(new_page, "sam@example.org")
    secretary.goto(f"/institutions/{SLUG}")
    secretary.get_by_role("link", name="Set up and run board elections").click()
    secretary.get_by_role("link", name="Set up a board election").click()
    expect(secretary.get_by_role("heading", name="Set up a board election")).to_be_visible()
    assert_accessible(secretary)
    secretary.get_by_label("Title", exact=True).fill(TITLE)
    secretary.get_by_label("Board seats to fill").fill("3")
    secretary.get_by_role("button", name="Show the seats").click()
    for key in ("workers", "users", "community"):
        expect(secretary.locator(f"#seats-{key}")).to_have_text("1")
    secretary.get_by_label("Returning officer").select_option(
        label="Rita Officer (rita@example.org)"
    )
    secretary.get_by_role("button", name="Save", exact=True).click()
    secretary.wait_for_url(re.compile(r".*/elections/\d+$"))
    expect_flash(secretary, "set up as a draft")
    assert_accessible(secretary)
    election_url = secretary.url
    election_id = int(election_url.rsplit("/", 1)[1])

    # -- the returning officer approves it
    officer = signed_in(new_page, "rita@example.org")
    officer.goto(f"/institutions/{SLUG}")
    officer.get_by_role("link", name="Board elections").click()
    officer.get_by_role("link", name=TITLE).click()
    expect(officer.get_by_text("Waiting for Rita Officer, the returning officer")).to_be_visible()
    # -- they register the public key they made on their own computer, then approve
    officer.get_by_role("link", name="Register your signing key").click()
    officer.get_by_label("Your public key").fill(OFFICER_PUBLIC_KEY)
    officer.get_by_role("button", name="Register my key").click()
    expect_flash(officer, "Your signing key is registered")
    expect(officer.get_by_text(group_fingerprint(fingerprint(OFFICER_PUBLIC_KEY)))).to_be_visible()
    assert_accessible(officer)
    officer.goto(election_url)
    officer.get_by_role("button", name="Approve the set-up").click()
    expect_flash(officer, "You approved the election")
    assert_accessible(officer)
    fresh()
    timetable = db.session.get(Election, election_id)
    assert timetable is not None and timetable.state == ElectionState.approved
    notice_on, nominations_close_on = (
        timetable.notice_of_election_on,
        timetable.nominations_close_on,
    )
    poll_opens_on, poll_closes_on = timetable.poll_opens_on, timetable.poll_closes_on

    # -- the notice of election: nominations open, and three workers stand
    _timer(story, notice_on, ElectionState.nominations_open)
    for number, (given, family) in enumerate(CANDIDATES):
        candidate = signed_in(new_page, f"{given.lower()}@example.org")
        candidate.get_by_role("link", name=TITLE).click()
        if number == 0:
            assert_accessible(candidate)
        candidate.get_by_role("link", name="Stand as a candidate").click()
        if number == 0:
            assert_accessible(candidate)
        ballot_name = candidate.get_by_label("Your name as it should appear on the ballot paper")
        expect(ballot_name).to_have_value(f"{given} {family}")
        candidate.get_by_label("Your statement").fill(f"{given} will listen to every worker.")
        candidate.get_by_label("Your declared interests").fill("None")
        candidate.get_by_label("I declare that I am eligible").check()
        candidate.get_by_role("button", name="Make my nomination").click()
        expect_flash(candidate, "Your nomination is made")
        expect(candidate.get_by_text("Waiting for the returning officer")).to_be_visible()

    # -- the returning officer finds every nomination valid
    officer.goto(election_url)
    officer.get_by_role("link", name="Check the nominations").click()
    expect(officer.get_by_text("3 nominations are waiting for your decision.")).to_be_visible()
    assert_accessible(officer)
    for number, name in enumerate((ARCHER, BAKER, CARTER)):
        officer.get_by_role("link", name=f"Decide on {name}").click()
        if number == 0:
            assert_accessible(officer)
        officer.get_by_label("Valid: the candidate stands in the election").check()
        officer.get_by_role("button", name="Save the decision").click()
        expect_flash(officer, f"You marked {name}'s nomination valid")
    expect(officer.get_by_text("waiting for your decision")).to_have_count(0)

    # -- nominations close (the roll is frozen), then the poll opens
    election = _timer(
        story, nominations_close_on + timedelta(days=1), ElectionState.nominations_closed
    )
    contests = {c.constituency.key: c for c in election.contests}
    assert not contests["workers"].is_uncontested and contests["workers"].roll_size == 10
    assert contests["users"].is_uncontested and contests["community"].is_uncontested
    workers_id = contests["workers"].id
    _timer(story, poll_opens_on, ElectionState.poll_open)

    # -- four workers vote online, each from the link in their voting information
    voters: list[Any] = []
    for number, (email, marks) in enumerate(ONLINE.items()):
        link = _voting_link(email)
        voter = new_page()
        voters.append(voter)
        voter.goto(link)
        voter.get_by_role("button", name="Continue to sign in").click()
        voter.wait_for_url("**/vote")
        expect(voter.get_by_role("heading", name="Your ballot: Workers")).to_be_visible()
        if number == 0:
            assert_accessible(voter)
        for name, preference in marks.items():
            voter.get_by_label(name, exact=True).fill(str(preference))
        voter.get_by_role("button", name="Continue", exact=True).click()
        expect(voter.get_by_role("heading", name="Check your vote")).to_be_visible()
        expect(voter.locator("#choices li")).to_have_text(sorted(marks, key=marks.__getitem__))
        if number == 0:
            assert_accessible(voter)
        voter.get_by_role("button", name="Cast my vote").click()
        voter.wait_for_url("**/vote/receipt")
        expect(voter.get_by_role("heading", name="Your vote has been cast")).to_be_visible()
        tracker = voter.locator("#tracker").inner_text()
        assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", tracker), tracker
        if number == 0:
            assert_accessible(voter)
            voter.get_by_role("link", name="public list of ballots cast").click()
            expect(voter.locator("#trackers")).to_contain_text(tracker)

    # -- a teller and the returning officer each enter the same postal batch
    fresh()
    numbers = sorted(
        db.session.scalars(
            select(RollEntry.number)
            .join(Person, Person.id == RollEntry.person_id)
            .where(RollEntry.contest_id == workers_id, Person.email.in_(POSTAL))
        )
    )
    assert len(numbers) == len(POSTAL)
    paper_url = f"/institutions/{SLUG}/elections/{election_id}/contests/{workers_id}/paper"
    teller = signed_in(new_page, "tom@example.org")
    teller.goto(paper_url)
    teller.get_by_label("Batch label").fill("Postal 1")
    teller.get_by_label("Elector numbers of the voters").fill(" ".join(map(str, numbers)))
    teller.get_by_label("Papers", exact=True).fill(
        "\n".join(" ".join(map(str, paper)) for paper in PAPERS)
    )
    teller.get_by_role("button", name="Enter the batch").click()
    expect_flash(teller, "First entry of Postal 1 saved")
    assert_accessible(teller)

    officer.goto(election_url)
    assert_accessible(officer)
    officer.get_by_role("link", name="Enter batches for workers").click()
    officer.get_by_label("Batch label").fill("Postal 1")
    # The same papers, taken from the bundle in another order.
    officer.get_by_label("Elector numbers of the voters").fill(
        ", ".join(map(str, reversed(numbers)))
    )
    officer.get_by_label("Papers", exact=True).fill(
        "\n".join(" ".join(map(str, paper)) for paper in reversed(PAPERS))
    )
    officer.get_by_role("button", name="Enter the batch").click()
    expect_flash(officer, "Both entries of Postal 1 match: 3 ballot(s) accepted")
    expect(officer.get_by_role("row").filter(has_text="Postal 1")).to_contain_text("Accepted")

    # -- the poll closes; the returning officer counts and declares
    _timer(story, poll_closes_on + timedelta(days=1), ElectionState.poll_closed)
    officer.goto(election_url)
    officer.get_by_role("button", name="Count the votes").click()
    expect_flash(officer, "The votes are counted")
    expect(
        officer.get_by_role("heading", name="Result of the count (not yet declared)")
    ).to_be_visible()
    assert_accessible(officer)
    # -- the record is countersigned (on the officer's computer; the upload page has its own
    # browser test in test_record.py), then declared
    fresh()
    countersign(election)
    officer.reload()
    officer.get_by_role("button", name="Declare the result").click()
    expect_flash(officer, "You declared the result")
    expect(officer.get_by_role("heading", name="Declaration of result")).to_be_visible()
    assert_accessible(officer)
    turnout = officer.locator("xpath=//div[dt[normalize-space()='Turnout']]/dd").first
    expect(turnout).to_contain_text("7 of 10 voters")

    # -- the winners shown are the counting core's on the same ballots
    fresh()  # the election, expired, reloads as the live server left it
    assert election.state == ElectionState.declared
    ballots = db.session.scalars(
        select(Ballot).where(
            Ballot.poll_id
            == select(Contest.poll_id).where(Contest.id == workers_id).scalar_subquery()
        )
    ).all()
    assert sorted(b.channel for b in ballots) == sorted(
        [Channel.online] * len(ONLINE) + [Channel.paper] * len(PAPERS)
    )
    shown = {
        c.constituency.name: _elected_on_page(officer, c.constituency.name)
        for c in election.contests
    }
    expected = {
        c.constituency.name: [] if c.is_uncontested else _core_result(election, c)
        for c in election.contests
    }
    assert shown == expected
    assert shown["Workers"] == [WINNER]
    # The declaration is public: a member sees the same winners.
    member = voters[0]
    member.goto(f"/institutions/{SLUG}/elections/{election_id}/results")
    expect(member.get_by_role("heading", name="Declaration of result")).to_be_visible()
    assert _elected_on_page(member, "Workers") == [WINNER]
