"""Roster source pages: the list, a source's page, its column mapping (validated, audited and
used by the next import) and its service tokens (shown once, listed, revoked)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.api.tokens import issue_token
from assembly.audit.models import AuditEvent
from assembly.auth.actors import SYSTEM
from assembly.auth.models import Role
from assembly.clock import utcnow
from assembly.errors import NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.imports import FIELDS, RosterRow, parse_records
from assembly.membership.models import Institution, Membership, RosterSource, ServiceToken
from assembly.membership.operations import (
    COLUMN_LABELS,
    SIGNUP_SOURCE,
    ColumnMappingError,
    clean_column_mapping,
    ensure_csv_source,
    import_roster,
    join_community,
    update_column_mapping,
)
from assembly.membership.queries import get_constituency
from tests.conftest import grant, make_institution, make_user
from tests.membership.test_imports import ANN, BOB, database_fingerprint, roster

SLUG = "source-school"
SOURCES = f"/institutions/{SLUG}/rosters/sources"
WORKERS = f"{SOURCES}/workers-csv"
PUSH = f"/api/v1/institutions/{SLUG}/rosters/workers-csv/imports"
PERSON = {"external_id": "E1", "given_name": "Ann", "family_name": "Smith"}


@pytest.fixture
def school(app: Flask, client: FlaskClient, login_as: Callable[[str], None]) -> Institution:
    """An institution with a workers CSV source, and its secretary signed in."""
    institution = make_institution(slug=SLUG, name="Source School")
    ensure_csv_source(SYSTEM, get_constituency(institution, "workers"))
    db.session.commit()
    grant(make_user("sec@example.org"), institution, Role.secretary)
    login_as("sec@example.org")
    return institution


def _source(institution: Institution, key: str = "workers-csv") -> RosterSource:
    return db.session.scalars(
        select(RosterSource).filter_by(institution_id=institution.id, key=key)
    ).one()


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).filter_by(action=action)))


def _mapping_form(**headers: str) -> dict[str, str]:
    return {field: headers.get(field, "") for field in FIELDS}


def _make_token(client: FlaskClient, name: str = "HR system", days: str = "90"):  # type: ignore[no-untyped-def]
    return client.post(f"{WORKERS}/tokens", data={"name": name, "days": days})


def _token_in(page: str) -> str:
    match = re.search(r'<textarea[^>]*id="service-token"[^>]*>([^<]+)</textarea>', page)
    assert match, page
    return match.group(1).strip()


def test_the_labels_name_every_roster_field_in_order() -> None:
    """The mapping form and messages cover exactly the fields a roster can carry."""
    assert tuple(COLUMN_LABELS) == FIELDS


def test_the_sources_list_has_an_empty_state_and_a_link_from_rosters(
    app: Flask, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """Before any roster the list says how sources are made; the Rosters page links to it."""
    institution = make_institution(slug="empty-school")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    login_as("sec@example.org")
    page = client.get("/institutions/empty-school/rosters/sources").get_data(as_text=True)
    assert "There are no roster sources yet" in page
    rosters = client.get("/institutions/empty-school/rosters").get_data(as_text=True)
    assert 'href="/institutions/empty-school/rosters/sources"' in rosters


def test_the_sources_list_shows_each_source_with_its_people_and_last_import(
    client: FlaskClient, school: Institution
) -> None:
    """Name, key, constituency, kind, people present and the last import, linked."""
    _, run = import_roster(SYSTEM, _source(school), roster(ANN, BOB))
    db.session.commit()
    assert run is not None
    page = client.get(SOURCES).get_data(as_text=True)
    assert "Workers (CSV upload)" in page and "<code>workers-csv</code>" in page
    assert "HR list" in page
    assert re.search(r'numeric">2<', page)
    assert f"/institutions/{SLUG}/imports/{run.id}" in page


def test_a_source_can_be_set_up_before_its_first_roster(
    client: FlaskClient, school: Institution
) -> None:
    """Setting up a constituency's source makes it once (audited) and opens its page."""
    response = client.post(SOURCES, data={"constituency": "users"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SOURCES}/users-csv"
    again = client.post(SOURCES, data={"constituency": "users"})
    assert again.headers["Location"] == f"{SOURCES}/users-csv"
    assert _source(school, "users-csv").kind.value == "pupil_register"
    created = [json.loads(e.data)["key"] for e in _events("roster_source.created")]
    assert created.count("users-csv") == 1
    refused = client.post(SOURCES, data={"constituency": "nobody"})
    assert refused.status_code == 400


def test_the_source_page_shows_details_mapping_and_tokens(
    client: FlaskClient, school: Institution
) -> None:
    """The page names the source, each field's column (default marked) and its tokens."""
    source = _source(school)
    update_column_mapping(SYSTEM, source, {"external_id": "Staff number"})
    issue_token(SYSTEM, source, name="Payroll feed")
    db.session.commit()
    response = client.get(WORKERS)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Staff number" in page and "(the default)" in page
    assert "Payroll feed" in page and "Active" in page
    assert f"http://localhost{PUSH}" in page
    assert client.get(f"{SOURCES}/no-such-source").status_code == 404


def test_editing_the_mapping_stores_only_changes_and_the_next_import_uses_it(
    client: FlaskClient, school: Institution
) -> None:
    """Trimmed non-default headers are stored, audited with before/after, and read on import."""
    form = client.get(f"{WORKERS}/mapping").get_data(as_text=True)
    assert 'for="external_id"' in form and "Leave blank if the column is called" in form
    response = client.post(
        f"{WORKERS}/mapping",
        data=_mapping_form(
            external_id=" Staff number ", given_name="Forename", family_name="FAMILY_NAME"
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == WORKERS
    source = _source(school)
    assert json.loads(source.column_mapping) == {
        "external_id": "Staff number",
        "given_name": "Forename",
    }
    [event] = _events("roster_source.mapping_changed")
    assert json.loads(event.data) == {
        "before": {},
        "after": {"external_id": "Staff number", "given_name": "Forename"},
    }
    assert event.actor_label == "sec@example.org"
    shown = client.get(f"{WORKERS}/mapping").get_data(as_text=True)
    assert 'value="Staff number"' in shown

    header = ["Staff number", "Forename", "family_name", "email", "date_of_birth", "postcode"]
    plan, run = import_roster(SYSTEM, source, roster(ANN, BOB, header=header))
    db.session.commit()
    assert run is not None and plan.counts()["new"] == 2
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 2


def test_saving_the_same_mapping_changes_nothing(client: FlaskClient, school: Institution) -> None:
    """An unchanged mapping is not stored again and writes no audit event."""
    data = _mapping_form(external_id="Staff number")
    client.post(f"{WORKERS}/mapping", data=data)
    before = database_fingerprint()
    response = client.post(f"{WORKERS}/mapping", data=data)
    assert response.status_code == 302
    assert database_fingerprint() == before
    assert len(_events("roster_source.mapping_changed")) == 1


def test_clearing_the_mapping_goes_back_to_the_default_headers(
    client: FlaskClient, school: Institution
) -> None:
    """Blank fields mean the default names: the stored mapping becomes empty, audited."""
    client.post(f"{WORKERS}/mapping", data=_mapping_form(postcode="Post code"))
    client.post(f"{WORKERS}/mapping", data=_mapping_form())
    assert json.loads(_source(school).column_mapping) == {}
    last = _events("roster_source.mapping_changed")[-1]
    assert json.loads(last.data) == {"before": {"postcode": "Post code"}, "after": {}}


@pytest.mark.parametrize(
    ("headers", "field", "message"),
    [
        ({"email": "E" * 101}, "email", "must be 100 characters or fewer"),
        ({"given_name": "Name", "family_name": "name "}, "family_name", "cannot both be in"),
        ({"given_name": "email"}, "given_name", "First name and email address cannot both be in"),
        ({"postcode": "Post\ncode"}, "postcode", "must not contain line breaks"),
        ({"postcode": "Post\rcode"}, "postcode", "must not contain line breaks"),
        ({"external_id": "Staff\x00number"}, "external_id", "must not contain line breaks"),
    ],
    ids=["too-long", "same-header-twice", "another-fields-default", "newline", "return", "nul"],
)
def test_a_bad_mapping_is_refused_with_a_message_and_changes_nothing(
    client: FlaskClient, school: Institution, headers: dict[str, str], field: str, message: str
) -> None:
    """Each refusal names the field and what to do, and leaves the database as it was."""
    client.post(f"{WORKERS}/mapping", data=_mapping_form(external_id="Staff number"))
    before = database_fingerprint()
    response = client.post(f"{WORKERS}/mapping", data=_mapping_form(**headers))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page and message in page
    assert re.search(rf'id="{field}-error"[^>]*>.*{re.escape(message)}', page)
    assert f'href="#{field}"' in page
    assert database_fingerprint() == before


def test_clean_column_mapping_trims_drops_defaults_and_names_each_problem() -> None:
    """The rules on their own: trimming, defaults in any case, and one problem per field."""
    assert clean_column_mapping(
        {"email": "  E-mail ", "postcode": "POSTCODE", "given_name": ""}
    ) == {"email": "E-mail"}
    with pytest.raises(ColumnMappingError) as refused:
        clean_column_mapping({"email": "x" * 101, "given_name": "Name", "family_name": "NAME"})
    assert set(refused.value.problems) == {"email", "family_name"}
    with pytest.raises(RuleViolation, match="no field called 'nickname'"):
        clean_column_mapping({"nickname": "Known as"})


def test_only_the_secretary_may_change_a_mapping(app: Flask) -> None:
    """A user without the secretary role is refused by the operation itself."""
    institution = make_institution(slug="op-school")
    source = ensure_csv_source(SYSTEM, get_constituency(institution, "workers"))
    db.session.commit()
    with pytest.raises(NotEligible):
        update_column_mapping(make_user("someone@example.org"), source, {"email": "Mail"})


def test_a_new_token_is_shown_once_and_works_against_the_api(
    app: Flask, client: FlaskClient, school: Institution
) -> None:
    """The POST response shows the token (not cached), the push URL and curl; it pushes."""
    response = _make_token(client, days="30")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = _token_in(page)
    assert f"http://localhost{PUSH}" in page and "curl" in page and f"Bearer {token}" in page
    assert "will not be shown again" in page
    # Nowhere else: not in the source page, the session or a flash.
    assert token not in client.get(WORKERS).get_data(as_text=True)
    with client.session_transaction() as session:
        assert token not in json.dumps(dict(session), default=str)
        assert not session.get("_flashes")
    row = db.session.scalars(select(ServiceToken)).one()
    assert row.name == "HR system" and row.created_by == "sec@example.org"
    assert (row.expires_at - row.created_at) == timedelta(days=30)
    [event] = _events("service_token.issued")
    assert json.loads(event.data)["days"] == 30

    pushed = app.test_client().post(
        PUSH, json={"people": [PERSON]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert pushed.status_code == 201, pushed.get_json()
    listed = client.get(WORKERS).get_data(as_text=True)
    assert "HR system" in listed and "Active" in listed


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", "90", "Enter a name for the token"),
        ("HR", "0", "The token must last from 1 to 366 days"),
        ("HR", "367", "The token must last from 1 to 366 days"),
        ("HR", "", "Enter how many days the token lasts"),
        ("N" * 201, "90", "The name must be 200 characters or fewer"),
    ],
    ids=["no-name", "zero-days", "too-many-days", "no-days", "long-name"],
)
def test_a_bad_token_form_is_refused_and_makes_no_token(
    client: FlaskClient, school: Institution, name: str, days: str, message: str
) -> None:
    """The source page comes back with the error beside the field; nothing is stored."""
    before = database_fingerprint()
    response = _make_token(client, name=name, days=days)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page and message in page
    assert 'id="service-token"' not in page
    assert database_fingerprint() == before


def test_tokens_are_listed_newest_first_a_page_at_a_time(
    client: FlaskClient, school: Institution
) -> None:
    """Fifty tokens a page, newest first; an expired one says so."""
    source = _source(school)
    start = utcnow() - timedelta(days=100)
    for number in range(51):
        issue_token(SYSTEM, source, name=f"Feed {number:02}", now=start + timedelta(days=number))
    db.session.commit()
    first = client.get(WORKERS).get_data(as_text=True)
    names = re.findall(r"Feed \d\d", first)
    assert names[0] == "Feed 50" and "Feed 00" not in first
    assert "Expired" in first and "Active" in first
    second = client.get(f"{WORKERS}?page=2").get_data(as_text=True)
    assert "Feed 00" in second and "Feed 50" not in second


def test_revoking_asks_first_then_the_api_refuses_the_token(
    app: Flask, client: FlaskClient, school: Institution
) -> None:
    """GET asks and changes nothing; POST revokes (audited); the API then answers 401."""
    token = _token_in(_make_token(client).get_data(as_text=True))
    row = db.session.scalars(select(ServiceToken)).one()
    url = f"{WORKERS}/tokens/{row.id}/revoke"
    assert f'href="{url}"' in client.get(WORKERS).get_data(as_text=True)
    before = database_fingerprint()
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Revoke the token HR system?" in confirm.get_data(as_text=True)
    assert database_fingerprint() == before

    revoked = client.post(url)
    assert revoked.status_code == 302 and revoked.headers["Location"] == WORKERS
    db.session.refresh(row)
    assert row.revoked_at is not None
    [event] = _events("service_token.revoked")
    assert event.actor_label == "sec@example.org"
    page = client.get(WORKERS).get_data(as_text=True)
    assert "Revoked" in page and f'href="{url}"' not in page

    refused = app.test_client().post(
        PUSH, json={"people": [PERSON]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]
    again = client.get(url)
    assert again.status_code == 302  # already revoked: back to the source, nothing changes
    assert len(_events("service_token.revoked")) == 1


def test_another_institution_and_its_tokens_are_out_of_reach(
    app: Flask, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """Another secretary gets 403 on these pages; through their own they find nothing (404)."""
    target = make_institution(slug="target-source-school")
    target_source = ensure_csv_source(SYSTEM, get_constituency(target, "workers"))
    target_row, _ = issue_token(SYSTEM, target_source, name="Target feed")
    other = make_institution(slug="other-source-school")
    ensure_csv_source(SYSTEM, get_constituency(other, "workers"))
    db.session.commit()
    grant(make_user("other.sec@example.org"), other, Role.secretary)
    login_as("other.sec@example.org")
    before = database_fingerprint()
    base = "/institutions/target-source-school/rosters/sources"
    for url in (base, f"{base}/workers-csv", f"{base}/workers-csv/mapping"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{base}/workers-csv/mapping", data=_mapping_form()).status_code == 403
    assert client.post(f"{base}/workers-csv/tokens", data={"name": "X"}).status_code == 403
    assert client.post(f"{base}/workers-csv/tokens/{target_row.id}/revoke").status_code == 403
    own = "/institutions/other-source-school/rosters/sources"
    assert client.get(f"{own}/users-csv").status_code == 404
    assert client.get(f"{own}/workers-csv/tokens/{target_row.id}/revoke").status_code == 404
    assert client.post(f"{own}/workers-csv/tokens/{target_row.id}/revoke").status_code == 404
    assert database_fingerprint() == before
    assert db.session.get(ServiceToken, target_row.id).revoked_at is None  # type: ignore[union-attr]


def test_the_sign_up_source_has_no_headers_and_takes_no_tokens(
    client: FlaskClient, school: Institution
) -> None:
    """Only the public page feeds the sign-up source: no mapping page, no token form (404)."""
    [row] = parse_records(
        [{"external_id": "signup:x@example.org", "given_name": "Xe", "family_name": "Yu"}]
    )
    assert isinstance(row, RosterRow)
    join_community(school, row)
    db.session.commit()
    url = f"{SOURCES}/{SIGNUP_SOURCE}"
    page = client.get(url).get_data(as_text=True)
    assert "Community sign-up" in page and "takes no service tokens" in page
    assert "Make a service token" not in page and f"{url}/mapping" not in page
    before = database_fingerprint()
    assert client.get(f"{url}/mapping").status_code == 404
    assert client.post(f"{url}/mapping", data=_mapping_form()).status_code == 404
    assert client.post(f"{url}/tokens", data={"name": "Feed", "days": "90"}).status_code == 404
    assert database_fingerprint() == before


def test_the_forms_carry_and_need_a_csrf_token(app: Flask, make_app) -> None:  # type: ignore[no-untyped-def]
    """With CSRF protection on (as in production), each form has its token and needs it."""
    from assembly.auth.actors import CLI
    from assembly.auth.operations import issue_sign_in_link

    institution = make_institution(slug=SLUG)
    source = ensure_csv_source(SYSTEM, get_constituency(institution, "workers"))
    row, _ = issue_token(SYSTEM, source, name="Old feed")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, "sec@example.org"))
    db.session.commit()
    client = make_app(WTF_CSRF_ENABLED=True).test_client()

    def csrf(url: str) -> str:
        found = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text)
        assert found, url
        return str(found[-1])

    assert client.post(link, data={"csrf_token": csrf(link)}).status_code == 302
    before = database_fingerprint()
    revoke = f"{WORKERS}/tokens/{row.id}/revoke"
    assert client.post(f"{WORKERS}/tokens", data={"name": "HR", "days": "9"}).status_code == 400
    assert client.post(f"{WORKERS}/mapping", data=_mapping_form(email="Mail")).status_code == 400
    assert client.post(revoke).status_code == 400
    assert client.post(SOURCES, data={"constituency": "users"}).status_code == 400
    assert database_fingerprint() == before
    for url in (WORKERS, f"{WORKERS}/mapping", revoke, SOURCES):
        csrf(url)
    made = client.post(
        f"{WORKERS}/tokens", data={"name": "HR", "days": "9", "csrf_token": csrf(WORKERS)}
    )
    assert made.status_code == 200 and 'id="service-token"' in made.text
