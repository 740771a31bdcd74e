"""Nominations: members stand in their own constituency's contest while nominations are open,
the returning officer decides each nomination (and the candidate is told), candidates
withdraw for good, and the statement of candidates is published at the close — and the pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from assembly.audit.models import AuditEvent
from assembly.auth.models import Role, User
from assembly.clock import today
from assembly.elections.models import Candidate, CandidateStatus, Contest, CountMethod, Election
from assembly.elections.nominations import (
    MAX_STATEMENT_WORDS,
    NominationRefused,
    contest_for_member,
    count_words,
    decide_nomination,
    nominate_candidate,
    valid_candidates,
    withdraw_nomination,
)
from assembly.elections.operations import ElectionSettings, create_election, timetable_rules
from assembly.elections.states import ElectionState
from assembly.elections.timetable import suggest_timetable
from assembly.errors import Conflict, DomainError, InvalidTransition, NotEligible
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.notices.models import OutboxMessage
from tests.conftest import grant, make_institution, make_member, make_user
from tests.membership.test_imports import database_fingerprint


def _words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


@dataclass
class World:
    """An institution with an election open for nominations and the people around it."""

    school: Institution
    election: Election
    secretary: User
    officer: User
    #: A workers member who has stood (``nomination``).
    alice: User
    nomination: Candidate
    #: A workers member who has not stood.
    bob: User
    #: A service users member.
    carol: User
    #: Signed in, but a member of nothing.
    stranger: User

    def contest(self, key: str) -> Contest:
        return next(c for c in self.election.contests if c.constituency.key == key)


def _election(school: Institution, officer: User, secretary: User) -> Election:
    """An election whose timetable lies ahead of today, set straight to nominations open."""
    election = create_election(
        secretary,
        school,
        ElectionSettings(
            title="Governors 2027",
            seats=6,
            apportionment="largest-remainder",
            weights={c.key: c.weight for c in school.constituencies},
            methods={c.key: CountMethod.stv for c in school.constituencies},
            timetable=suggest_timetable(today() + timedelta(weeks=12), timetable_rules(school)),
            returning_officer_id=officer.id,
        ),
    )
    # The timer opens nominations on the notice date; it is written elsewhere, so set it here.
    election.state = ElectionState.nominations_open
    db.session.commit()
    return election


def _member(school: Institution, key: str, given: str, family: str) -> User:
    membership = make_member(
        school,
        key,
        email=f"{given.lower()}@{school.slug}.org",
        given_name=given,
        family_name=family,
    )
    return make_user(membership.person.email)


def _nominate(user: User, contest: Contest, **changes: object) -> Candidate:
    details: dict[str, object] = {
        "ballot_name": "Alice Able",
        "statement": "I will listen to members.\n\nAnd I will report back.",
        "declares_eligible": True,
        "interests": "None",
    }
    details.update(changes)
    return nominate_candidate(user, contest, **details)  # type: ignore[arg-type]


def _world(slug: str) -> World:
    school = make_institution(slug=slug, name="Hill School")
    secretary, officer = make_user(f"sec@{slug}.org"), make_user(f"ro@{slug}.org")
    grant(secretary, school, Role.secretary)
    grant(officer, school, Role.returning_officer)
    election = _election(school, officer, secretary)
    alice = _member(school, "workers", "Alice", "Able")
    bob = _member(school, "workers", "Bob", "Baker")
    carol = _member(school, "users", "Carol", "Cole")
    stranger = make_user(f"stranger@{slug}.org")
    workers = next(c for c in election.contests if c.constituency.key == "workers")
    nomination = _nominate(alice, workers)
    db.session.commit()
    return World(school, election, secretary, officer, alice, nomination, bob, carol, stranger)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _outbox() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "nomination_decided")
            .order_by(OutboxMessage.id)
        )
    )


def _status(candidate: Candidate) -> CandidateStatus:
    """The candidate's status as committed (a page changed it in another session)."""
    db.session.rollback()
    return db.session.scalars(select(Candidate.status).where(Candidate.id == candidate.id)).one()


def _set_state(election: Election, state: ElectionState) -> None:
    election.state = state
    db.session.commit()


# -- operations -----------------------------------------------------------------------------


