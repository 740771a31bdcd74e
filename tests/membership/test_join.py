"""Community sign-up: a resident asks to join, confirms by email, and becomes a member."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.extensions import db
from assembly.membership.models import Membership, Person
from assembly.membership.queries import get_constituency
from assembly.notices.models import OutboxMessage
from tests.conftest import make_institution
from tests.membership.test_imports import database_fingerprint

FORM = {
    "given_name": "Rhys",
    "family_name": "Resident",
    "email": "Rhys@Example.org",
    "postcode": "bs1 4ab",
    "date_of_birth": "1990-04-01",
}


def _link(to: str) -> str:
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == to)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    found = re.search(r"http://localhost(/institutions/\S+/join/confirm/\S+)", message.body_text)
    assert found, message.body_text
    return found.group(1)


def _school():  # type: ignore[no-untyped-def]
    school = make_institution(slug="join-school", name="Join School")
    community = get_constituency(school, "community")
    assert community is not None
    community.postcode_districts = "BS1 BS2"
    community.minimum_age = 16
    db.session.commit()
    return school


def test_a_resident_joins_after_confirming_their_email(app: Flask, client: FlaskClient) -> None:
    """Asking sends a link and enrols nobody; confirming the link enrols them in community."""
    _school()
    response = client.post("/institutions/join-school/join", data=FORM)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 0
    link = _link("rhys@example.org")
    assert "Confirm and join" in client.get(link).get_data(as_text=True)
    page = client.post(link).get_data(as_text=True)
    assert "You are now a member of Join School" in page
    person = db.session.scalars(select(Person)).one()
    assert (person.email, person.postcode) == ("rhys@example.org", "BS1 4AB")
    membership = db.session.scalars(select(Membership)).one()
    assert membership.constituency.key == "community" and membership.source == "community-signup"
    again = client.post(link).get_data(as_text=True)
    assert "You are already a member of Join School" in again
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_ineligible_residents_are_told_on_the_form(app: Flask, client: FlaskClient) -> None:
    """Outside the area, or too young: the form says why and nothing is sent or stored."""
    _school()
    before = database_fingerprint()
    far = client.post("/institutions/join-school/join", data={**FORM, "postcode": "LS1 1AA"})
    assert far.status_code == 200 and "LS1 is outside the area" in far.get_data(as_text=True)
    young = client.post(
        "/institutions/join-school/join", data={**FORM, "date_of_birth": "2020-01-01"}
    )
    assert "under 16" in young.get_data(as_text=True)
    bad = client.post("/institutions/join-school/join", data={**FORM, "postcode": "NOT ONE"})
    assert "not a UK postcode" in bad.get_data(as_text=True)
    assert database_fingerprint() == before


def test_a_tampered_confirmation_link_is_refused(app: Flask, client: FlaskClient) -> None:
    """A link whose token was changed enrols nobody."""
    _school()
    client.post("/institutions/join-school/join", data=FORM)
    link = _link("rhys@example.org")
    response = client.post(link[:-4] + "AAAA")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 0
