"""A secretary signs in with the emailed link and reaches the dashboard, in a real browser."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from assembly.auth.models import Role
from assembly.extensions import db
from assembly.notices.models import OutboxMessage
from tests.conftest import grant, make_institution, make_member, make_user
from tests.e2e.conftest import assert_accessible


def _latest_link(to: str) -> str:
    db.session.expire_all()
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == to)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no email to {to} in the outbox"
    found = re.search(r"https?://\S+/sign-in/link/\S+", message.body_text)
    assert found, message.body_text
    return found.group(0)


def test_secretary_signs_in_from_the_outbox_and_sees_the_dashboard(app: Flask, page: Any) -> None:
    """Sign-in page → email in the outbox → link → confirm → home → institution dashboard."""
    institution = make_institution(slug="browser-school", name="Browser School")
    grant(make_user("secretary@example.org", name="Sam Secretary"), institution, Role.secretary)
    make_member(institution, "workers", email="w1@example.org")

    page.goto("/")
    assert_accessible(page)
    page.get_by_role("link", name="Sign in").first.click()
    expect(page).to_have_title(re.compile(r"^Sign in"))
    assert_accessible(page)
    page.get_by_label("Email address").fill("secretary@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/sign-in/check-your-email")
    assert_accessible(page)

    page.goto(_latest_link("secretary@example.org"))
    assert_accessible(page)
    page.get_by_role("button", name="Continue to sign in").click()
    page.wait_for_url(re.compile(r".*/$"))
    expect(page.get_by_role("heading", name="Welcome, Sam Secretary")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Browser School").click()
    page.wait_for_url("**/institutions/browser-school")
    expect(page.get_by_role("heading", name="Browser School")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Workers"))).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signed-out")
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()


def test_an_error_summary_is_shown_and_accessible(app: Flask, page: Any) -> None:
    """A form with mistakes shows the GOV.UK error summary, linked to the field."""
    page.goto("/sign-in")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    summary = page.locator(".govuk-error-summary")
    assert "Enter your email address" in summary.inner_text()
    assert_accessible(page)
