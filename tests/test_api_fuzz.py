"""Schemathesis against the API's own OpenAPI document: requests generated from it (valid and
not), with and without a service token, never get a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assembly.api.tokens import issue_token
from assembly.auth.actors import SYSTEM
from assembly.extensions import db
from assembly.membership.operations import ensure_csv_source
from assembly.membership.queries import get_constituency
from tests.conftest import make_institution


def _operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_request_gets_a_server_error(app: Flask) -> None:
    """Requests drawn from every operation of the document, half of them aimed at a real
    school's roster source with its valid token (so that bodies are read, validated and
    applied), all answered without a 5xx."""
    school = make_institution(slug="fuzz-school")
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    _, bearer = issue_token(SYSTEM, source, name="HR system")
    db.session.commit()
    operations = _operations(app)
    assert {op.label for op in operations} >= {"POST /institutions/{slug}/rosters/{source}/imports"}
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(operations))
        case = data.draw(operation.as_strategy())
        if case.path_parameters and data.draw(st.booleans()):
            case.path_parameters = {"slug": "fuzz-school", "source": "workers-csv"}
        headers = {"Authorization": f"Bearer {bearer}"} if data.draw(st.booleans()) else {}
        response = case.call(headers=headers)
        db.session.rollback()
        seen.add(response.status_code)
        assert response.status_code < 500, (case.path_parameters, case.body, response.text[:500])

    run()
    assert 200 in seen or 201 in seen  # some requests were accepted, not only refused
    assert any(400 <= status < 500 for status in seen)
