"""Races between the writers of a poll, on SQLite and PostgreSQL alike: a cast against the
close (every stored ballot is counted, or the cast is refused), and a second paper entry made
twice at once (the batch is stored once). First step by step in two transactions whose order
the test fixes, then through gunicorn as it is deployed."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from assembly.assemblies.models import Attendance, Vote, VoteState
from assembly.assemblies.notices import pass_token
from assembly.assemblies.operations import (
    cast_assembly_vote,
    close_vote,
    declare_assembly,
    open_vote,
)
from assembly.assemblies.paper import enter_paper_batch, give_paper, parse_papers
from assembly.auth.actors import CLI
from assembly.auth.models import Role, User
from assembly.auth.operations import issue_sign_in_link
from assembly.elections.count import count_election
from assembly.elections.models import Contest, Election
from assembly.elections.paper import BatchEntry, enter_batch, parse_batch
from assembly.errors import Conflict, DomainError, InvalidTransition
from assembly.extensions import begin_writing, db
from assembly.membership.models import Constituency
from assembly.polls.models import Ballot, BatchStatus, PaperBatch, RollMark
from tests.assemblies.helpers import HELD_ON, Room, make_room
from tests.assemblies.test_count import _verified
from tests.conftest import grant, make_user
from tests.elections.test_count import _closed_poll
from tests.servers import Browser, gunicorn

#: How long the test lets a blocked transaction wait before it lets the blocker commit: long
#: enough for the other thread to have reached its lock on a busy machine.
HOLD_SECONDS = 0.5


def _poll(vote_id: int) -> int:
    """The poll of the assembly vote."""
    return int(db.session.scalar(select(Vote.poll_id).where(Vote.id == vote_id)))


def _count(model: type, *where: Any) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _in_another_transaction(
    app: Flask, work: Callable[[], object]
) -> tuple[threading.Thread, dict]:
    """Run ``work`` in its own thread, app context and writing transaction, committing when it
    returns; the outcome (its value or the DomainError it raised) lands in the dict."""
    outcome: dict[str, object] = {}

    def run() -> None:
        with app.app_context():
            begin_writing()
            try:
                outcome["value"] = work()
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                outcome["error"] = error
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _race(
    app: Flask, first: Callable[[], object], second: Callable[[], object]
) -> tuple[object, dict]:
    """Run ``first`` in this test's writing transaction and, before it commits, ``second`` in
    another (``_in_another_transaction``), which waits for it; commit ``first`` after
    HOLD_SECONDS and wait for ``second`` to end. Return ``first``'s value and ``second``'s
    outcome."""
    begin_writing()
    value = first()
    db.session.flush()
    thread, outcome = _in_another_transaction(app, second)
    time.sleep(HOLD_SECONDS)
    db.session.commit()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the other transaction is still waiting"
    return value, outcome


def _attendances(room: Room) -> list[Attendance]:
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.assembly_id == room.assembly.id)
            .order_by(Attendance.number)
        )
    )


def _check_in_everyone(room: Room) -> list[Attendance]:
    for membership in room.everyone():
        room.check_in(membership)
    return _attendances(room)


def _counted_ballots(vote_id: int) -> int:
    """The number of valid ballots the vote's stored count took in."""
    vote = db.session.get(Vote, vote_id)
    assert vote is not None and vote.state == VoteState.counted
    return int(json.loads(vote.result)["valid"])


@dataclass(frozen=True)
class _PostalBatch:
    """A board election's closed poll with two members on the roll who did not vote, a
    teller, and a batch of their two postal papers to enter."""

    election: Election
    contest: Any
    entry: BatchEntry
    teller_id: int

    def entered_by_teller(self, label: str) -> Callable[[], object]:
        """The teller's entry of the batch under ``label``, to run in any session (it reloads
        the contest and the teller by id): it returns whether the entry accepted the batch."""
        contest_id, teller_id, entry = self.contest.id, self.teller_id, self.entry

        def enter() -> object:
            teller = db.session.get(User, teller_id)
            return enter_batch(teller, db.session.get(Contest, contest_id), label, entry)[1]

        return enter


def _postal_batch(slug: str) -> _PostalBatch:
    election, contest = _closed_poll(slug, not_voting=2)
    teller = make_user(f"teller@{slug}.org")
    grant(teller, election.institution, Role.teller)
    db.session.commit()
    return _PostalBatch(election, contest, parse_batch("11 12", "1 2\n3", contest), teller.id)


