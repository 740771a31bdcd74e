"""An end-to-end verifiable assembly in the browser: the returning officer names the trustees,
who run the key ceremony in their own browsers; the officer's browser makes the voting cards
and saves the sheet to print; in the room, members vote on their phones, the marks read and
encrypted there (one audits an encryption first, one tries a card of another constituency),
a member without JavaScript votes as today; the chair closes the vote and it waits; two
trustees shuffle and open it with the offline command; the chair counts and declares; and
`assembly verify` passes every step of the record, the end-to-end proofs among them.

The assembly is built with the test factory (noticed, two candidates published, the officer's
key registered) and opened on its day by the operation, as the browser's clock is today's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from assembly.assemblies.models import Vote, VoteState
from assembly.assemblies.notices import pass_token
from assembly.assemblies.operations import open_assembly
from assembly.assemblies.record import assembly_record, countersign_assembly_record
from assembly.cli import cli
from assembly.extensions import db
from assembly.polls.models import Ballot
from assembly.records.operations import published
from assembly.records.record import signature_file
from tests.assemblies.helpers import HELD_ON, make_room
from tests.e2e.conftest import assert_accessible, expect_flash, fresh, signed_in
from tests.e2e.test_e2e_election import _click_download, trustee_step
from tests.elections.polls import OFFICER_KEY

pytestmark = pytest.mark.browser

SLUG = "beech-hall"
SCRUTINEERS = ["sara@beech-hall.org", "tom@beech-hall.org"]


def _phone_vote(phone: Any, url: str, first: str, second: str) -> None:
    phone.goto(url)
    phone.wait_for_url("**/vote")
    phone.get_by_label(first, exact=True).fill("1")
    phone.get_by_label(second, exact=True).fill("2")
    phone.get_by_role("button", name="Continue", exact=True).click()


def test_an_end_to_end_assembly_in_the_browser(
    app: Flask, browser: Any, live_server: str, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    room = make_room(SLUG, open_it=False, weighting=True, per_constituency=2, standing=2)
    room.assembly.e2e = True
    db.session.commit()
    base = f"/institutions/{SLUG}/assemblies/{room.assembly.id}"
    ann, bob = room.candidates
    passes = {
        m.person_id: f"{base}/pass/{pass_token(room.assembly.id, m.person_id)}"
        for m in room.everyone()
    }

    # -- the returning officer names the scrutineers; each trustee takes their steps
    officer = signed_in(new_page, room.officer.email)
    officer.goto(base)
    expect(officer.locator("#e2e-problems")).to_contain_text("not named the trustees")
    officer.get_by_role("link", name="Trustees and the key").click()
    officer.get_by_label("Scrutineers' email addresses").fill("\n".join(SCRUTINEERS))
    officer.get_by_label("Trustees needed to open the ballots").fill("2")
    officer.get_by_role("button", name="Name the trustees").click()
    expect_flash(officer, "The trustees are named")
    pages = [officer] + [signed_in(new_page, email) for email in SCRUTINEERS]
    trustees_url = f"{base}/trustees"
    for page in pages:
        page.goto(trustees_url)
        _click_download(page, page.get_by_role("button", name="Make my key"), tmp_path)
        expect(page.get_by_role("button", name="Make my key")).to_have_count(0)
    for page in pages:
        page.goto(trustees_url)
        page.get_by_role("button", name="Deal my shares").click()
        expect(page.get_by_role("button", name="Deal my shares")).to_have_count(0)
    key_files = []
    for page in pages:
        page.goto(trustees_url)
        key_files.append(
            _click_download(page, page.get_by_role("button", name="Check and confirm"), tmp_path)
        )
        expect(page.get_by_role("button", name="Check and confirm")).to_have_count(0)
    officer.goto(trustees_url)
    expect(officer.locator("#election-key")).to_be_visible()
    assert_accessible(officer)

    # -- the officer's browser makes three cards a constituency, and saves the sheet
    officer.goto(base)
    officer.get_by_role("link", name="Voting cards").click()
    assert_accessible(officer)
    codes: dict[str, list[str]] = {}
    for key, name in (
        ("workers", "Workers"),
        ("users", "Service users"),
        ("community", "Local community"),
    ):
        officer.get_by_label(f"Cards for {name}").fill("3")
        sheet = _click_download(
            officer, officer.get_by_role("button", name=f"Make the cards for {name}"), tmp_path
        )
        expect(officer.locator(f"#published-{key}")).to_have_text("3")
        codes[key] = re.findall(r"data-card>([A-Z0-9-]{23})<", sheet.read_text(encoding="utf-8"))
        assert len(codes[key]) == 3
    officer.goto(base)
    expect(officer.locator("#e2e-problems")).to_have_count(0)

    # -- the doors open; every member is checked in; the chair opens the vote
    fresh()
    open_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    for membership in room.everyone():
        room.check_in(membership)
    chair = signed_in(new_page, room.secretary.email)
    chair.goto(base)
    chair.get_by_role("button", name="Open the vote").click()
    expect_flash(chair, "The vote is open")

    # -- a worker audits an encryption, then casts a fresh one; the marks stay on the phone
    worker = room.members["workers"][0]
    phone = new_page()
    posted: list[str] = []
    phone.on(
        "request",
        lambda request: (
            posted.append(f"{request.url} {request.post_data or ''}")
            if request.method == "POST"
            else None
        ),
    )
    _phone_vote(phone, passes[worker.person_id], ann.ballot_name, bob.ballot_name)
    expect(phone.locator("#choices li")).to_have_text([ann.ballot_name, bob.ballot_name])
    phone.get_by_label("Your credential").fill(codes["workers"][0])
    phone.get_by_role("button", name="Encrypt my vote").click()
    assert_accessible(phone)
    phone.get_by_role("button", name="Audit this encryption instead").click()
    expect(phone.locator("[data-e2e-status]")).to_contain_text("opened to exactly your choices")
    phone.get_by_role("button", name="Encrypt my vote").click()
    tracker = phone.locator("[data-e2e-tracker]").inner_text()
    phone.get_by_role("button", name="Cast my encrypted vote").click()
    expect(phone.get_by_role("heading", name="Your vote has been cast")).to_be_visible()
    expect(phone.locator("#tracker")).to_have_text(tracker)
    assert [p.split(" ")[0].rsplit("/", 2)[-2:] for p in posted] == [
        ["vote", "audit"],
        ["vote", "encrypted"],
    ]
    assert not any("pref-" in p for p in posted)

    # -- a community member tries a worker's card (refused), then casts with their own
    neighbour = room.members["community"][0]
    phone2 = new_page()
    _phone_vote(phone2, passes[neighbour.person_id], bob.ballot_name, ann.ballot_name)
    phone2.get_by_label("Your credential").fill(codes["workers"][1])
    phone2.get_by_role("button", name="Encrypt my vote").click()
    phone2.get_by_role("button", name="Cast my encrypted vote").click()
    expect(phone2.locator("[data-e2e-status]")).to_contain_text("another constituency's")
    phone2.get_by_label("Your credential").fill(codes["community"][0])
    phone2.get_by_role("button", name="Encrypt my vote").click()
    phone2.get_by_role("button", name="Cast my encrypted vote").click()
    expect(phone2.get_by_role("heading", name="Your vote has been cast")).to_be_visible()

    # -- a service user without JavaScript votes as today
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    plain = context.new_page()
    plain.goto(passes[room.members["users"][0].person_id])
    plain.wait_for_url("**/vote")
    plain.get_by_label(ann.ballot_name, exact=True).fill("1")
    plain.get_by_role("button", name="Cast my vote", exact=True).click()
    expect(plain.get_by_role("heading", name="Your vote has been cast")).to_be_visible()
    context.close()

    # -- the chair closes the vote: it waits for the trustees
    chair.goto(base)
    chair.get_by_role("button", name="Close the vote and count it").click()
    expect_flash(chair, "Its encrypted ballots wait for the trustees")
    expect(chair.locator("#e2e-waiting-vote")).to_contain_text("Vote 1 is closed")
    screen = new_page()
    screen.goto(f"{base}/screen")
    expect(screen.locator("#vote-status")).to_have_text("Vote 1 is closed")
    fresh()
    vote = db.session.scalars(select(Vote).where(Vote.assembly_id == room.assembly.id)).one()
    assert vote.state == VoteState.closed

    # -- trustees 1 and 3 shuffle and open, with the offline command
    runner = CliRunner()

    def step(page: Any, number: int, part: str) -> None:
        trustee_step(page, trustees_url, number, part, key_files[number - 1], tmp_path)

    step(pages[0], 1, "shuffle")
    step(pages[2], 3, "shuffle")
    step(pages[0], 1, "open")
    step(pages[2], 3, "open")
    assert_accessible(pages[2])

    # -- the chair counts the vote and declares; the opened ballots kept their constituency
    chair.goto(base)
    chair.get_by_role("button", name="Count the vote").click()
    expect_flash(chair, "The vote is counted")
    expect(chair.locator("#vote-1-outcome")).to_contain_text("is elected")
    chair.get_by_role("button", name="Declare the result").click()
    expect_flash(chair, "The result is declared")
    fresh()
    kept = sorted(
        (channel.value, constituency)
        for channel, constituency in db.session.execute(
            select(Ballot.channel, Ballot.constituency).where(Ballot.poll_id == vote.poll_id)
        )
    )
    assert kept == [("encrypted", "community"), ("encrypted", "workers"), ("online", "users")]

    # -- the officer countersigns; `assembly verify` passes every step, step 10 among them
    row = assembly_record(room.assembly)
    assert row is not None
    countersign_assembly_record(
        room.officer,
        room.assembly,
        signature_file("returning_officer", row.body_sha256, OFFICER_KEY),
    )
    db.session.commit()
    path = tmp_path / "record.json"
    path.write_text(json.dumps(published(row)), encoding="utf-8")
    verified = runner.invoke(cli, ["verify", str(path)])
    assert verified.exit_code == 0, verified.output
    assert re.search(r"All \d+ steps passed\.", verified.output)
    assert "End-to-end proofs" in verified.output
    found = runner.invoke(cli, ["verify", str(path), "--tracker", tracker])
    assert found.exit_code == 0, found.output
