"""An admin creates an institution and appoints its secretary; a member sees their
memberships — in a real browser, with axe-core on every page."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from assembly.auth.actors import CLI
from assembly.auth.operations import issue_sign_in_link
from assembly.extensions import db
from tests.conftest import make_institution, make_member, make_user
from tests.e2e.conftest import assert_accessible


def _sign_in(page: Any, email: str) -> None:
    link = issue_sign_in_link(CLI, email)
    db.session.commit()
    page.goto(link)
    page.get_by_role("button", name="Continue to sign in").click()
    page.wait_for_url(re.compile(r".*/$"))


def test_admin_creates_an_institution_and_appoints_a_secretary(app: Flask, page: Any) -> None:
    """Create institution → dashboard → change a constituency → grant and remove roles."""
    make_user("admin@example.org", admin=True, name="Ada Admin")
    _sign_in(page, "admin@example.org")
    page.get_by_role("link", name="Create an institution").click()
    assert_accessible(page)
    page.get_by_role("button", name="Create institution").click()
    expect(page).to_have_title(re.compile(r"^Error:"))
    assert_accessible(page)
    page.get_by_label("Name", exact=True).fill("Meadow Primary School")
    page.get_by_label("Short name for web addresses").fill("meadow-primary")
    page.get_by_label("School").check()
    page.get_by_label("Area it serves (optional)").fill("Meadow Vale")
    page.get_by_role("button", name="Create institution").click()
    page.wait_for_url("**/institutions/meadow-primary")
    assert "three constituencies" in page.locator(".govuk-notification-banner").inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="Change Workers").click()
    assert_accessible(page)
    page.get_by_label("Board-seat weight").fill("one half")
    page.get_by_role("button", name="Save").click()
    assert "Enter the weight as a fraction" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    page.get_by_label("Board-seat weight").fill("1/2")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/institutions/meadow-primary")
    row = page.get_by_role("row").filter(has_text="Workers")
    assert "1/2" in row.inner_text() and "3/7" in row.inner_text()

    page.get_by_role("link", name="Add a constituency").click()
    assert_accessible(page)
    page.goto("/institutions/meadow-primary/edit")
    assert_accessible(page)

    page.goto("/institutions/meadow-primary/roles")
    assert_accessible(page)
    page.get_by_label("Email address").fill("head.secretary@example.org")
    page.get_by_label("Role").select_option("secretary")
    page.get_by_role("button", name="Give role").click()
    expect(page.get_by_role("cell", name="head.secretary@example.org", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile("Remove.*head.secretary")).click()
    page.wait_for_url("**/roles/*/revoke")
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()

    page.goto("/admin/institutions")
    expect(page.get_by_role("link", name="Meadow Primary School")).to_be_visible()
    assert_accessible(page)


def test_member_sees_their_memberships(app: Flask, page: Any) -> None:
    """A member signs in and sees each institution and constituency they belong to."""
    school = make_institution(slug="oak-school", name="Oak School")
    make_member(school, "users", email="parent@example.org", given_name="Jo")
    _sign_in(page, "parent@example.org")
    assert_accessible(page)
    page.get_by_role("link", name="My memberships").first.click()
    expect(page.get_by_role("cell", name="Oak School", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Service users")).to_be_visible()
    assert_accessible(page)
    page.goto("/institutions/oak-school")
    expect(
        page.get_by_role("heading", name="You do not have permission to see this page")
    ).to_be_visible()
    assert_accessible(page)
