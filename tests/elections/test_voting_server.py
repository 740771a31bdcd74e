"""Casting through the real web stack: gunicorn with two worker processes, 100 voters each
sending their ballot twice at once — exactly 100 ballots, and no server error."""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from assembly.auth.actors import CLI
from assembly.auth.operations import issue_sign_in_link
from assembly.elections.models import Ballot, RollMark
from assembly.extensions import db
from tests.conftest import TEST_SECRET, free_port
from tests.elections.polls import make_poll

ROOT = Path(__file__).resolve().parents[2]
VOTERS = 100
#: Requests in flight at once (each voter's two casts are sent side by side).
CLIENTS = 20
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class _Browser:
    """One voter's browser: its own cookies, redirects not followed, statuses returned."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    def csrf(self, path: str) -> str:
        status, page = self.request(path)
        found = CSRF.findall(page)
        assert status == 200 and found, (path, status)
        return str(found[-1])


def _wait_until_up(base: str, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


def test_concurrent_casts_through_gunicorn_store_one_ballot_per_voter(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    """Through gunicorn (2 workers), 100 signed-in voters each cast twice at the same moment:
    every voter gets one success and one "already voted", no request fails with a 5xx, and
    exactly 100 ballots and 100 roll marks are stored."""
    poll = make_poll(keys=("workers",), voters=VOTERS)
    candidates = [c.id for c in poll.candidates["workers"]]
    links = {
        email: re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
        for email in poll.voters["workers"]
    }
    db.session.commit()
    vote = f"/institutions/{poll.institution.slug}/elections/{poll.election.id}/vote"
    emails = list(poll.voters["workers"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSEMBLY_")}
    environment.update(
        ASSEMBLY_ENV="development",
        ASSEMBLY_SECRET_KEY=TEST_SECRET,
        ASSEMBLY_DATABASE_URL=database_url,
        ASSEMBLY_INSTANCE_PATH=str(tmp_path / "server-instance"),
        ASSEMBLY_BASE_URL=base,
        ASSEMBLY_WORKERS="2",
        ASSEMBLY_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "assembly.wsgi:app",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(base, log, process)

            def sign_in(email: str) -> tuple[_Browser, dict[str, str]]:
                browser = _Browser(base)
                status, _ = browser.request(
                    links[email], {"csrf_token": browser.csrf(links[email])}
                )
                assert status == 302, (email, status)
                order = random.sample(candidates, len(candidates))
                ballot = {f"pref-{c}": str(n) for n, c in enumerate(order, start=1)}
                return browser, {**ballot, "csrf_token": browser.csrf(vote)}

            with ThreadPoolExecutor(CLIENTS) as pool:
                voters = list(pool.map(sign_in, emails))
                # Each voter's two casts are submitted next to each other, so they overlap.
                casts = [
                    pool.submit(browser.request, vote + "/cast", ballot)
                    for browser, ballot in voters
                    for _ in range(2)
                ]
                statuses = [future.result()[0] for future in casts]
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert [s for s in statuses if s >= 500] == [], log.read_text()[-3000:]
    per_voter = [sorted(statuses[i : i + 2]) for i in range(0, len(statuses), 2)]
    assert per_voter == [[302, 409]] * VOTERS
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == VOTERS
    assert db.session.scalar(select(func.count()).select_from(RollMark)) == VOTERS
    assert "Traceback" not in log.read_text()
