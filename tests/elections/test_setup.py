"""Setting up a board election: seats apportioned by weight, the timetable checked in working
days, returning officer approval that locks the settings, cancellation — and the pages."""

from __future__ import annotations

import json
import re
from datetime import date
from fractions import Fraction

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from assembly.audit.models import AuditEvent
from assembly.auth.models import Role, User
from assembly.elections.models import CountMethod, Election
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    cancel_election,
    create_election,
    register_officer_key,
    update_election,
)
from assembly.elections.states import ElectionState
from assembly.elections.timetable import Timetable
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.records.signing import fingerprint, public_key_text
from tests.conftest import grant, make_institution, make_user
from tests.elections.polls import OFFICER_PUBLIC_KEY
from tests.membership.test_imports import database_fingerprint

THIRD = Fraction(1, 3)
#: A timetable that meets the Model Election Rules for a close of poll on 16 July 2027.
GOOD = Timetable(
    notice_of_election_on=date(2027, 5, 4),
    nominations_close_on=date(2027, 5, 28),
    withdrawals_close_on=date(2027, 6, 4),
    poll_opens_on=date(2027, 6, 25),
    poll_closes_on=date(2027, 7, 16),
)


def _settings(**changes: object) -> ElectionSettings:
    values: dict[str, object] = {
        "title": "Election of governors 2027",
        "seats": 9,
        "apportionment": "largest-remainder",
        "weights": {"workers": THIRD, "users": THIRD, "community": THIRD},
        "methods": dict.fromkeys(("workers", "users", "community"), CountMethod.stv),
        "timetable": GOOD,
    }
    values.update(changes)
    return ElectionSettings(**values)  # type: ignore[arg-type]


def _school_with_officer(slug: str) -> tuple[object, User, User]:
    school = make_institution(slug=slug)
    secretary, officer = make_user(f"sec@{slug}.org"), make_user(f"ro@{slug}.org")
    grant(secretary, school, Role.secretary)
    grant(officer, school, Role.returning_officer)
    return school, secretary, officer


def test_seats_are_apportioned_by_weight(app: Flask) -> None:
    """Nine seats at a third each give three per contest; 2:1:1 weights give 5, 2, 2 by largest
    remainder."""
    school, secretary, _ = _school_with_officer("apportion")
    election = create_election(secretary, school, _settings())
    db.session.commit()
    assert {c.constituency.key: c.seats for c in election.contests} == {
        "workers": 3,
        "users": 3,
        "community": 3,
    }
    weights = {"workers": Fraction(2), "users": Fraction(1), "community": Fraction(1)}
    update_election(secretary, election, _settings(weights=weights))
    db.session.commit()
    assert {c.constituency.key: c.seats for c in election.contests} == {
        "workers": 5,
        "users": 2,
        "community": 2,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seats": 0}, "from 1 to 100 seats"),
        ({"title": "  "}, "title"),
        ({"weights": {"workers": THIRD, "users": THIRD}}, "every constituency"),
        (
            {
                "timetable": Timetable(
                    **{**GOOD.__dict__, "nominations_close_on": date(2027, 6, 10)}
                )
            },
            "Nominations",
        ),
        (
            {"timetable": Timetable(**{**GOOD.__dict__, "poll_opens_on": date(2027, 7, 1)})},
            "poll must open",
        ),
        ({"rules": {"workers": "nonesuch"}}, "STV rules the count knows: .*scottish-2007"),
    ],
    ids=[
        "no-seats",
        "no-title",
        "missing-weight",
        "nominations-too-late",
        "poll-opens-too-late",
        "unknown-rules",
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    app: Flask, changes: dict[str, object], message: str
) -> None:
    """Each broken rule is refused with a message naming it, and nothing is stored."""
    school, secretary, _ = _school_with_officer("refuse-setup")
    before = database_fingerprint()
    with pytest.raises(RuleViolation, match=re.compile(message, re.IGNORECASE)):
        create_election(secretary, school, _settings(**changes))
    db.session.rollback()
    assert database_fingerprint() == before


def test_only_the_secretary_sets_up_and_only_the_officer_approves(app: Flask) -> None:
    """A returning officer cannot set up; a secretary cannot approve; the chosen officer can."""
    school, secretary, officer = _school_with_officer("approval")
    with pytest.raises(NotEligible):
        create_election(officer, school, _settings())
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    db.session.commit()
    with pytest.raises(NotEligible):
        approve_election(secretary, election, today=date(2027, 4, 1))
    with pytest.raises(RuleViolation, match="Register your signing key"):
        approve_election(officer, election, today=date(2027, 4, 1))
    with pytest.raises(NotEligible):
        register_officer_key(secretary, election, OFFICER_PUBLIC_KEY)
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    approve_election(officer, election, today=date(2027, 4, 1))
    db.session.commit()
    assert election.state == ElectionState.approved and election.approved_settings
    assert election.signing_key_id is not None
    assert election.officer_fingerprint == fingerprint(OFFICER_PUBLIC_KEY)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == [
        "election.officer_key_registered",
        "signing_key.created",
        "election.approved",
    ]


