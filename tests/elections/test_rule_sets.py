"""STV rule sets chosen per contest: the set-up page offers every one, the count and the
record name the contest's, and the verifier recounts by the rules the record names."""

from __future__ import annotations

import copy
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from assembly.counting import DEFAULT_RULES, RULE_SETS
from assembly.elections.count import count_election
from assembly.elections.models import ContestResult, CountMethod, Election
from assembly.elections.operations import settings_fingerprint
from assembly.extensions import db
from assembly.records import operations as record_operations
from assembly.records.verify import verify_record
from tests.elections.test_setup import GOOD, _school_with_officer
from tests.membership.test_imports import database_fingerprint
from tests.records.test_pages import _polled, _record


@pytest.mark.parametrize("rules", sorted(RULE_SETS))
def test_a_contest_is_counted_recorded_and_recounted_by_its_rules(app: Flask, rules: str) -> None:
    """The count is by the contest's rule set; the record names it beside the method and in
    the count; the record verifies; the same record naming another rule set fails step 7."""
    counted = _polled(app)
    contest = counted.election.contests[0]
    contest.rules = rules
    db.session.commit()
    record_operations._UNLOCKED.clear()
    count_election(counted.officer, counted.election)
    db.session.commit()
    stored = db.session.get(ContestResult, contest.id)
    assert stored is not None and f'"rules":"{rules}"' in stored.result
    record = _record(counted)
    section = record["body"]["contests"][0]
    assert section["method"] == "stv" and section["rules"] == rules
    assert section["count"]["rules"] == rules
    report = verify_record(record)
    assert {s.number for s in report.steps if not s.passed} <= {4}  # awaits countersigning
    recount = next(s for s in report.steps if s.number == 7)
    assert f"({rules} rules)" in "\n".join(recount.details)
    other = next(name for name in sorted(RULE_SETS) if name != rules)
    swapped = copy.deepcopy(record)
    swapped["body"]["contests"][0]["rules"] = other
    assert 7 in {s.number for s in verify_record(swapped).steps if not s.passed}


def _form(officer_id: int, counting: str) -> dict[str, str]:
    return {
        "title": "Governors 2027",
        "seats": "9",
        "apportionment": "largest-remainder",
        "candidate_order": "alphabetical",
        "reminder_days_before_close": "3",
        "returning_officer": str(officer_id),
        "weight_workers": "1",
        "weight_users": "1",
        "weight_community": "1",
        "method_workers": counting,
        "method_users": "stv",
        "method_community": "plurality",
        **{name: getattr(GOOD, name).isoformat() for name in GOOD.__dataclass_fields__},
    }


def test_the_set_up_page_chooses_the_rules_per_contest(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """Every rule set is offered for each constituency; the choice is saved on its contest
    (the others keep the default), shown on the election page, and changes the fingerprint
    the returning officer approves; the default rules leave it as it was before rule sets."""
    _, secretary, officer = _school_with_officer("rules-page")
    login_as(secretary.email)
    page = client.get("/institutions/rules-page/elections/new").get_data(as_text=True)
    for name in RULE_SETS:
        value = "stv" if name == DEFAULT_RULES else f"stv:{name}"
        assert f'<option value="{value}"' in page
    saved = client.post(
        "/institutions/rules-page/elections/new", data=_form(officer.id, "stv:meek")
    )
    assert saved.status_code == 302
    election = db.session.scalars(select(Election)).one()
    by_key = {c.constituency.key: c for c in election.contests}
    assert (by_key["workers"].method, by_key["workers"].rules) == (CountMethod.stv, "meek")
    assert by_key["users"].rules == DEFAULT_RULES
    assert by_key["community"].method == CountMethod.plurality
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Single transferable vote (ranked): Meek&#39;s method" in shown
    meek = settings_fingerprint(election)
    by_key["workers"].rules = DEFAULT_RULES
    assert settings_fingerprint(election) != meek
    db.session.rollback()


def test_a_rule_set_the_count_does_not_know_is_refused(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """A counting choice naming no rule set is refused on the form and nothing is stored."""
    _, secretary, officer = _school_with_officer("rules-refused")
    login_as(secretary.email)
    before = database_fingerprint()
    answer = client.post(
        "/institutions/rules-refused/elections/new", data=_form(officer.id, "stv:nonesuch")
    )
    assert answer.status_code == 400  # the form again, with its errors
    assert re.search(r"Not a valid choice", answer.get_data(as_text=True))
    assert database_fingerprint() == before
