"""Casting through the real web stack: gunicorn with two worker processes, 100 voters each
sending their ballot twice at once — exactly 100 ballots, and no server error."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from assembly.auth.actors import CLI
from assembly.auth.operations import issue_sign_in_link
from assembly.extensions import db
from assembly.polls.models import Ballot, RollMark
from tests.elections.polls import make_poll
from tests.servers import Browser, gunicorn

VOTERS = 100
#: Requests in flight at once (each voter's two casts are sent side by side).
CLIENTS = 20


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
    with gunicorn(database_url, tmp_path) as (base, log):

        def sign_in(email: str) -> tuple[Browser, dict[str, str]]:
            browser = Browser(base)
            browser.sign_in(links[email])
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
    assert [s for s in statuses if s >= 500] == [], log.read_text()[-3000:]
    per_voter = [sorted(statuses[i : i + 2]) for i in range(0, len(statuses), 2)]
    assert per_voter == [[302, 409]] * VOTERS
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == VOTERS
    assert db.session.scalar(select(func.count()).select_from(RollMark)) == VOTERS
    assert "Traceback" not in log.read_text()