def test_a_cast_waits_for_a_close_under_way_and_is_refused(app: Flask) -> None:
    """While the chair's close is under way (counted, not yet committed), a phone's cast
    waits for it and is then refused: no ballot is stored that the count left out."""
    room = make_room("race-close-first", per_constituency=2)
    attendances = _check_in_everyone(room)
    vote = open_vote(room.secretary, room.assembly)
    ranking = [room.candidates[0].id]
    cast_assembly_vote(attendances[1], vote, ranking=ranking, day=HELD_ON)
    db.session.commit()
    vote_id, attendance_id = vote.id, attendances[0].id

    def close() -> object:
        return close_vote(room.secretary, db.session.get(Vote, vote_id))

    def cast() -> str:
        attendance = db.session.get(Attendance, attendance_id)
        assert attendance is not None
        return cast_assembly_vote(
            attendance, db.session.get(Vote, vote_id), ranking=ranking, day=HELD_ON
        )

    _, outcome = _race(app, close, cast)
    assert isinstance(outcome.get("error"), InvalidTransition), outcome
    assert _count(Ballot, Ballot.poll_id == _poll(vote_id)) == 1
    assert _counted_ballots(vote_id) == 1


def test_a_close_waits_for_a_cast_under_way_and_counts_it(app: Flask) -> None:
    """While a phone's cast is under way (stored, not yet committed), the chair's close waits
    for it and counts its ballot."""
    room = make_room("race-cast-first", per_constituency=2)
    attendances = _check_in_everyone(room)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    vote_id = vote.id
    secretary_id = room.secretary.id

    def cast() -> str:
        return cast_assembly_vote(
            attendances[0], vote, ranking=[room.candidates[0].id], day=HELD_ON
        )

    def close() -> object:
        return close_vote(db.session.get(User, secretary_id), db.session.get(Vote, vote_id))

    _, outcome = _race(app, cast, close)
    assert "error" not in outcome, outcome
    assert _count(Ballot, Ballot.poll_id == _poll(vote_id)) == 1
    assert _counted_ballots(vote_id) == 1


def _given_papers(room: Room, attendances: list[Attendance], key: str) -> tuple[Vote, Constituency]:
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    members = [a for a in attendances if a.constituency.key == key]
    for attendance in members:
        give_paper(room.teller, vote, attendance)
    db.session.commit()
    return vote, members[0].constituency


def test_two_second_entries_of_an_assembly_batch_at_once_store_it_once(app: Flask) -> None:
    """The second entry of a batch made twice at the same moment: one accepts the batch, the
    other waits for it and is refused; the papers are stored once."""
    room = make_room("race-assembly-paper", per_constituency=3)
    other = make_user("teller2@race-assembly-paper.org")
    grant(other, room.institution, Role.teller)
    attendances = _check_in_everyone(room)
    vote, constituency = _given_papers(room, attendances, "users")
    papers = parse_papers("1 2\n2\n2 1", vote)
    enter_paper_batch(room.teller, vote, constituency, "Box 1", papers)
    db.session.commit()
    ids = (vote.id, constituency.id, other.id)

    def second_entry() -> object:
        vote_, constituency_, user = (
            db.session.get(Vote, ids[0]),
            db.session.get(Constituency, ids[1]),
            db.session.get(User, ids[2]),
        )
        return enter_paper_batch(user, vote_, constituency_, "Box 1", papers)[1]

    accepted, outcome = _race(app, second_entry, second_entry)
    assert accepted is True
    error = outcome.get("error")
    assert isinstance(error, Conflict) and "accepted already" in error.message, outcome
    assert _count(Ballot, Ballot.poll_id == _poll(ids[0])) == 3
    assert _count(PaperBatch, PaperBatch.status == "accepted") == 1


def test_two_second_entries_of_an_election_batch_at_once_store_it_once(app: Flask) -> None:
    """A board election's postal batch entered a second time twice at once: one accepts it,
    the other is refused, and no new batch is left waiting."""
    batch = _postal_batch("race-election-paper")
    enter_batch(batch.election.returning_officer, batch.contest, "Postal 1", batch.entry)
    db.session.commit()
    ballots = _count(Ballot)
    second_entry = batch.entered_by_teller("Postal 1")
    accepted, outcome = _race(app, second_entry, second_entry)
    assert accepted is True
    error = outcome.get("error")
    assert isinstance(error, Conflict) and "accepted already" in error.message, outcome
    assert _count(Ballot) == ballots + 2
    assert _count(PaperBatch) == 1
    assert _count(PaperBatch, PaperBatch.status == BatchStatus.accepted) == 1


def test_two_first_entries_of_one_batch_at_once_leave_one_waiting(app: Flask) -> None:
    """Two first entries of the same batch at the same moment: one waits for its second
    entry, the other is refused with a message, never two batches waiting under one label."""
    first_entry = _postal_batch("race-first-entries").entered_by_teller("Postal 2")
    accepted, outcome = _race(app, first_entry, first_entry)
    assert accepted is False
    # The other entry came second: by the same teller it is refused as such; the point is
    # that one batch waits.
    assert "error" in outcome, outcome
    waiting = PaperBatch.status == BatchStatus.first_entered
    assert _count(PaperBatch, waiting) == 1


