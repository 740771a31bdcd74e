"""The assembly's pages through HTTP: scheduling and rules forms, the teller's check-in by
pass and by search, the member's pass signing them in to vote on their phone, the chair's
buttons, paper batches, the live screen and the history."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.assemblies.models import Assembly, Attendance
from assembly.assemblies.notices import pass_token
from assembly.assemblies.operations import close_vote, declare_assembly, open_vote
from assembly.auth.actors import CLI
from assembly.auth.models import Role
from assembly.auth.operations import issue_sign_in_link
from assembly.clock import today
from assembly.extensions import db
from assembly.polls.models import Ballot, RollMark
from tests.assemblies.helpers import HELD_ON, Room, make_room
from tests.conftest import grant, make_institution, make_user
from tests.membership.test_imports import database_fingerprint


class Browser(FlaskClient):
    """One person's browser (Flask-Login's cached user forgotten on each request)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def _browser(app: Flask, email: str | None = None) -> Browser:
    browser = Browser(app, app.response_class, use_cookies=True)
    if email:
        link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
        db.session.commit()
        assert browser.post(link).status_code == 302
    return browser


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _base(room: Room) -> str:
    return f"/institutions/{room.institution.slug}/assemblies/{room.assembly.id}"


def _pass(room: Room, person_id: int) -> str:
    return f"{_base(room)}/pass/{pass_token(room.assembly.id, person_id)}"


def _count(model: type) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_scheduling_refuses_short_notice_and_changes_nothing(app: Flask) -> None:
    institution = make_institution(slug="form-school")
    secretary = make_user("sec@form-school.org")
    grant(secretary, institution, Role.secretary)
    browser = _browser(app, secretary.email)
    before = database_fingerprint()
    refused = browser.post(
        "/institutions/form-school/assemblies/new",
        data={
            "held_on": (today() + timedelta(days=10)).isoformat(),
            "starts_at": "18:30",
            "venue": "Hall",
            "returning_officer_id": "0",
        },
    )
    assert refused.status_code == 400
    assert "Too little notice" in _text(refused) and "at the earliest" in _text(refused)
    db.session.rollback()
    assert database_fingerprint() == before
    made = browser.post(
        "/institutions/form-school/assemblies/new",
        data={
            "held_on": (today() + timedelta(days=30)).isoformat(),
            "starts_at": "18:30",
            "venue": "Hall",
            "returning_officer_id": "0",
        },
    )
    assert made.status_code == 302
    assert _count(Assembly) == 1
    history = _text(_browser(app).get("/institutions/form-school/assemblies"))
    assert f"Annual assembly {(today() + timedelta(days=30)).year}" in history


def test_the_teller_checks_in_by_pass_and_the_member_votes_on_their_phone(app: Flask) -> None:
    """The teller opens the member's pass and checks them in; the member opens the same pass
    and is taken to the ballot, which waits for the chair; they vote once and get a
    tracker; the screen counts them."""
    room = make_room("phone-school")
    member = room.members["users"][0]
    teller = _browser(app, room.teller.email)
    url = _pass(room, member.person_id)
    page = _text(teller.get(url))
    assert "Users0 MemberA" in page and "Service users" in page
    assert teller.post(url).status_code == 302
    assert _count(Attendance) == 1
    again = _text(teller.get(url, follow_redirects=False))
    assert "Checked in already (arrival 1)" in again
    phone = _browser(app)
    opened = phone.get(url)
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/vote")
    waiting = _text(phone.get(f"{_base(room)}/vote"))
    assert "No vote is open" in waiting and 'data-live="5"' in waiting
    chair = _browser(app, room.secretary.email)
    assert chair.post(f"{_base(room)}/votes").status_code == 302
    ballot = _text(phone.get(f"{_base(room)}/vote"))
    first, second = room.candidates
    assert f'name="pref-{first.id}"' in ballot
    bad = phone.post(f"{_base(room)}/vote", data={f"pref-{first.id}": "2"})
    assert bad.status_code == 400 and "Start with 1" in _text(bad)
    assert _count(RollMark) == 0
    cast = phone.post(
        f"{_base(room)}/vote", data={f"pref-{first.id}": "1", f"pref-{second.id}": "2"}
    )
    assert cast.status_code == 302
    receipt = _text(phone.get(f"{_base(room)}/vote"))
    tracker = re.search(r'id="tracker"[^>]*>([^<]+)<', receipt)
    assert tracker is not None
    stored = db.session.scalars(select(Ballot)).one()
    assert stored.tracker == tracker.group(1)
    phone.post(f"{_base(room)}/vote", data={f"pref-{second.id}": "1"})
    assert _count(Ballot) == 1
    screen = _text(_browser(app).get(f"{_base(room)}/screen"))
    assert re.search(r'id="present">1<', screen) and re.search(r'id="turnout">1<', screen)