def test_a_member_stands_in_their_own_constituencys_contest(app: Flask) -> None:
    """A member's nomination is stored in their constituency's contest, waiting for the
    returning officer, and audited as ``candidate.nominated``."""
    w = _world("stand")
    candidate = w.nomination
    assert candidate.contest == w.contest("workers")
    assert candidate.person.email == w.alice.email
    assert candidate.status == CandidateStatus.nominated
    assert candidate.ballot_name == "Alice Able" and candidate.declares_eligible
    assert candidate.statement == "I will listen to members.\n\nAnd I will report back."
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "candidate.nominated")
    ).one()
    assert event.subject_id == str(candidate.id)
    data = json.loads(event.data)
    assert data["constituency"] == "workers" and data["statement_words"] == 10


def test_a_statement_of_exactly_the_limit_is_accepted(app: Flask) -> None:
    """A statement of 250 words (counted between whitespace, line breaks included) is fine."""
    w = _world("limit")
    statement = _words(MAX_STATEMENT_WORDS - 1).replace(" ", "\n", 3) + "  last"
    assert count_words(statement) == MAX_STATEMENT_WORDS
    candidate = _nominate(w.bob, w.contest("workers"), statement=statement)
    db.session.commit()
    assert count_words(candidate.statement) == MAX_STATEMENT_WORDS


Step = Callable[[World], object]


def _stage_state(state: ElectionState) -> Step:
    return lambda w: _set_state(w.election, state)


#: id, what to set up first (committed before the fingerprint), the refused step, the error
#: and (a pattern of) its message.
REFUSALS: list[tuple[str, Step | None, Step, type[DomainError], str]] = [
    (
        "wrong-constituency",
        None,
        lambda w: _nominate(w.bob, w.contest("users")),
        NotEligible,
        "Workers constituency, so you can stand only in its contest, not in Service users",
    ),
    (
        "not-a-member",
        None,
        lambda w: _nominate(w.stranger, w.contest("workers")),
        NotEligible,
        "not a current member of Hill School",
    ),
    (
        "nominations-not-open-yet",
        _stage_state(ElectionState.approved),
        lambda w: _nominate(w.bob, w.contest("workers")),
        InvalidTransition,
        "have not opened yet. They open on",
    ),
    (
        "after-the-close-date",
        None,
        lambda w: _nominate(
            w.bob, w.contest("workers"), today=w.election.nominations_close_on + timedelta(days=1)
        ),
        InvalidTransition,
        "closed at the end of",
    ),
    (
        "nominations-closed",
        _stage_state(ElectionState.nominations_closed),
        lambda w: _nominate(w.bob, w.contest("workers")),
        InvalidTransition,
        "closed at the end of",
    ),
    (
        "251-words",
        None,
        lambda w: _nominate(w.bob, w.contest("workers"), statement=_words(251)),
        NominationRefused,
        "Your statement has 251 words; it can have at most 250. Remove 1 word.",
    ),
    (
        "no-declaration",
        None,
        lambda w: _nominate(w.bob, w.contest("workers"), declares_eligible=False),
        NominationRefused,
        "Confirm that you are eligible to stand",
    ),
    (
        "no-interests",
        None,
        lambda w: _nominate(w.bob, w.contest("workers"), interests="  \n "),
        NominationRefused,
        'If you have none, write "None"',
    ),
    (
        "no-ballot-name",
        None,
        lambda w: _nominate(w.bob, w.contest("workers"), ballot_name="   "),
        NominationRefused,
        "name as it should appear on the ballot paper",
    ),
    (
        "second-nomination",
        None,
        lambda w: _nominate(w.alice, w.contest("workers"), ballot_name="Alice Again"),
        Conflict,
        "already been nominated in this election: one nomination per person",
    ),
    (
        "secretary-deciding",
        None,
        lambda w: decide_nomination(w.secretary, w.nomination, valid=True),
        NotEligible,
        "Only the election's returning officer can decide nominations",
    ),
    (
        "candidate-deciding",
        None,
        lambda w: decide_nomination(w.alice, w.nomination, valid=True),
        NotEligible,
        "Only the election's returning officer",
    ),
    (
        "invalid-without-reason",
        None,
        lambda w: decide_nomination(w.officer, w.nomination, valid=False, reason=" \n"),
        NominationRefused,
        "Say why the nomination is invalid",
    ),
    (
        "deciding-once-the-poll-opened",
        None,
        lambda w: decide_nomination(
            w.officer, w.nomination, valid=True, today=w.election.poll_opens_on
        ),
        InvalidTransition,
        "The poll opened on .*, so nominations can no longer be decided",
    ),
    (
        "withdrawal-after-the-deadline",
        None,
        lambda w: withdraw_nomination(
            w.alice, w.nomination, today=w.election.withdrawals_close_on + timedelta(days=1)
        ),
        InvalidTransition,
        "Withdrawals closed at the end of .*, so your nomination can no longer be withdrawn",
    ),
    (
        "withdrawal-by-someone-else",
        None,
        lambda w: withdraw_nomination(w.bob, w.nomination),
        NotEligible,
        "Only the candidate can withdraw",
    ),
]


