"""The assembly through the real web stack: gunicorn with two worker processes. Two tellers
check every member in at the same moment, then every phone casts twice at once: one
attendance and one ballot each, and no server error, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from assembly.assemblies.models import Attendance
from assembly.assemblies.notices import pass_token
from assembly.assemblies.operations import open_vote
from assembly.auth.actors import CLI
from assembly.auth.models import Role
from assembly.auth.operations import issue_sign_in_link
from assembly.extensions import db
from assembly.polls.models import Ballot, RollMark
from tests.assemblies.helpers import make_room
from tests.conftest import grant, make_user
from tests.servers import Browser, gunicorn

CLIENTS = 16


def _count(model: type) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_concurrent_check_ins_and_casts_through_gunicorn(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    room = make_room("server-school", per_constituency=10)
    other = make_user("teller2@server-school.org")
    grant(other, room.institution, Role.teller)
    base_path = f"/institutions/server-school/assemblies/{room.assembly.id}"
    passes = [
        f"{base_path}/pass/{pass_token(room.assembly.id, m.person_id)}" for m in room.everyone()
    ]
    links = [
        re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
        for email in (room.teller.email, other.email)
    ]
    db.session.commit()
    with gunicorn(database_url, tmp_path) as (base, log):
        tellers = [Browser(base), Browser(base)]
        for teller, link in zip(tellers, links, strict=True):
            teller.sign_in(link)
        tokens = [teller.csrf(f"{base_path}/check-in") for teller in tellers]
        with ThreadPoolExecutor(CLIENTS) as pool:
            # Both tellers scan each member at the same moment.
            check_ins = [
                pool.submit(teller.request, url, {"csrf_token": token})
                for url in passes
                for teller, token in zip(tellers, tokens, strict=True)
            ]
            statuses = [future.result()[0] for future in check_ins]
            assert statuses == [302] * len(statuses), log.read_text()[-3000:]
            assert _count(Attendance) == 30
            vote = open_vote(room.secretary, room.assembly)
            db.session.commit()
            first, second = (c.id for c in room.candidates)

            def phone(url: str) -> tuple[Browser, dict[str, str]]:
                browser = Browser(base)
                status, _ = browser.request(url)
                assert status == 302, status
                return browser, {
                    "csrf_token": browser.csrf(f"{base_path}/vote"),
                    f"pref-{first}": "1",
                    f"pref-{second}": "2",
                }

            phones = list(pool.map(phone, passes))
            casts = [
                pool.submit(browser.request, f"{base_path}/vote", ballot)
                for browser, ballot in phones
                for _ in range(2)
            ]
            cast_statuses = [future.result()[0] for future in casts]
    assert [s for s in cast_statuses if s >= 500] == [], log.read_text()[-3000:]
    assert _count(RollMark) == 30 and _count(Ballot) == 30
    marks = db.session.scalars(select(RollMark.poll_id)).all()
    assert set(marks) == {vote.poll_id}
    assert "Traceback" not in log.read_text()
