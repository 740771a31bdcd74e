"""The election record in the browser: the returning officer downloads the counted record,
countersigns it on their own computer, uploads the signature and declares; then anyone checks
the published record on the verify page, every step passing, and a member who voted finds
their ballot there by its tracker and their receipt. axe-core checks each page on the way.

The election is built with the test factory (its poll open today, the returning officer's
key registered); a member votes in their browser, two more through the operation; the timer
closes the poll.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.clock import today
from assembly.elections.operations import tick
from assembly.elections.states import ElectionState
from assembly.elections.voting import cast_ballot
from assembly.extensions import begin_writing, db
from assembly.records.record import signature_file
from assembly.records.signing import fingerprint, group_fingerprint
from tests.conftest import grant, make_institution, make_user
from tests.e2e.conftest import assert_accessible, expect_flash, fresh, signed_in
from tests.elections.polls import OFFICER_KEY, OFFICER_PUBLIC_KEY, make_poll

pytestmark = pytest.mark.browser

TIMER = SystemActor("timer")
SLUG = "orchard-school"
TITLE = "Election of governors"


def _download(page: Any, link: str, folder: Path) -> Path:
    """Click ``link`` and save the file it downloads in ``folder``."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def test_the_officer_countersigns_and_anyone_verifies(
    app: Flask, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    """Vote → close → count → download the record → sign it offline → upload the signature →
    declare → an anonymous visitor verifies the published record (every step PASS) → the
    voter finds their ballot by tracker and receipt."""
    school = make_institution(slug=SLUG, name="Orchard School")
    poll = make_poll(school, keys=("workers",), voters=3)
    rita = make_user("rita@example.org", name="Rita Officer")
    grant(rita, school, Role.returning_officer)
    election = poll.election
    election_id = election.id
    election.returning_officer_id = rita.id
    db.session.commit()
    zoe, amy, bob = poll.candidates["workers"]
    election_url = f"/institutions/{SLUG}/elections/{election_id}"

    # -- a member votes in their browser (Amy Brown, then Bob Adams) and keeps the receipt
    voter_email, *others = poll.voters["workers"]
    voter = signed_in(new_page, voter_email)
    voter.goto(f"{election_url}/vote")
    voter.get_by_label(amy.ballot_name, exact=True).fill("1")
    voter.get_by_label(bob.ballot_name, exact=True).fill("2")
    voter.get_by_role("button", name="Continue", exact=True).click()
    voter.get_by_role("button", name="Cast my vote").click()
    voter.wait_for_url("**/vote/receipt")
    tracker = voter.locator("#tracker").inner_text()
    receipt_path = _download(voter, "Download your signed receipt", tmp_path)
    # -- two more vote through the operation, and the timer closes the poll
    for email, ranking in zip(others, ([zoe.id], [bob.id, zoe.id]), strict=True):
        fresh()
        begin_writing()
        cast_ballot(make_user(email), election, poll.contests["workers"], ranking, today=today())
        db.session.commit()
    fresh()
    closed = tick(TIMER, election.poll_closes_on + timedelta(days=1))
    db.session.commit()
    assert [state for _, state in closed] == [ElectionState.poll_closed]

    # -- the returning officer counts; the result waits for the record's countersignature
    officer = signed_in(new_page, "rita@example.org")
    officer.goto(election_url)
    officer.get_by_role("button", name="Count the votes").click()
    expect_flash(officer, "The votes are counted")
    expect(officer.locator("#countersign-first")).to_contain_text(
        "The record must be countersigned before you declare"
    )
    officer.get_by_role("link", name="countersign it on the record page").click()
    expect(officer.get_by_role("heading", name=f"Election record: {TITLE}")).to_be_visible()
    expect(officer.get_by_text("Not yet countersigned")).to_be_visible()
    assert_accessible(officer)

    # -- they download the record and sign it on their own computer
    record_path = _download(officer, "Download the record (JSON)", tmp_path)
    assert record_path.name == f"record-{SLUG}-{election_id}.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert [s["role"] for s in record["signatures"]] == ["election"]
    expect(officer.locator("#body-hash")).to_have_text(record["body_sha256"])
    signature = signature_file("returning_officer", record["body_sha256"], OFFICER_KEY)
    signature_path = tmp_path / "record.sig"
    signature_path.write_text(json.dumps(signature), encoding="utf-8")

    # -- uploading the wrong file is refused with what to do; the signature is accepted
    officer.get_by_label("Your signature file").set_input_files(str(record_path))
    officer.get_by_role("button", name="Countersign the record").click()
    expect(officer.locator(".govuk-error-summary")).to_contain_text(
        "That file is not a signature made by `assembly record sign`"
    )
    assert officer.title().startswith("Error:")
    assert_accessible(officer)
    officer.get_by_label("Your signature file").set_input_files(str(signature_path))
    officer.get_by_role("button", name="Countersign the record").click()
    expect_flash(officer, "You countersigned the record")
    expect(officer.locator(".govuk-tag")).to_have_text("Countersigned")
    assert_accessible(officer)

    # -- and declare the result
    officer.get_by_role("link", name="check and declare the result").click()
    officer.get_by_role("button", name="Declare the result").click()
    expect_flash(officer, "You declared the result")
    expect(officer.get_by_role("heading", name="Declaration of result")).to_be_visible()

    # -- anyone verifies the published record
    visitor = new_page()
    visitor.goto("/verify")
    expect(visitor.get_by_role("heading", name="Verify an election record")).to_be_visible()
    assert_accessible(visitor)
    visitor.get_by_label("A published record").select_option(label=f"Orchard School: {TITLE}")
    visitor.get_by_role("button", name="Check the record").click()
    expect(visitor.locator("#verdict")).to_contain_text("Every check passed")
    steps = visitor.locator("#steps > li")
    expect(steps).to_have_count(7)
    for number in range(1, 8):
        expect(visitor.locator(f"#step-{number} .govuk-tag")).to_have_text("PASS")
    assert_accessible(visitor)
    visitor.goto(f"/records/{election_id}")
    expect(visitor.locator("#officer-key")).to_contain_text(
        record["body"]["keys"]["returning_officer"]["fingerprint"][:4]
    )
    assert_accessible(visitor)
    visitor.goto("/keys")
    expect(visitor.get_by_text("Current key")).to_be_visible()
    assert_accessible(visitor)

    # -- the voter finds their ballot by its tracker, and checks their receipt
    voter.goto("/verify")
    voter.get_by_label("A published record").select_option(label=f"Orchard School: {TITLE}")
    voter.get_by_label("Your receipt (optional)").set_input_files(str(receipt_path))
    voter.get_by_label("Your tracker (optional)").fill(tracker.lower())
    voter.get_by_role("button", name="Check the record").click()
    expect(voter.locator("#verdict")).to_contain_text("Every check passed")
    expect(voter.locator("#step-8")).to_contain_text("PASS")
    expect(voter.locator("#step-8")).to_contain_text("Receipt and tracker")
    found = voter.locator("#tracker-result + .govuk-inset-text")
    expect(found).to_contain_text("Your ballot is in the Workers contest, with this ranking:")
    expect(found.locator("li")).to_have_text([amy.ballot_name, bob.ballot_name])
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", tracker)
    assert_accessible(voter)


