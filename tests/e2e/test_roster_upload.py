"""A secretary uploads a roster, reviews the preview, confirms, and sees the members."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from assembly.auth.models import Role
from tests.conftest import grant, make_institution, make_user
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_admin_flow import _sign_in
from tests.membership.test_imports import ANN, BOB, CAT, roster


def test_secretary_uploads_previews_confirms_and_sees_members(
    app: Flask, page: Any, tmp_path: Path
) -> None:
    """Upload → preview with counts → confirm → import result → members list."""
    school = make_institution(slug="upload-school", name="Upload School")
    grant(make_user("secretary@example.org", name="Sam Secretary"), school, Role.secretary)
    csv_path = tmp_path / "staff.csv"
    csv_path.write_bytes(roster(ANN, BOB, CAT))
    _sign_in(page, "secretary@example.org")

    page.goto("/institutions/upload-school")
    page.get_by_role("link", name="Upload a roster").click()
    assert_accessible(page)
    page.get_by_label("Constituency", exact=True).select_option("workers")
    page.get_by_label("Everyone in the constituency").check()
    page.get_by_label("Roster file (CSV)").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r".*/imports/\d+$"))
    # The file is checked in the background; the page refreshes itself until it is done.
    expect(
        page.get_by_role("heading", name="Check the import before you confirm it")
    ).to_be_visible(timeout=20_000)
    new_row = page.get_by_role("row").filter(has_text="New members")
    assert new_row.inner_text().strip().endswith("3")
    assert_accessible(page)

    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("link", name="See the members")).to_be_visible(timeout=20_000)
    assert "Imported" in page.get_by_role("definition").filter(has_text="Imported").inner_text()
    assert page.get_by_role("row").filter(has_text="New members").inner_text().strip()[-1] == "3"
    assert_accessible(page)
    page.get_by_role("link", name="See the members").click()
    expect(page.get_by_role("cell", name="Smith, Ann")).to_be_visible()
    expect(page.get_by_text("3 matching")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name or email address").fill("brown")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="Brown, Cat")).to_be_visible()
    expect(page.get_by_role("cell", name="Smith, Ann")).not_to_be_visible()


def test_a_resident_asks_to_join(app: Flask, page: Any) -> None:
    """The public join form explains mistakes accessibly and then asks to check email."""
    make_institution(slug="join-browser", name="Join Browser School")
    page.goto("/institutions/join-browser/join")
    assert_accessible(page)
    page.get_by_role("button", name="Ask to join").click()
    expect(page).to_have_title(re.compile(r"^Error:"))
    assert_accessible(page)
    page.get_by_label("First name").fill("Rhys")
    page.get_by_label("Last name").fill("Resident")
    page.get_by_label("Email address").fill("rhys@example.org")
    page.get_by_label("Postcode").fill("BS1 4AB")
    page.get_by_role("button", name="Ask to join").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page)


def test_a_long_import_shows_its_progress(app: Flask, page: Any) -> None:
    """The page of a run being checked shows an accessible progress bar and refreshes."""
    import os

    from assembly.auth.actors import SYSTEM
    from assembly.extensions import db
    from assembly.membership.jobs import Progress
    from assembly.membership.models import ImportRun, ImportStatus
    from assembly.membership.operations import ensure_csv_source
    from assembly.membership.queries import get_constituency

    school = make_institution(slug="progress-browser", name="Progress School")
    grant(make_user("secretary@example.org"), school, Role.secretary)
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    run = ImportRun(
        source_id=source.id,
        mode="snapshot",
        status=ImportStatus.applying,
        actor_label="test",
        effective_on=school.created_at.date(),
        lines_total=250_000,
    )
    db.session.add(run)
    db.session.commit()
    upload_dir = os.path.join(app.instance_path, "uploads")
    os.makedirs(upload_dir, exist_ok=True)
    progress = Progress(upload_dir, run.id, "applying", 250_000)
    progress(100_000)
    _sign_in(page, "secretary@example.org")
    page.goto(f"/institutions/progress-browser/imports/{run.id}")
    expect(page.get_by_role("heading", name="Importing the roster")).to_be_visible()
    bar = page.get_by_role("progressbar", name="Line 100,000 of about 250,000 (40%)")
    assert bar.get_attribute("value") == "100000"
    assert_accessible(page)
    progress(200_000)
    expect(
        page.get_by_role("progressbar", name="Line 200,000 of about 250,000 (80%)")
    ).to_be_visible(timeout=10_000)  # it refreshed itself
    progress.clear()
