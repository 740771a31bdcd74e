"""An end-to-end verifiable board election in Chromium, every secret made in a browser: the
returning officer names two scrutineers; the three trustees register keys, deal and confirm in
their own browsers (the ceremony's fingerprint the same on each page); the officer's browser
makes the voters' credentials; one voter audits an encryption and then casts, another casts
encrypted, a third without JavaScript votes in today's mode; after the close the trustees
shuffle and open with ``assembly trustee``; the officer counts, and anyone verifies the record
on /verify, step 10 (the end-to-end proofs) included. axe-core checks the new pages.

The election is built with the test factory (its roll frozen, its poll dates around today),
put back to "nominations closed" for the ceremony and opened once it is done.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import func, select

from assembly.auth.actors import SystemActor
from assembly.auth.models import Role
from assembly.cli_group import cli
from assembly.e2e.models import AuditedBallot, EncryptedBallot
from assembly.elections.count import declare_election
from assembly.elections.operations import tick
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.polls.models import Ballot
from tests.conftest import grant, make_institution, make_user
from tests.e2e.conftest import assert_accessible, expect_flash, fresh, signed_in
from tests.elections.polls import countersign, make_poll

pytestmark = pytest.mark.browser

TIMER = SystemActor("timer")
SLUG = "willow-school"
TRUSTEES = ["rita@example.org", "sam@example.org", "tess@example.org"]


def _click_download(page: Any, button: Any, folder: Path) -> Path:
    with page.expect_download() as info:
        button.click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def trustee_step(
    page: Any, trustees_url: str, number: int, part: str, key_file: Path, folder: Path
) -> None:
    """Trustee ``number`` downloads the task from their page, shuffles it (or opens it with
    their key file) with the offline command, and uploads what it wrote."""
    page.goto(trustees_url)
    task = _click_download(
        page, page.get_by_role("link", name="Download the ballots to shuffle"), folder
    )
    out = folder / f"{part}-{number}.json"
    if part == "shuffle":
        args = ["trustee", "shuffle", str(task), "--trustee", str(number), "-o", str(out)]
    else:
        args = ["trustee", "open", str(task), "--key", str(key_file), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    label = "Upload your shuffle" if part == "shuffle" else "Upload your decryption shares"
    kind = "shuffle" if part == "shuffle" else "decryption shares"
    page.get_by_label(re.compile(f"^Your {kind} file")).set_input_files(str(out))
    page.get_by_role("button", name=label).click()
    expect_flash(page, "is being checked")
    # The page refreshes itself while the check runs, then says how it went.
    expect(page.locator("#upload-status")).to_contain_text("checked and kept", timeout=60_000)


def _vote_page(page: Any, election_url: str, first: str, second: str) -> None:
    page.goto(f"{election_url}/vote")
    page.get_by_label(first, exact=True).fill("1")
    page.get_by_label(second, exact=True).fill("2")
    page.get_by_role("button", name="Continue", exact=True).click()


def test_an_end_to_end_election_in_the_browser(
    app: Flask, browser: Any, live_server: str, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    school = make_institution(slug=SLUG, name="Willow School")
    poll = make_poll(school, keys=("workers",), voters=3)
    rita = make_user(TRUSTEES[0], name="Rita Officer")
    grant(rita, school, Role.returning_officer)
    election = poll.election
    election_id = election.id
    election.returning_officer_id = rita.id
    election.e2e = True
    election.state = ElectionState.nominations_closed
    db.session.commit()
    zoe, amy, bob = poll.candidates["workers"]
    election_url = f"/institutions/{SLUG}/elections/{election_id}"

    # -- the returning officer names the scrutineers
    officer = signed_in(new_page, TRUSTEES[0])
    officer.goto(election_url)
    officer.get_by_role("link", name="Trustees and the election key").click()
    assert_accessible(officer)
    officer.get_by_label("Scrutineers' email addresses").fill("\n".join(TRUSTEES[1:]))
    officer.get_by_label("Trustees needed to open the ballots").fill("2")
    officer.get_by_role("button", name="Name the trustees").click()
    expect_flash(officer, "The trustees are named")

    # -- each trustee, in their own browser, registers a key, deals and confirms
    pages = [officer] + [signed_in(new_page, email) for email in TRUSTEES[1:]]
    trustees_url = f"{election_url}/trustees"
    for page in pages:
        page.goto(trustees_url)
        _click_download(page, page.get_by_role("button", name="Make my key"), tmp_path)
        expect(page.get_by_role("button", name="Make my key")).to_have_count(0)
    for page in pages:
        page.goto(trustees_url)
        page.get_by_role("button", name="Deal my shares").click()
        expect(page.get_by_role("button", name="Deal my shares")).to_have_count(0)
    fingerprints = []
    key_files = []
    for page in pages:
        page.goto(trustees_url)
        fingerprints.append(page.locator("#ceremony-fingerprint").inner_text())
        assert_accessible(page)
        key_files.append(
            _click_download(page, page.get_by_role("button", name="Check and confirm"), tmp_path)
        )
        expect(page.get_by_role("button", name="Check and confirm")).to_have_count(0)
    assert len(set(fingerprints)) == 1
    officer.goto(trustees_url)
    expect(officer.locator("#election-key")).to_have_text(
        json.loads(key_files[-1].read_text())["election_key"]
    )

    # -- the officer's browser makes the credentials; the codes are in the file it saved
    officer.goto(election_url)
    officer.get_by_role("link", name="Voters' credentials").click()
    assert_accessible(officer)
    sheet = _click_download(
        officer, officer.get_by_role("button", name="Make the credentials for Workers"), tmp_path
    )
    expect(officer.get_by_text("3 published")).to_be_visible()
    with sheet.open(encoding="utf-8") as file:
        codes = {row["email"]: row["credential"] for row in csv.DictReader(file)}
    assert set(codes) == set(poll.voters["workers"])

    fresh()
    election.state = ElectionState.poll_open
    db.session.commit()

    # -- a voter audits an encryption, then casts a fresh one
    first, second, third = poll.voters["workers"]
    voter = signed_in(new_page, first)
    posted: list[str] = []
    voter.on(
        "request",
        lambda request: (
            posted.append(f"{request.url} {request.post_data or ''}")
            if request.method == "POST"
            else None
        ),
    )
    # The marks are read and checked in the browser, with the server's messages.
    voter.goto(f"{election_url}/vote")
    voter.get_by_label(amy.ballot_name, exact=True).fill("1")
    voter.get_by_label(bob.ballot_name, exact=True).fill("3")
    voter.get_by_role("button", name="Continue", exact=True).click()
    expect(voter.locator("[data-e2e-problem]")).to_contain_text("you wrote 3 but no 2")
    voter.get_by_label(bob.ballot_name, exact=True).fill("2")
    voter.get_by_role("button", name="Continue", exact=True).click()
    expect(voter.locator("#choices li")).to_have_text([amy.ballot_name, bob.ballot_name])
    expect(voter.get_by_role("button", name="Cast my vote", exact=True)).to_have_count(0)
    voter.get_by_label("Your credential").fill(codes[first])
    voter.get_by_role("button", name="Encrypt my vote").click()
    audited = voter.locator("[data-e2e-tracker]").inner_text()
    assert_accessible(voter)
    voter.get_by_role("button", name="Audit this encryption instead").click()
    expect(voter.locator("[data-e2e-status]")).to_contain_text("opened to exactly your choices")
    voter.get_by_role("button", name="Encrypt my vote").click()
    cast_tracker = voter.locator("[data-e2e-tracker]").inner_text()
    assert cast_tracker != audited
    voter.get_by_role("button", name="Cast my encrypted vote").click()
    voter.wait_for_url("**/vote/receipt")
    expect(voter.locator("#tracker")).to_have_text(cast_tracker)
    # Only the audit and the encrypted cast were posted: never the marks themselves.
    assert [p.split(" ")[0].rsplit("/", 2)[-2:] for p in posted] == [
        ["vote", "audit"],
        ["vote", "encrypted"],
    ]
    assert not any("pref-" in p for p in posted)

    # -- a second voter: a mistyped credential is refused, theirs is taken
    voter2 = signed_in(new_page, second)
    _vote_page(voter2, election_url, zoe.ballot_name, amy.ballot_name)
    voter2.get_by_label("Your credential").fill(codes[first])
    voter2.get_by_role("button", name="Encrypt my vote").click()
    voter2.get_by_role("button", name="Cast my encrypted vote").click()
    expect(voter2.locator("[data-e2e-status]")).to_contain_text("already")
    voter2.get_by_label("Your credential").fill(codes[second])
    voter2.get_by_role("button", name="Encrypt my vote").click()
    voter2.get_by_role("button", name="Cast my encrypted vote").click()
    voter2.wait_for_url("**/vote/receipt")

    # -- a third, without JavaScript, votes in today's mode
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    from tests.e2e.test_admin_flow import _sign_in

    fresh()
    plain = context.new_page()
    _sign_in(plain, third)
    _vote_page(plain, election_url, bob.ballot_name, zoe.ballot_name)
    plain.get_by_role("button", name="Cast my vote", exact=True).click()
    plain.wait_for_url("**/vote/receipt")
    context.close()

    fresh()
    assert db.session.scalar(select(func.count()).select_from(EncryptedBallot)) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditedBallot)) == 1
    tick(TIMER, election.poll_closes_on + timedelta(days=1))
    db.session.commit()

    # -- trustees 1 and 2 shuffle, then 2 and 3 open, with the offline command
    def step(page: Any, number: int, part: str) -> None:
        trustee_step(page, trustees_url, number, part, key_files[number - 1], tmp_path)

    step(pages[0], 1, "shuffle")
    assert_accessible(pages[0])
    step(pages[1], 2, "shuffle")
    step(pages[1], 2, "open")
    step(pages[2], 3, "open")

    # -- the officer counts; the opened rankings are counted with the plain one
    officer.goto(election_url)
    officer.get_by_role("button", name="Count the votes").click()
    expect_flash(officer, "The votes are counted")
    fresh()
    channels = sorted(
        channel.value
        for channel in db.session.scalars(
            select(Ballot.channel).where(Ballot.poll_id == poll.contests["workers"].poll_id)
        )
    )
    assert channels == ["encrypted", "encrypted", "online"]
    countersign(election)
    declare_election(rita, election)
    db.session.commit()

    # -- anyone checks the record: every step, the end-to-end proofs too
    visitor = new_page()
    visitor.goto("/verify")
    visitor.get_by_label("A published record").select_option(
        label="Willow School: Election of governors"
    )
    visitor.get_by_role("button", name="Check the record").click()
    expect(visitor.locator("#verdict")).to_contain_text("Every check passed")
    expect(visitor.locator("#step-10 .govuk-tag")).to_have_text("PASS")
    expect(visitor.locator("#step-10")).to_contain_text("End-to-end proofs")
    assert_accessible(visitor)