def test_the_officer_registers_their_signing_key(app: Flask, new_page: Callable[[], Any]) -> None:
    """On a draft election the returning officer follows the link from the election's page,
    pastes a wrong line (refused, with an error summary), then their .pub line; the
    fingerprint is shown there and on the election's page."""
    school = make_institution(slug=SLUG, name="Orchard School")
    election = make_poll(school, keys=("workers",)).election
    rita = make_user("rita@example.org", name="Rita Officer")
    grant(rita, school, Role.returning_officer)
    election.state = ElectionState.draft
    election.returning_officer_id = rita.id
    election.officer_public_key = election.officer_fingerprint = ""
    db.session.commit()
    officer = signed_in(new_page, "rita@example.org")
    officer.goto(f"/institutions/{SLUG}/elections/{election.id}")
    expect(officer.locator("#officer-key-status")).to_contain_text("Not registered yet")
    officer.get_by_role("link", name="Register your signing key").click()
    expect(officer.get_by_role("heading", name="Your signing key")).to_be_visible()
    assert_accessible(officer)
    officer.get_by_label("Your public key").fill("-----BEGIN PRIVATE KEY-----")
    officer.get_by_role("button", name="Register my key").click()
    expect(officer.locator(".govuk-error-summary")).to_contain_text("That is not a public key")
    assert_accessible(officer)
    officer.get_by_label("Your public key").fill(OFFICER_PUBLIC_KEY)
    officer.get_by_role("button", name="Register my key").click()
    expect_flash(officer, "Your signing key is registered")
    grouped = group_fingerprint(fingerprint(OFFICER_PUBLIC_KEY))
    expect(officer.locator("#registered-fingerprint")).to_contain_text(grouped)
    assert_accessible(officer)
    officer.get_by_role("link", name=f"Back to {TITLE}").click()
    expect(officer.locator("#officer-key-status")).to_contain_text(grouped)
