"""A secretary uploads a roster, reviews the preview, confirms, and sees the members."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask

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
    assert page.get_by_role("heading", name="Check the import before you confirm it").is_visible()
    new_row = page.get_by_role("row").filter(has_text="New members")
    assert new_row.inner_text().strip().endswith("3")
    assert_accessible(page)

    page.get_by_role("button", name="Confirm and import").click()
    assert "Roster imported: 3 new" in page.locator(".govuk-notification-banner").inner_text()
    assert_accessible(page)
    page.get_by_role("link", name="See the members").click()
    assert page.get_by_role("cell", name="Smith, Ann").is_visible()
    assert page.get_by_text("3 matching").is_visible()
    assert_accessible(page)
    page.get_by_label("Name or email address").fill("brown")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("cell", name="Brown, Cat").is_visible()
    assert not page.get_by_role("cell", name="Smith, Ann").is_visible()


def test_a_resident_asks_to_join(app: Flask, page: Any) -> None:
    """The public join form explains mistakes accessibly and then asks to check email."""
    make_institution(slug="join-browser", name="Join Browser School")
    page.goto("/institutions/join-browser/join")
    assert_accessible(page)
    page.get_by_role("button", name="Ask to join").click()
    assert page.title().startswith("Error:")
    assert_accessible(page)
    page.get_by_label("First name").fill("Rhys")
    page.get_by_label("Last name").fill("Resident")
    page.get_by_label("Email address").fill("rhys@example.org")
    page.get_by_label("Postcode").fill("BS1 4AB")
    page.get_by_role("button", name="Ask to join").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    assert_accessible(page)
