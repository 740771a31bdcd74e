"""Crash test: gunicorn killed with SIGKILL (master and workers) in the middle of a poll, while
voters are casting, then started again. Every ballot a voter got a receipt for is stored,
roll marks and ballots match one for one, every voter ends with exactly one vote, the audit
chain is intact and the database's own integrity check passes — on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from assembly.audit.operations import verify_chain
from assembly.auth.actors import CLI
from assembly.auth.operations import issue_sign_in_link
from assembly.elections.views.voting import RECEIPTS
from assembly.extensions import db
from assembly.polls.models import Ballot, RollMark
from tests.conftest import free_port
from tests.elections.polls import make_poll
from tests.servers import Browser, gunicorn_process

VOTERS = 150
CLIENTS = 12
#: Kill the server once this many casts have been answered.
KILL_AFTER = 50


def _receipt_tracker(app: Flask, browser: Browser, election_id: int) -> str | None:
    """The tracker of the receipt the server put in this browser's session cookie, read as
    the voter's browser holds it (decoded with the app's own session serializer)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    for cookie in _cookies(browser):
        if cookie.name == app.config["SESSION_COOKIE_NAME"]:
            session = serializer.loads(cookie.value)
            receipt = session.get(RECEIPTS, {}).get(str(election_id))
            return str(receipt["tracker"]) if receipt else None
    return None


def _cookies(browser: Browser) -> Any:
    for handler in browser.opener.handlers:
        jar = getattr(handler, "cookiejar", None)
        if jar is not None:
            return list(jar)
    return []


def _kill_everything(master: subprocess.Popen[bytes]) -> None:
    """SIGKILL the workers and the master at once: nothing gets to clean up."""
    workers = subprocess.run(
        ["pgrep", "-P", str(master.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in [*workers, str(master.pid)]:
        with contextlib.suppress(ProcessLookupError):  # a worker may be gone already
            os.kill(int(pid), signal.SIGKILL)
    master.wait(timeout=30)


def _integrity_check() -> None:
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        return
    db.session.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    indexes = db.session.execute(
        text(
            "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = current_schema()"
        )
    ).scalars()
    for oid in indexes:
        # Raises if an index is corrupt or disagrees with its table.
        db.session.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})


def test_killing_the_server_during_a_poll_loses_no_receipted_ballot(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    poll = make_poll(keys=("workers",), voters=VOTERS)
    election_id = poll.election.id
    candidates = [c.id for c in poll.candidates["workers"]]
    links = [
        re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
        for email in poll.voters["workers"]
    ]
    vote = f"/institutions/{poll.institution.slug}/elections/{election_id}/vote"
    db.session.commit()
    db.session.remove()
    rng = random.Random(7)
    ballots = [
        {f"pref-{c}": str(n) for n, c in enumerate(rng.sample(candidates, 2), start=1)}
        for _ in links
    ]
    port = free_port()
    receipted: dict[int, str] = {}
    answered = threading.Semaphore(0)
    lock = threading.Lock()

    def cast(index: int, browser: Browser) -> int:
        try:
            status, _ = browser.request(f"{vote}/cast", {**ballots[index], **tokens[index]})
        except (OSError, http.client.HTTPException):
            return -1  # the server died under this request (or while answering it)
        if status == 302:
            tracker = _receipt_tracker(app, browser, election_id)
            assert tracker, "a successful cast always leaves a receipt"
            with lock:
                receipted[index] = tracker
        answered.release()
        return status

    with gunicorn_process(database_url, tmp_path, port) as (base, log, master):
        browsers = [Browser(base) for _ in links]
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda pair: pair[0].sign_in(pair[1]), zip(browsers, links, strict=True)))
            tokens = list(pool.map(lambda b: {"csrf_token": b.csrf(vote)}, browsers))
            futures = [pool.submit(cast, i, b) for i, b in enumerate(browsers)]
            for _ in range(KILL_AFTER):
                if not answered.acquire(timeout=60):
                    failed = [f.exception() for f in futures if f.done() and f.exception()]
                    raise AssertionError(failed[:1] or log.read_text()[-2000:])
            _kill_everything(master)
            first_round = [f.result() for f in futures]  # re-raises what failed in a thread
    killed = sum(1 for s in first_round if s in (-1, 502))
    assert killed > 0, "the kill came after every cast: nothing was tested"
    assert len(receipted) >= KILL_AFTER - CLIENTS

    # Start again: every voter tries (again); the ones who voted are told so.
    with (
        gunicorn_process(database_url, tmp_path, port) as (_base, log, _master),
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        second_round = list(pool.map(lambda pair: cast(*pair), enumerate(browsers)))
    assert all(s in (302, 409) for s in second_round), second_round
    for index, status in enumerate(second_round):
        if index in receipted and first_round[index] == 302:
            assert status == 409, "a voter with a receipt was let vote again"

    db.session.rollback()
    stored = set(db.session.scalars(select(Ballot.tracker)))
    assert set(receipted.values()) <= stored, "a receipted ballot is missing"
    marks = db.session.scalar(select(func.count()).select_from(RollMark))
    assert marks == len(stored) == VOTERS, (marks, len(stored))
    chain = verify_chain()
    assert chain.ok, chain.reason
    _integrity_check()
    assert "Traceback" not in log.read_text()