def test_a_paper_entry_waits_for_the_count_under_way_and_is_refused(app: Flask) -> None:
    """While the returning officer's count is under way (not yet committed), a paper batch
    entered for the election waits for it and is then refused: nothing is left entered that
    the count did not see."""
    batch = _postal_batch("race-count-paper")
    first_entry = batch.entered_by_teller("Postal 3")
    batches = _count(PaperBatch)

    def count() -> object:
        return count_election(batch.election.returning_officer, batch.election)

    _, outcome = _race(app, count, first_entry)
    assert isinstance(outcome.get("error"), InvalidTransition), outcome
    assert _count(PaperBatch) == batches


# --- through gunicorn -------------------------------------------------------------------------

PHONES = 50


def test_fifty_phone_votes_racing_the_close_through_gunicorn(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    """Fifty phones cast while the chair closes the vote: every ballot stored is counted (each
    cast is either stored before the close or refused), the marks match the ballots one for
    one, no request fails, and the declared record passes every step of the verifier."""
    room = make_room("race-phones", per_constituency=17)
    attendances = _check_in_everyone(room)[:PHONES]
    assert len(attendances) == PHONES
    base_path = f"/institutions/race-phones/assemblies/{room.assembly.id}"
    passes = [f"{base_path}/pass/{pass_token(room.assembly.id, a.person_id)}" for a in attendances]
    chair_link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, room.secretary.email))
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    vote_id = vote.id
    first, second = (c.id for c in room.candidates)
    with gunicorn(database_url, tmp_path) as (base, log):
        chair = Browser(base)
        chair.sign_in(chair_link)
        chair_token = chair.csrf(base_path)

        def phone(url: str) -> tuple[Browser, dict[str, str]]:
            browser = Browser(base)
            status, _ = browser.request(url)
            assert status == 302, status
            return browser, {
                "csrf_token": browser.csrf(f"{base_path}/vote"),
                f"pref-{first}": "1",
                f"pref-{second}": "2",
            }

        with ThreadPoolExecutor(16) as pool:
            phones = list(pool.map(phone, passes))
            casts = [
                pool.submit(browser.request, f"{base_path}/vote", ballot)
                for browser, ballot in phones[: PHONES // 2]
            ]
            close = pool.submit(chair.request, f"{base_path}/close", {"csrf_token": chair_token})
            casts += [
                pool.submit(browser.request, f"{base_path}/vote", ballot)
                for browser, ballot in phones[PHONES // 2 :]
            ]
            statuses = [future.result()[0] for future in casts]
            close_status = close.result()[0]
    assert close_status == 302, log.read_text()[-3000:]
    assert [s for s in statuses if s >= 500] == [], log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
    stored = _count(Ballot, Ballot.poll_id == _poll(vote_id))
    assert stored == _count(RollMark, RollMark.poll_id == _poll(vote_id))
    assert 0 < stored <= PHONES
    assert _counted_ballots(vote_id) == stored
    db.session.expire_all()
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    _verified(room)


@pytest.mark.parametrize("feature", ["assembly", "election"])
def test_a_second_entry_submitted_twice_at_once_through_gunicorn(
    app: Flask, database_url: str, tmp_path: Path, feature: str
) -> None:
    """A teller's second entry of a batch sent twice at the same moment (a double click)
    through gunicorn: the batch is accepted once and its papers stored once; the other
    request is answered with a message, not an error."""
    slug = f"race-double-{feature}"
    if feature == "assembly":
        room = make_room(slug, per_constituency=3)
        attendances = _check_in_everyone(room)
        vote, constituency = _given_papers(room, attendances, "users")
        enter_paper_batch(room.teller, vote, constituency, "Box 1", parse_papers("1\n2\n1", vote))
        second_by = make_user(f"teller2@{slug}.org")
        grant(second_by, room.institution, Role.teller)
        url = f"/institutions/{slug}/assemblies/{room.assembly.id}/papers"
        data = {"constituency": str(constituency.id), "label": "Box 1", "papers": "1\n2\n1"}

        def stored() -> int:
            return _count(Ballot, Ballot.poll_id == vote.poll_id)

        expected = 3
    else:
        election, contest = _closed_poll(slug, not_voting=2)
        enter_batch(
            election.returning_officer, contest, "Postal 1", parse_batch("11 12", "1\n2", contest)
        )
        second_by = make_user(f"teller@{slug}.org")
        grant(second_by, election.institution, Role.teller)
        url = f"/institutions/{slug}/elections/{election.id}/contests/{contest.id}/paper"
        data = {"label": "Postal 1", "voters": "11 12", "papers": "1\n2"}
        before = _count(Ballot)

        def stored() -> int:
            return _count(Ballot) - before

        expected = 2
    link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, second_by.email))
    db.session.commit()
    with gunicorn(database_url, tmp_path) as (base, log):
        teller = Browser(base)
        teller.sign_in(link)
        data["csrf_token"] = teller.csrf(url)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: teller.request(url, data), range(2)))
    assert sorted(status for status, _ in answers)[-1] < 500, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
    assert stored() == expected
    assert _count(PaperBatch, PaperBatch.status == "accepted") == 1
    assert _count(PaperBatch, PaperBatch.status == "first_entered") == 0
