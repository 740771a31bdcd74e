"""Institutions and constituencies: created with three thirds, edited, refusals change nothing."""

from __future__ import annotations

from fractions import Fraction

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from assembly.audit.models import AuditEvent
from assembly.auth.actors import SYSTEM
from assembly.auth.models import Role
from assembly.errors import Conflict, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency, Institution
from assembly.membership.operations import create_institution, parse_weight
from assembly.membership.queries import get_constituency, get_institution
from tests.conftest import grant, make_institution, make_member, make_user


def _count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_new_institution_has_three_constituencies_of_one_third(app: Flask) -> None:
    """Workers, service users and local community are created, 1/3 each, in that precedence."""
    institution = make_institution(slug="thirds", name="Thirds School")
    rows = [(c.key, c.name, c.weight, c.precedence) for c in institution.constituencies]
    assert rows == [
        ("workers", "Workers", Fraction(1, 3), 1),
        ("users", "Service users", Fraction(1, 3), 2),
        ("community", "Local community", Fraction(1, 3), 3),
    ]
    assert institution.leader_title == "Headteacher"


def test_admin_creates_an_institution_through_the_page(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """The admin's form creates the institution, audits it and opens its dashboard."""
    make_user("admin@example.org", admin=True)
    login_as("admin@example.org")
    response = client.post(
        "/admin/institutions/new",
        data={
            "name": "Riverside Hospital",
            "slug": "riverside",
            "kind": "hospital",
            "area": "Leeds",
            "leader_title": "",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/institutions/riverside"
    page = client.get("/institutions/riverside").get_data(as_text=True)
    assert "Riverside Hospital" in page and "Chief Executive" in page and "1/3" in page
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "institution.created" in actions


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "slug": "ok", "kind": "school"}, "Enter the institution&#39;s name"),
        ({"name": "X", "slug": "Bad Slug", "kind": "school"}, "Use only lower-case letters"),
        ({"name": "X", "slug": "ok", "kind": "castle"}, "Not a valid choice"),
        ({"name": "X", "slug": "new", "kind": "school"}, "reserved word"),
    ],
)
def test_bad_institution_forms_explain_and_change_nothing(
    app: Flask, client: FlaskClient, login_as, form: dict[str, str], message: str
) -> None:
    """A refused form shows what to fix, and no institution or audit event is written."""
    make_user("admin@example.org", admin=True)
    login_as("admin@example.org")
    before = (_count(Institution), _count(Constituency), _count(AuditEvent))
    response = client.post("/admin/institutions/new", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page and "There is a problem" in page
    assert page.count("<title>Error: ") == 1
    assert (_count(Institution), _count(Constituency), _count(AuditEvent)) == before


def test_a_taken_short_name_is_refused(app: Flask) -> None:
    """Two institutions cannot share a short name."""
    make_institution(slug="taken")
    with pytest.raises(Conflict, match="already exists"):
        create_institution(SYSTEM, slug="taken", name="Again", kind="school")


def test_only_admins_create_institutions(app: Flask) -> None:
    """A secretary (or anyone not a platform admin) cannot create an institution."""
    user = make_user()
    with pytest.raises(NotEligible):
        create_institution(user, slug="mine", name="Mine", kind="other")


@pytest.mark.parametrize(
    ("raw", "value"), [("1/3", Fraction(1, 3)), ("0.25", Fraction(1, 4)), (" 2 ", Fraction(2))]
)
def test_weights_are_read_exactly(raw: str, value: Fraction) -> None:
    """Weights typed as fractions, decimals or whole numbers become exact rationals."""
    assert parse_weight(raw) == value


@pytest.mark.parametrize("raw", ["", "a third", "0", "-1/3", "1/0"])
def test_bad_weights_are_refused(raw: str) -> None:
    """A weight that is not a positive number is refused with a message."""
    with pytest.raises(RuleViolation):
        parse_weight(raw)


def test_secretary_changes_a_constituency(app: Flask, client: FlaskClient, login_as) -> None:
    """The secretary's edit changes the weight exactly, shows new shares and is audited."""
    institution = make_institution(slug="edit-me")
    secretary = make_user("sec@example.org")
    grant(secretary, institution, Role.secretary)
    login_as("sec@example.org")
    response = client.post(
        "/institutions/edit-me/constituencies/workers/edit",
        data={"name": "Staff", "weight": "1/2", "minimum_age": "16", "precedence": "1"},
    )
    assert response.status_code == 302
    workers = get_constituency(institution, "workers")
    assert workers is not None
    assert (workers.name, workers.weight, workers.minimum_age) == ("Staff", Fraction(1, 2), 16)
    page = client.get("/institutions/edit-me").get_data(as_text=True)
    assert "3/7" in page  # 1/2 ÷ (1/2 + 1/3 + 1/3)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None and event.action == "constituency.updated"
    assert '"weight":"1/2"' in event.data and '"weight":"1/3"' in event.data


def test_a_clashing_precedence_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """Two constituencies cannot share a precedence; the form says so and nothing is saved."""
    institution = make_institution(slug="clash")
    secretary = make_user("sec@example.org")
    grant(secretary, institution, Role.secretary)
    login_as("sec@example.org")
    events = _count(AuditEvent)
    response = client.post(
        "/institutions/clash/constituencies/workers/edit",
        data={"name": "Renamed", "weight": "1/3", "minimum_age": "0", "precedence": "2"},
    )
    assert response.status_code == 200
    assert "already has precedence 2" in response.get_data(as_text=True)
    db.session.expire_all()
    workers = get_constituency(institution, "workers")
    assert workers is not None and (workers.name, workers.precedence) == ("Workers", 1)
    assert _count(AuditEvent) == events


def test_secretary_adds_a_custom_constituency(app: Flask, client: FlaskClient, login_as) -> None:
    """A custom constituency (a staff class) can be added with its own weight."""
    institution = make_institution(slug="custom")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    login_as("sec@example.org")
    response = client.post(
        "/institutions/custom/constituencies/new",
        data={
            "key": "nurses",
            "name": "Nurses",
            "weight": "1/6",
            "minimum_age": "18",
            "precedence": "4",
        },
    )
    assert response.status_code == 302
    nurses = get_constituency(institution, "nurses")
    assert nurses is not None and nurses.weight == Fraction(1, 6)


def test_secretary_grants_tellers_but_not_secretaries(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """A secretary appoints tellers; only the platform admin appoints secretaries."""
    institution = make_institution(slug="roles-school")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    login_as("sec@example.org")
    response = client.post(
        "/institutions/roles-school/roles", data={"email": "teller@example.org", "role": "teller"}
    )
    assert response.status_code == 302
    response = client.post(
        "/institutions/roles-school/roles", data={"email": "boss@example.org", "role": "secretary"}
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    page = client.get("/institutions/roles-school/roles").get_data(as_text=True)
    assert "teller@example.org" in page and "boss@example.org" not in page


def test_revoking_a_role_asks_first_and_keeps_history(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """Removing a role shows a confirmation page; confirming ends the grant without deleting it."""
    from assembly.auth.models import RoleGrant

    institution = make_institution(slug="revoke-school")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    grant(make_user("teller@example.org"), institution, Role.teller)
    login_as("sec@example.org")
    teller_grant = db.session.scalars(select(RoleGrant).filter_by(role=Role.teller)).one()
    url = f"/institutions/revoke-school/roles/{teller_grant.id}/revoke"
    assert "Remove teller@example.org as teller?" in client.get(url).get_data(as_text=True)
    assert client.post(url).status_code == 302
    db.session.expire_all()
    assert teller_grant.revoked_at is not None
    assert _count(RoleGrant) == 2


def test_my_memberships_lists_current_and_past(app: Flask, client: FlaskClient, login_as) -> None:
    """A member sees every institution they belong to, and the constituency."""
    school = make_institution(slug="a-school", name="A School")
    hospital = make_institution(slug="a-hospital", name="A Hospital", kind="hospital")
    make_member(school, "users", email="both@example.org")
    make_member(hospital, "community", email="both@example.org")
    login_as("both@example.org")
    page = client.get("/my/memberships").get_data(as_text=True)
    assert "A School" in page and "A Hospital" in page
    assert "Service users" in page and "Local community" in page


def test_cli_creates_institutions(app: Flask, runner: FlaskCliRunner) -> None:
    """`assembly institutions create` creates the institution and refuses a duplicate clearly."""
    result = runner.invoke(
        args=["institutions", "create", "cli-school", "--name", "CLI School", "--kind", "school"]
    )
    assert result.exit_code == 0, result.output
    assert get_institution("cli-school") is not None
    again = runner.invoke(
        args=["institutions", "create", "cli-school", "--name", "Again", "--kind", "school"]
    )
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_grants_roles(app: Flask, runner: FlaskCliRunner) -> None:
    """`assembly users grant EMAIL --role secretary --institution SLUG` grants the role."""
    from assembly.auth.operations import get_user_by_email
    from assembly.auth.permissions import roles_in

    institution = make_institution(slug="grant-school")
    result = runner.invoke(
        args=[
            "users",
            "grant",
            "Sec@Example.org",
            "--role",
            "secretary",
            "--institution",
            "grant-school",
        ]
    )
    assert result.exit_code == 0, result.output
    user = get_user_by_email("sec@example.org")
    assert user is not None and roles_in(user, institution) == {Role.secretary}
    missing = runner.invoke(
        args=["users", "grant", "x@example.org", "--role", "secretary", "--institution", "nowhere"]
    )
    assert missing.exit_code == 1 and "no institution" in missing.output


def test_demo_is_idempotent_and_prints_links(app: Flask, runner: FlaskCliRunner) -> None:
    """`assembly demo` seeds two institutions with hundreds of members, a draft board
    election and a noticed assembly once, and prints links."""
    from assembly.assemblies.models import Assembly
    from assembly.assemblies.states import AssemblyState
    from assembly.elections.models import Election
    from assembly.membership.models import Membership

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    counts = (_count(Institution), _count(Membership), _count(Election), _count(Assembly))
    assert counts[0] == 2 and 300 <= counts[1] <= 1000 and counts[2:] == (1, 1)
    assert db.session.scalars(select(Assembly)).one().state == AssemblyState.noticed
    assert first.output.count("/sign-in/link/") == 4
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "nothing added" in second.output
    assert (
        _count(Institution),
        _count(Membership),
        _count(Election),
        _count(Assembly),
    ) == counts
    assert second.output.count("/sign-in/link/") == 4
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
