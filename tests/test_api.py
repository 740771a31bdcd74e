"""The roster push API: service tokens (scoped, expiring, revocable), snapshot and delta
pushes, idempotency, refusals that change nothing, and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from assembly.api.tokens import issue_token, revoke_token
from assembly.auth.actors import SYSTEM
from assembly.clock import utcnow
from assembly.extensions import db
from assembly.membership.models import ImportRun, Membership
from assembly.membership.operations import ensure_csv_source
from assembly.membership.queries import get_constituency
from tests.conftest import make_institution
from tests.membership.test_imports import database_fingerprint

ANN = {"external_id": "E1", "given_name": "Ann", "family_name": "Smith", "email": "ann@example.org"}
BOB = {"external_id": "E2", "given_name": "Bob", "family_name": "Jones"}
URL = "/api/v1/institutions/api-school/rosters/workers-csv/imports"


@pytest.fixture
def token(app: Flask) -> str:
    school = make_institution(slug="api-school")
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    _, value = issue_token(SYSTEM, source, name="HR system")
    db.session.commit()
    return value


def _push(client: FlaskClient, token: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(URL, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def _members() -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Membership).where(Membership.left_on.is_(None))
        )
        or 0
    )


def test_a_snapshot_push_imports_and_reports(client: FlaskClient, token: str) -> None:
    """A push with a valid token is applied at once and answers 201 with the counts."""
    response = _push(client, token, {"mode": "snapshot", "people": [ANN, BOB]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "applied" and body["counts"]["new"] == 2
    assert _members() == 2
    again = _push(client, token, {"people": [ANN]})
    assert again.get_json()["counts"]["leaving"] == 1 and _members() == 1


def test_a_delta_push_joins_and_lets_named_leavers_go(client: FlaskClient, token: str) -> None:
    """A delta adds people and ends only the memberships it names."""
    _push(client, token, {"people": [ANN, BOB]})
    response = _push(
        client,
        token,
        {
            "mode": "delta",
            "people": [{**ANN, "external_id": "E3", "email": None}],
            "leavers": ["E2"],
        },
    )
    assert response.status_code == 201
    assert response.get_json()["counts"]["leaving"] == 1
    assert _members() == 2


def test_the_same_idempotency_key_applies_once(client: FlaskClient, token: str) -> None:
    """A repeated push with the same key returns the first result and changes nothing."""
    first = _push(client, token, {"people": [ANN]}, **{"Idempotency-Key": "nightly-42"})
    second = _push(client, token, {"people": [ANN, BOB]}, **{"Idempotency-Key": "nightly-42"})
    assert second.status_code == 200 and second.get_json()["replayed"] is True
    assert second.get_json()["run_id"] == first.get_json()["run_id"]
    assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 1
    assert _members() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"people": [ANN, {**BOB, "email": "nope"}]}, 422),
        ({"people": [ANN, ANN]}, 422),
        ({"people": [{**ANN, "given_name": "=cmd|' /C calc'!A0"}]}, 422),
        ({"people": "everyone"}, 400),
        ({"mode": "sometimes", "people": []}, 400),
        ({"mode": "snapshot", "people": [], "leavers": ["E1"]}, 400),
        ([1, 2, 3], 400),
    ],
    ids=[
        "bad-email",
        "duplicate-id",
        "formula",
        "people-not-a-list",
        "bad-mode",
        "leavers-in-snapshot",
        "not-an-object",
    ],
)
def test_bad_pushes_are_refused_and_change_nothing(
    client: FlaskClient, token: str, body: object, status: int
) -> None:
    """A push with bad people or a bad shape is refused with reasons; nothing changes."""
    _push(client, token, {"people": [BOB]})
    before = database_fingerprint()
    response = _push(client, token, body)
    assert response.status_code == status
    assert response.get_json()["message"]
    assert database_fingerprint() == before


def test_tokens_must_be_valid_current_and_for_this_source(
    app: Flask, client: FlaskClient, token: str
) -> None:
    """No token, a tampered one, an expired one, a revoked one: 401; another source's: 403."""
    assert client.post(URL, json={"people": [ANN]}).status_code == 401
    assert _push(client, token[:-3] + "abc", {"people": [ANN]}).status_code == 401
    school = make_institution(slug="other-api-school")
    other_source = ensure_csv_source(SYSTEM, get_constituency(school, "users"))
    _, other = issue_token(SYSTEM, other_source, name="Patient system")
    _, expired = issue_token(
        SYSTEM, other_source, name="Old", now=utcnow() - timedelta(days=400), days=30
    )
    db.session.commit()
    assert _push(client, other, {"people": [ANN]}).status_code == 403
    expired_url = "/api/v1/institutions/other-api-school/rosters/users-csv/imports"
    response = client.post(
        expired_url, json={"people": [ANN]}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401 and "expired" in response.get_json()["message"]
    from assembly.membership.models import ServiceToken

    mine = db.session.scalars(select(ServiceToken).filter_by(name="HR system")).one()
    revoke_token(SYSTEM, mine)
    db.session.commit()
    response = _push(client, token, {"people": [ANN]})
    assert response.status_code == 401 and "revoked" in response.get_json()["message"]
    assert _members() == 0
    assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_a_dry_run_changes_nothing(client: FlaskClient, token: str) -> None:
    """dry_run answers with the counts and leaves the database as it was."""
    before = database_fingerprint()
    response = _push(client, token, {"people": [ANN, BOB], "dry_run": True})
    assert response.status_code == 200 and response.get_json()["counts"]["new"] == 2
    assert database_fingerprint() == before


def test_the_openapi_document_describes_the_push(client: FlaskClient) -> None:
    """The OpenAPI document names the push path, its security and its responses."""
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    push = document["paths"]["/institutions/{slug}/rosters/{source}/imports"]["post"]
    assert push["security"] == [{"serviceToken": []}]
    assert {"201", "401", "403", "422"} <= set(push["responses"])


def test_the_cli_makes_and_revokes_tokens(app: Flask, runner: FlaskCliRunner) -> None:
    """`assembly roster token create` prints a working token; `revoke` stops it."""
    make_institution(slug="cli-token-school")
    made = runner.invoke(
        args=[
            "roster",
            "token",
            "create",
            "--institution",
            "cli-token-school",
            "--constituency",
            "workers",
            "--name",
            "HR",
            "--days",
            "30",
        ]
    )
    assert made.exit_code == 0, made.output
    token_line = next(line for line in made.output.splitlines() if line.count(".") == 2)
    client = app.test_client()
    url = "/api/v1/institutions/cli-token-school/rosters/workers-csv/imports"
    ok = client.post(url, json={"people": [ANN]}, headers={"Authorization": f"Bearer {token_line}"})
    assert ok.status_code == 201
    revoked = runner.invoke(args=["roster", "token", "revoke", "1"])
    assert revoked.exit_code == 0
    refused = client.post(
        url, json={"people": [ANN]}, headers={"Authorization": f"Bearer {token_line}"}
    )
    assert refused.status_code == 401
