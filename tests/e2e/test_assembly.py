"""The annual assembly in the browser: two tellers check members in (one by search, one by
scanning a pass), the projector's screen shows the assembly become quorate, the chair opens
the vote, members vote on their phones, a paper batch whose second entry differs is refused
and then entered again alike, the vote is counted and declared, the returning officer
countersigns the record, and `assembly verify` passes on the record downloaded.

The assembly is built with the test factory (noticed, two candidates published, the
returning officer's key registered, opened on its day).
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

from assembly.assemblies.notices import pass_token
from assembly.auth.models import Role
from assembly.cli import cli
from assembly.records.record import signature_file
from tests.assemblies.helpers import make_room
from tests.conftest import grant, make_user
from tests.e2e.conftest import assert_accessible, expect_flash, fresh, signed_in
from tests.elections.polls import OFFICER_KEY

pytestmark = pytest.mark.browser


def _download(page: Any, link: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_an_assembly_from_the_door_to_the_verified_record(
    app: Flask, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    room = make_room("hall-school", quorum_members=4)
    second_teller = make_user("teller2@hall-school.org", name="Tom Teller")
    grant(second_teller, room.institution, Role.teller)
    base = f"/institutions/hall-school/assemblies/{room.assembly.id}"
    ann, bob = room.candidates
    phone_members = [room.members["users"][0], room.members["community"][0]]
    paper_member = room.members["workers"][2]
    search_members = [room.members["workers"][2], room.members["users"][0]]
    passes = {
        m.person_id: f"{base}/pass/{pass_token(room.assembly.id, m.person_id)}"
        for m in room.everyone()
    }

    screen = new_page()
    screen.goto(f"{base}/screen")
    expect(screen.locator("#quorum")).to_contain_text("Not quorate")
    assert_accessible(screen)

    # -- teller one finds members by name and date of birth
    tess = signed_in(new_page, room.teller.email)
    tess.goto(f"{base}/check-in")
    assert_accessible(tess)
    for membership in search_members:
        person = membership.person
        tess.get_by_label("Name").fill(person.given_name)
        tess.get_by_label("Date of birth").fill(person.date_of_birth.isoformat())
        tess.get_by_role("button", name="Find the member").click()
        tess.get_by_role(
            "button", name=f"Check in {person.given_name} {person.family_name}"
        ).click()
        expect_flash(tess, f"{person.given_name} {person.family_name} is checked in")
    assert_accessible(tess)

    # -- teller two scans passes (the phone's camera opens the pass link)
    tom = signed_in(new_page, second_teller.email)
    for membership in (room.members["community"][0], room.members["workers"][0]):
        tom.goto(passes[membership.person_id])
        tom.get_by_role("button", name=f"Check in {membership.person.given_name}").click()
        expect(tom.locator("#already")).to_contain_text("Checked in already")
    # scanning a member already in says so, and checks nobody in twice
    tom.goto(passes[search_members[0].person_id])
    expect(tom.locator("#already")).to_contain_text("Checked in already")

    screen.reload()
    expect(screen.locator("#present")).to_have_text("4")
    expect(screen.locator("#quorum")).to_contain_text("Quorate")

    # -- the chair opens the vote
    chair = signed_in(new_page, room.secretary.email)
    chair.goto(base)
    chair.get_by_role("button", name="Open the vote").click()
    expect_flash(chair, "The vote is open")
    assert_accessible(chair)

    # -- members vote on their phones with their passes
    trackers = []
    for membership, first, second in zip(phone_members, (ann, bob), (bob, ann), strict=True):
        phone = new_page()
        phone.goto(passes[membership.person_id])
        phone.wait_for_url(f"**{base}/vote")
        phone.get_by_label(first.ballot_name).fill("1")
        phone.get_by_label(second.ballot_name).fill("2")
        assert_accessible(phone)
        phone.get_by_role("button", name="Cast my vote").click()
        expect(phone.get_by_role("heading", name="Your vote has been cast")).to_be_visible()
        trackers.append(phone.locator("#tracker").inner_text())
        # the same pass cannot vote twice
        phone.goto(passes[membership.person_id])
        expect(phone.get_by_role("heading", name="Your vote has been cast")).to_be_visible()

    # -- a member without a phone gets a paper; two tellers enter the batch
    tess.goto(f"{base}/check-in")
    person = paper_member.person
    tess.get_by_label("Name").fill(person.given_name)
    tess.get_by_role("button", name="Find the member").click()
    tess.get_by_role("button", name=f"Give {person.given_name} a paper ballot").click()
    expect_flash(tess, "a paper ballot for vote 1")
    tess.get_by_role("link", name="enter paper ballots").click()
    assert_accessible(tess)

    def enter(page: Any, papers: str) -> None:
        page.goto(f"{base}/papers")
        page.get_by_label("Constituency").select_option(label="Workers")
        page.get_by_label("Batch label").fill("Box 1")
        page.get_by_label("Papers, one per line").fill(papers)
        page.get_by_role("button", name="Enter the batch").click()

    enter(tess, "2 1")
    expect_flash(tess, "First entry saved")
    enter(tom, "1 2")
    expect_flash(tom, "the batch is rejected")
    expect(tom.locator("#batches")).to_contain_text("Rejected: the entries differed")
    enter(tess, "2 1")
    enter(tom, "2 1")
    expect_flash(tom, "The batch is accepted")
    expect(tom.locator("#paper-summary")).to_contain_text("Workers")

    # -- the screen shows the votes coming in; the chair closes and declares
    screen.reload()
    expect(screen.locator("#turnout")).to_have_text("3")
    chair.goto(base)
    chair.get_by_role("button", name="Close the vote and count it").click()
    expect_flash(chair, "The vote is closed and counted")
    expect(chair.locator("#vote-1-outcome")).to_contain_text("is elected")
    chair.get_by_role("button", name="Declare the result").click()
    expect_flash(chair, "The result is declared")
    screen.reload()
    expect(screen.locator("#declared")).to_contain_text("is elected")
    expect(screen.locator("svg.app-chart")).to_have_count(1)  # the stages, as a chart
    assert_accessible(screen)

    # -- the returning officer countersigns the record on their own computer
    rita = signed_in(new_page, room.officer.email)
    rita.goto(base)
    expect(rita.locator("#record-state")).to_have_text("Not yet countersigned")
    record_path = _download(rita, "Download the record (JSON)", tmp_path)
    record = json.loads(record_path.read_text(encoding="utf-8"))
    signature_path = tmp_path / "record.sig"
    signature_path.write_text(
        json.dumps(signature_file("returning_officer", record["body_sha256"], OFFICER_KEY)),
        encoding="utf-8",
    )
    rita.get_by_label("Your signature file").set_input_files(str(signature_path))
    rita.get_by_role("button", name="Countersign the record").click()
    expect_flash(rita, "You countersigned the assembly's record")
    expect(rita.locator("#record-state")).to_have_text("Countersigned")
    assert_accessible(rita)

    # -- anyone downloads the record and `assembly verify` passes on it
    fresh()
    published = _download(new_page_at(new_page, base), "Download the record (JSON)", tmp_path)
    verified = CliRunner().invoke(cli, ["verify", str(published)])
    assert verified.exit_code == 0, verified.output
    assert re.search(r"All \d+ steps passed\.", verified.output)
    found = CliRunner().invoke(cli, ["verify", str(published), "--tracker", trackers[0]])
    assert found.exit_code == 0 and f"tracker {trackers[0]} is in" in found.output


def new_page_at(new_page: Callable[[], Any], url: str) -> Any:
    page = new_page()
    page.goto(url)
    return page