@pytest.mark.parametrize(
    "text",
    ["", "not a key", "AAAA", OFFICER_PUBLIC_KEY[:-4]],
    ids=["empty", "words", "short", "truncated"],
)
def test_an_officer_key_that_is_not_a_public_key_is_refused(app: Flask, text: str) -> None:
    """The officer pastes the .pub line; anything else is refused with what to paste, and
    nothing is stored."""
    school, secretary, officer = _school_with_officer("bad-key")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    db.session.commit()
    before = database_fingerprint()
    with pytest.raises(RuleViolation, match=r"paste the one line of the \.pub file"):
        register_officer_key(officer, election, text)
    db.session.rollback()
    assert database_fingerprint() == before


def test_the_officer_key_is_fixed_once_the_poll_opens(app: Flask) -> None:
    """Until the poll opens the officer may replace their key (audited, with the previous
    fingerprint); from then on it is the one printed in the notice of poll."""
    school, secretary, officer = _school_with_officer("key-fixed")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    assert not register_officer_key(officer, election, f" {OFFICER_PUBLIC_KEY}\n")
    other = public_key_text(Ed25519PrivateKey.generate())
    assert register_officer_key(officer, election, other)
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and json.loads(event.data)["previous"] == fingerprint(
        OFFICER_PUBLIC_KEY
    )
    election.state = ElectionState.poll_open
    db.session.commit()
    with pytest.raises(InvalidTransition, match="poll has opened"):
        register_officer_key(officer, election, OFFICER_PUBLIC_KEY)


def test_a_change_after_approval_needs_a_new_approval(app: Flask) -> None:
    """Changing approved settings returns the election to draft (audited); saving the same
    settings changes nothing."""
    school, secretary, officer = _school_with_officer("reapprove")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    approve_election(officer, election, today=date(2027, 4, 1))
    db.session.commit()
    assert not update_election(secretary, election, _settings(returning_officer_id=officer.id))
    assert election.state == ElectionState.approved
    assert update_election(
        secretary, election, _settings(seats=12, returning_officer_id=officer.id)
    )
    db.session.commit()
    assert election.state == ElectionState.draft and election.approved_settings == ""
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.action == "election.updated"
    assert json.loads(event.data)["approval_withdrawn"] is True


def test_approval_is_refused_once_the_notice_date_has_passed(app: Flask) -> None:
    """An officer cannot approve a timetable whose notice of election is already in the past."""
    school, secretary, officer = _school_with_officer("late-approval")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    db.session.commit()
    with pytest.raises(RuleViolation, match="notice"):
        approve_election(officer, election, today=date(2027, 5, 10))


def test_cancellation_needs_a_reason_and_is_final(app: Flask) -> None:
    """A cancelled election says why, and cannot be approved or cancelled again."""
    school, secretary, officer = _school_with_officer("cancel")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    db.session.commit()
    with pytest.raises(RuleViolation):
        cancel_election(secretary, election, " ")
    cancel_election(secretary, election, "Merger with the neighbouring trust")
    db.session.commit()
    assert election.state == ElectionState.cancelled
    with pytest.raises(InvalidTransition):
        approve_election(officer, election, today=date(2027, 4, 1))
    with pytest.raises(InvalidTransition):
        cancel_election(officer, election, "again")


def test_the_set_up_page_shows_seats_and_warns_of_a_majority(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """ "Show the seats" recomputes them without saving and warns when one constituency would
    hold more than half; "Save" makes a draft."""
    _, secretary, officer = _school_with_officer("setup-page")
    login_as(secretary.email)
    page = client.get("/institutions/setup-page/elections/new")
    assert page.status_code == 200
    form = {
        "title": "Governors 2027",
        "seats": "9",
        "apportionment": "largest-remainder",
        "candidate_order": "alphabetical",
        "reminder_days_before_close": "3",
        "returning_officer": str(officer.id),
        "weight_workers": "3",
        "weight_users": "1",
        "weight_community": "1",
        "method_workers": "stv",
        "method_users": "stv",
        "method_community": "plurality",
        **{name: getattr(GOOD, name).isoformat() for name in GOOD.__dataclass_fields__},
    }
    shown = client.post("/institutions/setup-page/elections/new", data={**form, "preview": "1"})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert re.search(r'id="seats-workers">\s*5<', text)  # 5.4, 1.8, 1.8 → 5, 2, 2
    assert "Workers would hold more than half the seats" in text
    assert db.session.scalar(select(Election.id)) is None
    saved = client.post("/institutions/setup-page/elections/new", data=form)
    assert saved.status_code == 302
    election = db.session.scalars(select(Election)).one()
    assert [c.method for c in election.contests][-1] == CountMethod.plurality
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Waiting for" in page and "holds more than half the seats" in page


def test_the_officer_approves_from_the_election_page(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """The returning officer sees an approve button; pressing it approves the set-up."""
    school, secretary, officer = _school_with_officer("approve-page")
    election = create_election(secretary, school, _settings(returning_officer_id=officer.id))
    db.session.commit()
    login_as(officer.email)
    url = f"/institutions/approve-page/elections/{election.id}"
    assert "Approve the set-up" in client.get(url).get_data(as_text=True)
    refused = client.post(url + "/approve")
    assert refused.status_code == 400 and "Register your signing key" in refused.text
    db.session.rollback()
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    db.session.commit()
    assert client.post(url + "/approve").status_code == 302  # the notice date is ahead
    db.session.expire_all()
    assert db.session.get(Election, election.id).state == ElectionState.approved
    assert "Approve the set-up" not in client.get(url).get_data(as_text=True)