@pytest.mark.parametrize(
    ("stage", "action", "error", "message"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_each_refusal_says_why_and_changes_nothing(
    app: Flask, stage: Step | None, action: Step, error: type[DomainError], message: str
) -> None:
    """Every broken rule is refused with a message a member can act on, and the database
    (audit log and outbox included) is exactly as it was."""
    w = _world("refusals")
    if stage is not None:
        stage(w)
    before = database_fingerprint()
    with pytest.raises(error, match=message):
        action(w)
    db.session.rollback()
    assert database_fingerprint() == before


def test_the_officer_decides_and_the_candidate_is_told(app: Flask) -> None:
    """Valid, then invalid with a reason: each decision is audited and queues a notice to the
    candidate; the same decision again changes nothing and sends nothing."""
    w = _world("decide")
    assert decide_nomination(w.officer, w.nomination, valid=True)
    db.session.commit()
    assert w.nomination.status == CandidateStatus.valid and w.nomination.decided_at is not None
    [told] = _outbox()
    assert told.to_address == w.alice.email
    assert told.subject == "Your nomination in Governors 2027 is valid"
    assert "you are a candidate" in told.body_text
    assert f"/institutions/decide/elections/{w.election.id}/nomination" in told.body_text

    assert decide_nomination(
        w.officer, w.nomination, valid=False, reason="Not a member on the notice date."
    )
    db.session.commit()
    assert w.nomination.status == CandidateStatus.invalid
    assert w.nomination.reason == "Not a member on the notice date."
    second = _outbox()[-1]
    assert second.subject == "Your nomination in Governors 2027 is not valid"
    assert "Not a member on the notice date." in second.body_text
    assert "Not a member on the notice date." in second.body_html

    assert not decide_nomination(
        w.officer, w.nomination, valid=False, reason="Not a member on the notice date."
    )
    db.session.commit()
    assert len(_outbox()) == 2
    assert _actions()[-2:] == ["candidate.validated", "candidate.invalidated"]
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert json.loads(event.data)["reason"] == "Not a member on the notice date."


def test_decisions_continue_after_nominations_close_until_the_poll_opens(app: Flask) -> None:
    """Once nominations close the returning officer can still decide, up to the day before the
    poll opens."""
    w = _world("after-close")
    _set_state(w.election, ElectionState.nominations_closed)
    day_before = w.election.poll_opens_on - timedelta(days=1)
    assert decide_nomination(w.officer, w.nomination, valid=True, today=day_before)
    db.session.commit()
    assert w.nomination.status == CandidateStatus.valid
    _set_state(w.election, ElectionState.poll_open)
    with pytest.raises(InvalidTransition):
        decide_nomination(w.officer, w.nomination, valid=False, reason="Too late")


def test_a_withdrawal_is_final(app: Flask) -> None:
    """A withdrawn candidate is audited as withdrawn, cannot withdraw again, cannot be decided
    and cannot stand again in the election."""
    w = _world("withdraw")
    decide_nomination(w.officer, w.nomination, valid=True)
    withdraw_nomination(w.alice, w.nomination, today=w.election.withdrawals_close_on)
    db.session.commit()
    assert w.nomination.status == CandidateStatus.withdrawn
    assert w.nomination.withdrawn_at is not None
    assert _actions()[-1] == "candidate.withdrawn"
    with pytest.raises(Conflict, match="already withdrew"):
        withdraw_nomination(w.alice, w.nomination)
    with pytest.raises(InvalidTransition, match="nothing to decide"):
        decide_nomination(w.officer, w.nomination, valid=True)
    with pytest.raises(Conflict, match="A withdrawal is final: you cannot stand again"):
        _nominate(w.alice, w.contest("workers"))
    db.session.rollback()
    assert valid_candidates(w.contest("workers")) == []


def test_valid_candidates_are_alphabetical_by_family_name(app: Flask) -> None:
    """Only valid candidates are listed, by family name then given name, ignoring case and
    accents; nominated, invalid and withdrawn ones are left out."""
    w = _world("alphabet")
    workers = w.contest("workers")
    people = [
        ("Yan", "Young"),
        ("Ann", "adams"),
        ("Ola", "Óbuya"),
        ("Zed", "Brown"),
        ("Abe", "Brown"),
        ("Ivy", "Invalid"),
        ("Wes", "Withdrawn"),
    ]
    made = {}
    for given, family in people:
        user = _member(w.school, "workers", given, family)
        made[family + given] = _nominate(user, workers, ballot_name=f"{given} {family}")
        if family not in {"Invalid", "Withdrawn"} or given == "Wes":
            decide_nomination(w.officer, made[family + given], valid=True)
    decide_nomination(w.officer, made["InvalidIvy"], valid=False, reason="Not eligible")
    wes = db.session.scalars(select(User).where(User.email == "wes@alphabet.org")).one()
    withdraw_nomination(wes, made["WithdrawnWes"])
    db.session.commit()
    assert [c.ballot_name for c in valid_candidates(workers)] == [
        "Ann adams",
        "Abe Brown",
        "Zed Brown",
        "Ola Óbuya",
        "Yan Young",
    ]


def test_contest_for_member_is_their_current_constituencys(app: Flask) -> None:
    """A member's contest follows their current membership; others have none."""
    w = _world("contest-for")
    assert contest_for_member(w.election, w.carol) == w.contest("users")
    assert contest_for_member(w.election, w.bob) == w.contest("workers")
    assert contest_for_member(w.election, w.stranger) is None
    assert contest_for_member(w.election, w.officer) is None


# -- pages ----------------------------------------------------------------------------------


def _page(slug: str, election: Election, rest: str = "") -> str:
    return f"/institutions/{slug}/elections/{election.id}{rest}"


def test_a_member_stands_through_the_pages(app: Flask, client: FlaskClient, login_as) -> None:
    """The member's page offers to stand; the form suggests their name and says the word limit;
    too many words and a missing declaration are shown on the form; a good form nominates."""
    w = _world("stand-page")
    login_as(w.bob.email)
    page = client.get(_page("stand-page", w.election, "/nomination")).get_data(as_text=True)
    assert "Stand as a candidate" in page and "Workers" in page

    form_page = client.get(_page("stand-page", w.election, "/nomination/new"))
    text = form_page.get_data(as_text=True)
    assert form_page.status_code == 200
    assert 'value="Bob Baker"' in text
    assert "You can enter up to 250 words" in text
    assert 'for="declares_eligible"' in text and 'for="statement"' in text

    form = {"ballot_name": "Bob Baker", "statement": _words(251), "interests": "None"}
    refused = client.post(_page("stand-page", w.election, "/nomination/new"), data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "govuk-error-summary" in text
    assert "Confirm that you are eligible to stand" in text  # the form's check comes first

    refused = client.post(
        _page("stand-page", w.election, "/nomination/new"),
        data={**form, "declares_eligible": "y"},
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Your statement has 251 words; it can have at most 250. Remove 1 word." in text
    assert "You have 1 word too many (251 of 250)" in text
    assert 'href="#statement"' in text
    db.session.rollback()
    assert db.session.scalar(select(Candidate).where(Candidate.ballot_name == "Bob Baker")) is None

    made = client.post(
        _page("stand-page", w.election, "/nomination/new"),
        data={**form, "statement": "Vote <b>Bob</b>", "declares_eligible": "y"},
    )
    assert made.status_code == 302
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Waiting for the returning officer" in page
    assert "Vote &lt;b&gt;Bob&lt;/b&gt;" in page
    assert "Withdraw your nomination" in page
    # The form now sends them to their page: one nomination per person.
    assert client.get(_page("stand-page", w.election, "/nomination/new")).status_code == 302


def test_a_second_nomination_posted_from_an_old_form_is_refused(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """A member who has stood and posts the form again is told, and nothing changes."""
    w = _world("again-page")
    login_as(w.alice.email)
    before = database_fingerprint()
    response = client.post(
        _page("again-page", w.election, "/nomination/new"),
        data={
            "ballot_name": "Alice",
            "statement": "",
            "interests": "None",
            "declares_eligible": "y",
        },
    )
    assert response.status_code == 409
    assert "already been nominated" in response.get_data(as_text=True)
    db.session.rollback()
    assert database_fingerprint() == before


def test_a_non_member_is_told_they_cannot_stand(app: Flask, client: FlaskClient, login_as) -> None:
    """Someone signed in who is not a member gets a 403 that says why."""
    w = _world("stranger-page")
    login_as(w.stranger.email)
    response = client.get(_page("stranger-page", w.election, "/nomination"))
    assert response.status_code == 403
    assert "not a current member of Hill School" in response.get_data(as_text=True)


def test_withdrawal_asks_for_confirmation(app: Flask, client: FlaskClient, login_as) -> None:
    """The withdrawal page warns that it is final; confirming withdraws the nomination."""
    w = _world("withdraw-page")
    login_as(w.alice.email)
    url = _page("withdraw-page", w.election, "/nomination/withdraw")
    text = client.get(url).get_data(as_text=True)
    assert "Withdraw your nomination?" in text and "A withdrawal is final" in text
    assert client.post(url).status_code == 302
    assert _status(w.nomination) == CandidateStatus.withdrawn
    page = client.get(_page("withdraw-page", w.election, "/nomination")).get_data(as_text=True)
    assert "Withdrawn" in page and "Withdraw your nomination" not in page


def test_the_officer_reviews_and_decides_on_the_pages(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """The review page lists each contest's nominations with statements; an invalid decision
    without a reason is shown on the form; with one it is saved and the candidate told."""
    w = _world("review-page")
    login_as(w.officer.email)
    election_page = client.get(_page("review-page", w.election)).get_data(as_text=True)
    assert "Check the nominations" in election_page
    review = client.get(_page("review-page", w.election, "/nominations")).get_data(as_text=True)
    assert "Alice Able" in review and "I will listen to members." in review
    assert "1 nomination is waiting for your decision" in review

    url = _page("review-page", w.election, f"/nominations/{w.nomination.id}/decide")
    assert client.get(url).status_code == 200
    refused = client.post(url, data={"decision": "invalid", "reason": ""})
    assert refused.status_code == 400
    assert "Say why the nomination is invalid" in refused.get_data(as_text=True)
    saved = client.post(url, data={"decision": "invalid", "reason": "Not a member."})
    assert saved.status_code == 302
    assert _status(w.nomination) == CandidateStatus.invalid
    assert "Not a member." in _outbox()[-1].body_text


def test_another_officer_cannot_review(app: Flask, client: FlaskClient, login_as) -> None:
    """A returning officer of the institution who is not this election's is refused."""
    w = _world("other-officer")
    other = make_user("ro2@other-officer.org")
    grant(other, w.school, Role.returning_officer)
    login_as(other.email)
    assert client.get(_page("other-officer", w.election, "/nominations")).status_code == 403
    url = _page("other-officer", w.election, f"/nominations/{w.nomination.id}/decide")
    assert client.post(url, data={"decision": "valid"}).status_code == 403


def test_the_statement_of_candidates_is_published_at_the_close(
    app: Flask, client: FlaskClient
) -> None:
    """Anyone can read it: "not published yet" while nominations are open, then each contest's
    valid candidates with their statements; a draft election's is not found."""
    w = _world("statement")
    _nominate(w.bob, w.contest("workers"), ballot_name="Bob Baker", statement="Bob's plan")
    _nominate(w.carol, w.contest("users"), ballot_name="Carol Cole", statement="Carol's plan")
    decide_nomination(w.officer, w.nomination, valid=True)
    db.session.commit()
    url = _page("statement", w.election, "/candidates")
    early = client.get(url).get_data(as_text=True)
    assert "not published yet" in early and "Alice Able" not in early

    _set_state(w.election, ElectionState.nominations_closed)
    page = client.get(url).get_data(as_text=True)
    assert "Alice Able" in page and "I will listen to members." in page
    assert "Bob Baker" not in page and "Carol Cole" not in page  # not yet decided
    assert "still checking 2 nominations" in page
    assert re.search(r"Service users</h2>\s*<p class=\"govuk-body\">\d+ seats?; 0 candidates", page)

    draft = _election(w.school, w.officer, w.secretary)
    _set_state(draft, ElectionState.draft)
    assert client.get(_page("statement", draft, "/candidates")).status_code == 404


def test_the_member_home_page_links_to_the_election(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """A member's home page links to the election they can stand in."""
    w = _world("home-link")
    login_as(w.bob.email)
    text = client.get("/").get_data(as_text=True)
    assert _page("home-link", w.election, "/nomination") in text
    assert "you can stand until the end of" in text