def test_a_pass_opened_before_check_in_shows_the_qr_code(app: Flask) -> None:
    """The pass shows its QR code; as a credential in the path, it is never cached nor sent
    on as a referrer."""
    room = make_room("qr-school")
    response = _browser(app).get(_pass(room, room.members["workers"][2].person_id))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = _text(response)
    assert "<svg" in page and "Show this code to a teller" in page
    assert _browser(app).get(f"{_base(room)}/pass/forged-token").status_code == 404


def test_the_teller_finds_a_member_by_name_and_birth_date(app: Flask) -> None:
    room = make_room("search-school")
    teller = _browser(app, room.teller.email)
    found = _text(
        teller.get(f"{_base(room)}/check-in", query_string={"name": "memberb", "date_of_birth": ""})
    )
    assert found.count("Check in ") == 3  # one Member B in each constituency
    narrowed = _text(
        teller.get(
            f"{_base(room)}/check-in",
            query_string={"name": "community1", "date_of_birth": "1980-01-02"},
        )
    )
    assert "Community1 MemberB" in narrowed and "Workers1" not in narrowed
    person = room.members["community"][1].person
    teller.post(f"{_base(room)}/check-in", data={"person_id": str(person.id)})
    assert _count(Attendance) == 1
    none = _text(teller.get(f"{_base(room)}/check-in", query_string={"name": "zz-nobody"}))
    assert "No current member matches" in none


def test_a_paper_batch_through_the_tellers_page(app: Flask) -> None:
    """Two tellers enter a batch; a mismatched second entry is refused, then corrected."""
    room = make_room("paper-page-school")
    member = room.members["users"][0]
    room.check_in(member)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    teller = _browser(app, room.teller.email)
    secretary = _browser(app, room.secretary.email)
    teller.post(f"{_base(room)}/papers/give", data={"person_id": str(member.person_id)})
    marks = db.session.scalars(select(RollMark.channel).where(RollMark.poll_id == vote.poll_id))
    assert list(marks) == ["paper"]
    constituency = member.constituency_id
    entry = {"constituency": str(constituency), "label": "Box 1", "papers": "2 1"}
    assert teller.post(f"{_base(room)}/papers", data=entry).status_code == 302
    wrong = secretary.post(f"{_base(room)}/papers", data={**entry, "papers": "1 2"})
    assert wrong.status_code == 302
    assert "Rejected: the entries differed" in _text(secretary.get(f"{_base(room)}/papers"))
    assert _count(Ballot) == 0
    teller.post(f"{_base(room)}/papers", data=entry)
    secretary.post(f"{_base(room)}/papers", data=entry)
    assert _count(Ballot) == 1
    bad = teller.post(f"{_base(room)}/papers", data={**entry, "label": "Box 2", "papers": "7"})
    assert bad.status_code == 400 and "ballot positions run from 1 to 2" in _text(bad)


