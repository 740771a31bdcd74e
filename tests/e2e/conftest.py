"""Browser tests: a live server on 127.0.0.1 and Debian's chromium driven by Playwright.

Without /usr/bin/chromium these tests are skipped with the reason, unless
``ASSEMBLY_REQUIRE_BROWSER=1`` (as in CI), when a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from assembly.extensions import db
from tests.conftest import free_port

CHROMIUM = os.environ.get("ASSEMBLY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _browser_missing_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no browser at {CHROMIUM} (install Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("ASSEMBLY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ASSEMBLY_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test's app on 127.0.0.1 in a thread; return its base URL."""
    port = free_port()
    app.config["BASE_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    yield page
    context.close()


def assert_accessible(page: Any) -> None:
    """Run axe-core on the page: no serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Error as PlaywrightError

    # A click that follows a link returns before the next document has loaded; axe run
    # during that change finds no document. Wait for the page, and if the change was
    # still under way, run it once more on the document that arrived.
    page.wait_for_load_state("load")
    try:
        results = Axe().run(page)
    except PlaywrightError:
        page.wait_for_load_state("load")
        results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert bad == [], f"accessibility violations on {page.url}:\n" + "\n".join(bad)


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[[], Any]]:
    """Open a page in a browser context of its own (one person's browser); close them all."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=live_server, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def fresh() -> None:
    """End the test's snapshot: see what the live server committed, and write after it."""
    db.session.rollback()


def signed_in(new_page: Callable[[], Any], email: str) -> Any:
    """A new browser of ``email``'s, signed in through a sign-in link."""
    from tests.e2e.test_admin_flow import _sign_in

    fresh()
    page = new_page()
    _sign_in(page, email)
    return page


def expect_flash(page: Any, text: str) -> None:
    """The page the last click led to says ``text`` in its success banner."""
    from playwright.sync_api import expect

    expect(page.locator(".govuk-notification-banner")).to_contain_text(text)