def test_the_chair_runs_the_vote_and_the_screen_shows_the_result(app: Flask) -> None:
    room = make_room("chair-school", standing=1)
    chair = _browser(app, room.secretary.email)
    for membership in room.everyone():
        room.check_in(membership)
    assert chair.post(f"{_base(room)}/votes").status_code == 302
    vote = room.assembly.votes[0]
    from assembly.assemblies.operations import cast_assembly_vote

    for attendance in db.session.scalars(select(Attendance)):
        cast_assembly_vote(attendance, vote, choice="yes", day=HELD_ON)
    db.session.commit()
    assert chair.post(f"{_base(room)}/close").status_code == 302
    page = _text(chair.get(_base(room)))
    assert "Carried: Workers0 MemberA is confirmed." in page
    assert chair.post(f"{_base(room)}/declare").status_code == 302
    screen = _text(_browser(app).get(f"{_base(room)}/screen"))
    assert "Workers0 MemberA is elected" in screen
    record = _browser(app).get(f"{_base(room)}/record.json")
    assert record.status_code == 200 and record.get_json()["body"]["kind"] == "assembly"
    history = _text(_browser(app).get(f"/institutions/{room.institution.slug}/assemblies"))
    assert "Workers0 MemberA elected" in history and "9" in history


def test_letters_carry_the_pass_of_members_without_email(app: Flask) -> None:
    room = make_room("letter-school", open_it=False)
    member = room.members["community"][2]
    member.person.email = None
    db.session.commit()
    page = _text(_browser(app, room.secretary.email).get(f"{_base(room)}/letters"))
    assert page.count('class="app-letter"') == 1 and "Community2 MemberC" in page
    assert page.count("<svg") == 1 and "local community constituency" in page
    assert _browser(app, room.teller.email).get(f"{_base(room)}/letters").status_code == 403


def test_phone_casts_are_rate_limited_per_pass(app: Flask) -> None:
    """Each pass may have its ballot refused only so often before it is told to wait (the
    stored vote does not count); another pass from the same address (the hall's wifi) is not
    held back."""
    app.config["CAST_PER_VOTER"] = "2 per minute"
    room = make_room("limit-school")
    first, second = room.members["users"][:2]
    for membership in (first, second):
        room.check_in(membership)
    open_vote(room.secretary, room.assembly)
    db.session.commit()
    ballot = {f"pref-{room.candidates[0].id}": "1"}
    phone = _browser(app)
    phone.get(_pass(room, first.person_id))
    statuses = [phone.post(f"{_base(room)}/vote", data=ballot).status_code for _ in range(4)]
    # The stored vote does not count against the limit; the two refused posts after it do.
    assert statuses == [302, 200, 200, 429]
    other = _browser(app)
    other.get(_pass(room, second.person_id))
    assert other.post(f"{_base(room)}/vote", data=ballot).status_code == 302
    assert _count(Ballot) == 2


def test_the_verify_page_lists_and_checks_an_assembly_record(
    app: Flask, client: FlaskClient
) -> None:
    """A declared assembly's record is listed on the public verify page beside board election
    records, named by its institution and title, and checked from the list (by link and by
    form) against the keys this service holds for that assembly; before the declaration it is
    not listed."""
    from tests.assemblies.test_count import _check_in_all, _verified, _vote_all

    room = make_room("verify-list-school")
    _check_in_all(room)
    open_vote(room.secretary, room.assembly)
    _vote_all(room, {"workers": [[0, 1], [1], [0]]})
    db.session.commit()
    label = f"Verify List School: {room.assembly.title}"
    assert label not in client.get("/verify").get_data(as_text=True)
    close_vote(room.secretary, room.assembly.votes[-1])
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    _verified(room)
    value = f"assembly-{room.assembly.id}"
    listing = client.get("/verify").get_data(as_text=True)
    assert f'<option value="{value}">{label}</option>' in listing
    for page in (
        client.get(f"/verify?record={value}"),
        client.post("/verify", data={"election": value}),
    ):
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "Every check passed" in text
        assert f"The record names {room.assembly.title} at Verify List School" in text
    assert client.get("/verify?record=assembly-999").status_code == 404
