"""Voting online: the member's ballot in their own contest, number boxes checked, a review, one
ballot with a tracker and no link to the voter, a receipt, the public list of trackers, turnout
for the officers — and refusals that store nothing, even under concurrent requests."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select
from werkzeug.datastructures import MultiDict

from assembly.audit.models import AuditEvent
from assembly.auth.actors import CLI
from assembly.auth.models import Role, User
from assembly.auth.operations import issue_sign_in_link
from assembly.clock import today
from assembly.elections import voting
from assembly.elections.models import (
    Candidate,
    CandidateOrder,
    CountMethod,
    Election,
    RollEntry,
)
from assembly.elections.states import ElectionState
from assembly.elections.voting import (
    ballot_candidates,
    ballot_hash,
    cast_ballot,
    get_roll_entry,
)
from assembly.extensions import begin_writing, db
from assembly.polls.casting import TRACKER_ALPHABET, AlreadyVoted
from assembly.polls.models import Ballot, Channel, RollMark
from assembly.records.models import SigningKey
from assembly.records.record import receipt_signed_by
from tests.conftest import grant, make_member, make_user
from tests.elections.polls import Poll, make_poll
from tests.membership.test_imports import database_fingerprint

TRACKER = re.compile(rf"[{TRACKER_ALPHABET}]{{4}}(-[{TRACKER_ALPHABET}]{{4}}){{3}}")


def _signed_in(app: Flask, email: str, *, csrf: bool = False) -> FlaskClient:
    """A new browser signed in as ``email`` through a sign-in link."""
    client = app.test_client()
    link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
    db.session.commit()
    data = {"csrf_token": _csrf_token(client, link)} if csrf else {}
    assert client.post(link, data=data).status_code == 302
    return client


def _csrf_token(client: FlaskClient, url: str) -> str:
    found = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text)
    assert found, url
    return str(found[-1])


def _url(poll: Poll, step: str = "") -> str:
    return f"/institutions/{poll.institution.slug}/elections/{poll.election.id}/vote{step}"


def _trackers_url(poll: Poll, key: str = "workers") -> str:
    return (
        f"/institutions/{poll.institution.slug}/elections/{poll.election.id}"
        f"/contests/{poll.contests[key].id}/trackers"
    )


def _ranked(*candidates: Candidate) -> dict[str, str]:
    """Number boxes filled in 1, 2, 3 … in the order given."""
    return {f"pref-{c.id}": str(n) for n, c in enumerate(candidates, start=1)}


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def _count(model: type) -> int:
    """Rows of ``model`` as committed (ending this session's snapshot first)."""
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _user(email: str) -> User:
    user = db.session.scalars(select(User).where(User.email == email)).first()
    return user or make_user(email)


# --- the ballot --------------------------------------------------------------------------------


def test_a_voter_sees_only_their_contest_in_alphabetical_order(app: Flask) -> None:
    """The ballot lists the valid candidates of the voter's own contest, by family name then
    given name; invalid, withdrawn and other contests' candidates are not on it."""
    poll = make_poll()
    client = _signed_in(app, poll.voters["workers"][0])
    response = client.get(_url(poll))
    assert response.status_code == 200
    page = _text(response)
    positions = [page.index(name) for name in ("Bob Adams", "Zoe Adams", "Amy Brown")]
    assert positions == sorted(positions)
    assert "Ivy Invalid" not in page and "Walt Withdrawn" not in page
    for candidate in poll.candidates["users"]:
        assert f'name="pref-{candidate.id}"' not in page
    assert 'inputmode="numeric"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_rotated_order_is_fixed_per_voter_and_differs_between_voters(app: Flask) -> None:
    """With rotated ballots each voter always sees the same rotation of the alphabetical
    order, derived from the election's seed and their roll entry; voters' orders differ."""
    names = (("Ann", "A"), ("Ben", "B"), ("Cat", "C"), ("Dan", "D"), ("Eve", "E"))
    poll = make_poll(
        keys=("workers",), names=names, voters=8, order=CandidateOrder.rotated, seats=1
    )
    alphabetical = [c.id for c in poll.candidates["workers"]]
    rotations = {tuple(alphabetical[i:] + alphabetical[:i]) for i in range(len(alphabetical))}
    orders = []
    for email in poll.voters["workers"]:
        entry = get_roll_entry(poll.election, _user(email))
        assert entry is not None
        order = tuple(c.id for c in ballot_candidates(poll.election, entry))
        assert order == tuple(c.id for c in ballot_candidates(poll.election, entry))
        assert order in rotations
        shift = voting.rotation(poll.election.seed, entry.id, len(names))
        assert order == tuple(alphabetical[shift:] + alphabetical[:shift])
        orders.append(order)
    assert len(set(orders)) > 1
    # The page shows the voter's order.
    client = _signed_in(app, poll.voters["workers"][0])
    page = _text(client.get(_url(poll)))
    shown = sorted(poll.candidates["workers"], key=lambda c: page.index(f'id="pref-{c.id}"'))
    assert tuple(c.id for c in shown) == orders[0]


def test_the_review_shows_the_choices_in_order_and_change_goes_back(app: Flask) -> None:
    """A valid ballot is shown back in preference order with "Cast my vote" and "Change";
    the review carries the choices in hidden fields, and "Change" refills the boxes."""
    poll = make_poll()
    zoe, amy, _ = poll.candidates["workers"]
    client = _signed_in(app, poll.voters["workers"][0])
    response = client.post(_url(poll), data=_ranked(amy, zoe))
    assert response.status_code == 200
    page = _text(response)
    assert page.index("Amy Brown") < page.index("Zoe Adams")
    assert "Bob Adams" not in page
    assert "Cast my vote" in page and "Change" in page
    assert f'name="pref-{amy.id}" value="1"' in page and f'name="pref-{zoe.id}" value="2"' in page
    assert _count(Ballot) == 0
    back = client.post(_url(poll), data={**_ranked(amy, zoe), "change": "1"})
    assert back.status_code == 200
    assert re.search(rf'id="pref-{amy.id}"[^>]*value="1"', back.text)
    assert re.search(rf'id="pref-{zoe.id}"[^>]*value="2"', back.text)


# --- casting -----------------------------------------------------------------------------------


def test_casting_stores_one_anonymous_ballot_and_one_roll_mark(app: Flask) -> None:
    """Casting stores exactly one ballot (random id, tracker, ranking, date) and one online
    roll mark; the receipt shows the tracker and the ballot's hash; the audit event names the
    contest only."""
    poll = make_poll()
    zoe, amy, bob = poll.candidates["workers"]
    email = poll.voters["workers"][0]
    client = _signed_in(app, email)
    events_before = _count(AuditEvent)
    response = client.post(_url(poll, "/cast"), data=_ranked(bob, zoe, amy))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_url(poll, "/receipt"))
    db.session.rollback()
    ballot = db.session.scalars(select(Ballot)).one()
    mark = db.session.scalars(select(RollMark)).one()
    entry = db.session.scalars(
        select(RollEntry).where(
            RollEntry.contest_id == poll.contests["workers"].id,
            RollEntry.person_id == mark.person_id,
        )
    ).one()
    assert entry.person.email == email and mark.poll_id == poll.contests["workers"].poll_id
    assert mark.channel == Channel.online
    assert re.fullmatch(r"[0-9a-f]{32}", ballot.id)
    assert TRACKER.fullmatch(ballot.tracker)
    assert json.loads(ballot.ranking) == [bob.id, zoe.id, amy.id]
    assert ballot.poll_id == poll.contests["workers"].poll_id
    assert ballot.channel == Channel.online and ballot.cast_on == today()
    assert ballot.batch_id is None
    receipt = client.get(_url(poll, "/receipt"))
    assert receipt.status_code == 200 and receipt.headers["Cache-Control"] == "no-store"
    digest = ballot_hash(entry.contest_id, ballot.tracker, [bob.id, zoe.id, amy.id])
    assert ballot.tracker in receipt.text and digest in receipt.text
    assert _trackers_url(poll) in receipt.text
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert len(events) == events_before + 1
    cast = events[-1]
    assert cast.action == "ballot.cast"
    assert cast.actor_user_id is None and email not in cast.actor_label
    assert (cast.subject_type, cast.subject_id) == ("contest", str(entry.contest_id))
    for event in events:
        assert ballot.tracker not in event.data and ballot.id not in event.data


def _as_a_new_request() -> None:
    """Forget what this test's long-lived app context knows of the signed-in user (Flask-Login
    caches it in ``g``, the session keeps the users it loaded), as a new request in production
    would."""
    g.pop("_login_user", None)
    for known in list(db.session.identity_map.values()):
        if isinstance(known, User):
            db.session.expunge(known)


def test_casting_reads_nothing_before_its_writing_transaction(app: Flask) -> None:
    """The cast request does not read the voter's account first: its first statement begins
    the writing transaction (on SQLite), the account is checked inside the statement that
    reads the ballot paper, and a vote takes no more than nine statements in all."""
    poll = make_poll()
    client = _signed_in(app, poll.voters["workers"][0])
    cast, ballot = _url(poll, "/cast"), _ranked(poll.candidates["workers"][0])
    _as_a_new_request()
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.post(cast, data=ballot)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_url(poll, "/receipt"))
    if db.engine.dialect.name == "sqlite":
        assert statements[0] == "BEGIN IMMEDIATE"
    reading_users = [s for s in statements if " users" in s]
    assert len(reading_users) == 1 and "users.is_disabled IS 0" in reading_users[0].replace(
        "false", "0"
    )
    assert len(statements) <= 9, statements
    assert _count(Ballot) == 1


def test_a_disabled_account_cannot_cast_and_is_signed_out(app: Flask) -> None:
    """A voter whose account is disabled after they signed in cannot cast from that session:
    they are sent to sign in, signed out, and nothing is stored; the operation refuses them
    too, saying why."""
    poll = make_poll()
    email = poll.voters["workers"][0]
    client = _signed_in(app, email)
    user = _user(email)
    user.is_disabled = True
    db.session.commit()
    _as_a_new_request()
    before = database_fingerprint()
    response = client.post(_url(poll, "/cast"), data=_ranked(poll.candidates["workers"][0]))
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    db.session.rollback()
    assert database_fingerprint() == before
    assert _count(Ballot) == 0 and _count(RollMark) == 0
    # Signed out: enabling the account again does not bring that session back.
    user = _user(email)
    user.is_disabled = False
    db.session.commit()
    _as_a_new_request()
    page = client.get(_url(poll))
    assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
    # The operation checks the account itself.
    user = _user(email)
    user.is_disabled = True
    db.session.commit()
    begin_writing()
    with pytest.raises(voting.NotEligible, match="disabled"):
        cast_ballot(
            user, poll.election, poll.contests["workers"], [poll.candidates["workers"][0].id]
        )
    db.session.rollback()
    assert _count(Ballot) == 0 and _count(RollMark) == 0


def test_the_ballots_table_cannot_hold_a_voter_or_a_time(app: Flask) -> None:
    """The ballots table's columns are exactly id, poll, tracker, constituency, ranking,
    choice, channel, date and paper batch: no foreign key to people, users or the roll, and
    no date-time column; the roll marks table holds the poll, the person and the channel only."""
    inspector = inspect(db.engine)
    columns = {c["name"]: c["type"] for c in inspector.get_columns("poll_ballots")}
    assert set(columns) == {
        "id",
        "poll_id",
        "tracker",
        "constituency",
        "ranking",
        "choice",
        "channel",
        "cast_on",
        "batch_id",
    }
    for name, kind in columns.items():
        assert not isinstance(kind, sa.DateTime | sa.TIMESTAMP | sa.Time), name
    assert isinstance(columns["cast_on"], sa.Date) and not isinstance(
        columns["cast_on"], sa.DateTime
    )
    referred = {fk["referred_table"] for fk in inspector.get_foreign_keys("poll_ballots")}
    assert referred == {"polls", "poll_batches"}
    marks = {c["name"] for c in inspector.get_columns("poll_marks")}
    assert marks == {"poll_id", "person_id", "channel"}
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("poll_marks")} == {
        "polls",
        "people",
    }


def test_a_second_vote_is_refused(app: Flask) -> None:
    """After voting, casting again is refused (409, "You have already voted", a link to the
    trackers), the ballot page says so, and still one ballot is stored."""
    poll = make_poll()
    zoe, amy, _ = poll.candidates["workers"]
    client = _signed_in(app, poll.voters["workers"][0])
    assert client.post(_url(poll, "/cast"), data=_ranked(zoe)).status_code == 302
    before = database_fingerprint()
    again = client.post(_url(poll, "/cast"), data=_ranked(amy))
    assert again.status_code == 409
    assert "You have already voted" in again.text and _trackers_url(poll) in again.text
    review = client.post(_url(poll), data=_ranked(amy))
    assert review.status_code == 409 and "You have already voted" in review.text
    page = client.get(_url(poll))
    assert page.status_code == 200 and "You have already voted" in page.text
    db.session.rollback()
    assert database_fingerprint() == before
    # From another browser, without the receipt in its session, too.
    other = _signed_in(app, poll.voters["workers"][0])
    before = database_fingerprint()
    assert other.post(_url(poll, "/cast"), data=_ranked(amy)).status_code == 409
    assert other.get(_url(poll, "/receipt")).status_code == 302
    db.session.rollback()
    assert database_fingerprint() == before
    assert _count(Ballot) == 1


def test_casting_is_rate_limited_per_voter_not_per_address(app: Flask) -> None:
    """A voter hammering the cast button is told to wait (429) once the limit of refused casts
    is reached (their one stored vote does not count); another voter from the same address is
    not."""
    app.config["CAST_PER_VOTER"] = "3 per minute"
    poll = make_poll()
    zoe, _, _ = poll.candidates["workers"]
    first = _signed_in(app, poll.voters["workers"][0])
    statuses = [first.post(_url(poll, "/cast"), data=_ranked(zoe)).status_code for _ in range(5)]
    assert statuses == [302, 409, 409, 409, 429]
    second = _signed_in(app, poll.voters["workers"][1])
    assert second.post(_url(poll, "/cast"), data=_ranked(zoe)).status_code == 302
    assert _count(Ballot) == 2


def test_signing_out_forgets_the_receipt(app: Flask) -> None:
    """The receipt lives in the voter's session cookie only, and signing out removes it, so the
    next person at a shared computer cannot read the tracker."""
    poll = make_poll()
    client = _signed_in(app, poll.voters["workers"][0])
    assert (
        client.post(_url(poll, "/cast"), data=_ranked(poll.candidates["workers"][0])).status_code
        == 302
    )
    db.session.rollback()
    tracker = db.session.scalars(select(Ballot.tracker)).one()
    with client.session_transaction() as cookie:
        assert cookie["vote_receipts"][str(poll.election.id)]["tracker"] == tracker
    assert client.post("/sign-out").status_code == 302
    with client.session_transaction() as cookie:
        assert "vote_receipts" not in cookie


def test_an_uncontested_contest_has_no_ballot(app: Flask) -> None:
    """A voter whose contest is uncontested is told its candidates are elected unopposed."""
    poll = make_poll()
    poll.contests["workers"].is_uncontested = True
    db.session.commit()
    client = _signed_in(app, poll.voters["workers"][0])
    response = client.get(_url(poll))
    assert response.status_code == 409 and "elected unopposed" in response.text
    cast = client.post(_url(poll, "/cast"), data=_ranked(poll.candidates["workers"][0]))
    assert cast.status_code == 409
    assert _count(Ballot) == 0


def test_a_paper_vote_counts_as_voted(app: Flask) -> None:
    """A roll entry marked as having voted on paper cannot vote online."""
    poll = make_poll()
    email = poll.voters["workers"][0]
    entry = get_roll_entry(poll.election, _user(email))
    assert entry is not None
    db.session.add(
        RollMark(poll_id=entry.contest.poll_id, person_id=entry.person_id, channel=Channel.paper)
    )
    db.session.commit()
    client = _signed_in(app, email)
    response = client.post(_url(poll, "/cast"), data=_ranked(poll.candidates["workers"][0]))
    assert response.status_code == 409 and "You have already voted" in response.text
    assert _count(Ballot) == 0


def test_the_roll_marks_key_refuses_a_second_vote(app: Flask) -> None:
    """The operation does not ask first whether the voter has voted: it writes the roll mark,
    whose primary key is the roll entry, and a mark already there (from a moment ago, another
    browser or a paper batch) means AlreadyVoted, with nothing more stored."""
    poll = make_poll()
    email = poll.voters["workers"][0]
    user = _user(email)
    contest = poll.contests["workers"]
    ids = [poll.candidates["workers"][0].id]
    begin_writing()
    cast_ballot(user, poll.election, contest, ids)
    db.session.commit()
    before = database_fingerprint()
    begin_writing()
    with pytest.raises(AlreadyVoted, match="already voted"):
        cast_ballot(user, poll.election, contest, ids)
    db.session.rollback()
    assert _count(Ballot) == 1 and _count(RollMark) == 1
    assert database_fingerprint() == before


def _race(clients: list[FlaskClient], url: str, data: dict[str, str]) -> list[int]:
    """Post ``data`` to ``url`` from every client at the same moment; return the statuses."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    failures: list[BaseException] = []

    def post(client: FlaskClient) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(url, data=data).status_code)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return sorted(statuses)


@pytest.mark.parametrize("method", [CountMethod.stv, CountMethod.plurality])
def test_concurrent_casts_for_one_voter_store_one_ballot(app: Flask, method: CountMethod) -> None:
    """Two browsers of the same voter casting at the same moment, for several voters: each
    time exactly one succeeds and the other is told they have already voted."""
    poll = make_poll(keys=("workers",), voters=4, method=method)
    first = poll.candidates["workers"][0]
    data = _ranked(first) if method == CountMethod.stv else {"choice": str(first.id)}
    url = _url(poll, "/cast")
    for email in poll.voters["workers"]:
        clients = [_signed_in(app, email), _signed_in(app, email)]
        db.session.rollback()
        assert _race(clients, url, data) == [302, 409]
    assert _count(Ballot) == len(poll.voters["workers"])
    assert _count(RollMark) == len(poll.voters["workers"])


def test_plurality_takes_up_to_seats_ticks_stored_in_id_order(app: Flask) -> None:
    """A first-past-the-post ballot takes at most ``seats`` ticks; the ballot stores them in
    candidate id order, not the order shown (which may be rotated per voter)."""
    poll = make_poll(method=CountMethod.plurality, seats=2, order=CandidateOrder.rotated)
    zoe, amy, bob = poll.candidates["workers"]
    client = _signed_in(app, poll.voters["workers"][0])
    page = client.get(_url(poll)).text
    assert 'type="checkbox"' in page and "Choose up to 2 candidates" in page
    before = database_fingerprint()
    too_many = client.post(
        _url(poll, "/cast"), data=MultiDict([("choice", str(c.id)) for c in (zoe, amy, bob)])
    )
    assert too_many.status_code == 400 and "at most 2 candidates" in _text(too_many)
    db.session.rollback()
    assert database_fingerprint() == before
    chosen = MultiDict([("choice", str(bob.id)), ("choice", str(zoe.id))])
    assert client.post(_url(poll, "/cast"), data=chosen).status_code == 302
    db.session.rollback()
    ballot = db.session.scalars(select(Ballot)).one()
    assert json.loads(ballot.ranking) == sorted([bob.id, zoe.id])


# --- refusals ----------------------------------------------------------------------------------

TAMPERED: dict[str, tuple[Callable[[Poll], MultiDict[str, str]], str]] = {
    "no-preference": (lambda p: MultiDict(), "Write 1 next to the candidate you like best"),
    "blank-boxes": (
        lambda p: MultiDict({f"pref-{c.id}": " " for c in p.candidates["workers"]}),
        "Write 1 next to",
    ),
    "unknown-candidate": (
        lambda p: MultiDict({"pref-999999": "1"}),
        "not a candidate in your contest",
    ),
    "another-contests-candidate": (
        lambda p: MultiDict(_ranked(p.candidates["users"][0])),
        "not a candidate in your contest",
    ),
    "withdrawn-candidate": (
        lambda p: MultiDict(_ranked(p.candidates["workers"][0], p.not_standing["workers"][1])),
        "not a candidate in your contest",
    ),
    "repeated-rank": (
        lambda p: MultiDict(
            {
                f"pref-{p.candidates['workers'][0].id}": "1",
                f"pref-{p.candidates['workers'][1].id}": "1",
            }
        ),
        "You wrote 1 next to more than one candidate",
    ),
    "gap-in-ranks": (
        lambda p: MultiDict(
            {
                f"pref-{p.candidates['workers'][0].id}": "1",
                f"pref-{p.candidates['workers'][1].id}": "3",
            }
        ),
        "you wrote 3 but no 2",
    ),
    "no-first-preference": (
        lambda p: MultiDict({f"pref-{p.candidates['workers'][0].id}": "2"}),
        "Start with 1",
    ),
    "not-a-number": (
        lambda p: MultiDict({f"pref-{p.candidates['workers'][0].id}": "first"}),
        "Write a whole number, such as 1, 2 or 3, next to Zoe Adams",
    ),
    "zero": (
        lambda p: MultiDict({f"pref-{p.candidates['workers'][0].id}": "0"}),
        "Number your choices from 1",
    ),
    "box-sent-twice": (
        lambda p: MultiDict(
            [
                (f"pref-{p.candidates['workers'][0].id}", "1"),
                (f"pref-{p.candidates['workers'][0].id}", "2"),
            ]
        ),
        "marked the same candidate twice",
    ),
    "ticks-on-a-ranked-ballot": (
        lambda p: MultiDict({"choice": str(p.candidates["workers"][0].id)}),
        "not a candidate in your contest",
    ),
}


@pytest.mark.parametrize("step", ["", "/cast"], ids=["review", "cast"])
@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_bad_or_tampered_ballot_is_refused_and_stores_nothing(
    app: Flask, case: str, step: str
) -> None:
    """Each bad ballot, at the review or at the cast, is answered 400 with a message saying what
    to correct, the ballot shown again, and nothing stored."""
    poll = make_poll()
    client = _signed_in(app, poll.voters["workers"][0])
    make_data, message = TAMPERED[case]
    before = database_fingerprint()
    response = client.post(_url(poll, step), data=make_data(poll))
    assert response.status_code == 400, response.text[:500]
    page = _text(response)
    assert message in page
    assert "There is a problem" in page and "Your ballot" in page
    db.session.rollback()
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"poll_opens_on": -2, "poll_closes_on": -1}, 409, "The poll closed at the end of"),
        ({"state": ElectionState.poll_closed}, 409, "The poll closed at the end of"),
        ({"poll_opens_on": 1, "poll_closes_on": 3}, 409, "The poll opens on"),
        ({"state": ElectionState.nominations_closed}, 409, "The poll opens on"),
        ({"state": ElectionState.cancelled}, 409, "cancelled"),
    ],
    ids=[
        "after-the-close-date",
        "poll-closed",
        "before-the-open-date",
        "not-open-yet",
        "cancelled",
    ],
)
def test_no_vote_outside_the_poll(
    app: Flask, change: dict[str, object], status: int, message: str
) -> None:
    """Outside the poll (by state, or by date before the timer has run) casting is refused
    with when the poll opens or closed, and nothing is stored."""
    poll = make_poll()
    client = _signed_in(app, poll.voters["workers"][0])
    election = db.session.get(Election, poll.election.id)
    assert election is not None
    for name, value in change.items():
        if isinstance(value, int):
            value = today() + timedelta(days=value)
        setattr(election, name, value)
    db.session.commit()
    before = database_fingerprint()
    response = client.post(_url(poll, "/cast"), data=_ranked(poll.candidates["workers"][0]))
    assert response.status_code == status
    assert message in _text(response)
    assert client.get(_url(poll)).status_code == status
    db.session.rollback()
    assert database_fingerprint() == before


def test_the_operation_checks_the_date_itself(app: Flask) -> None:
    """``cast_ballot`` refuses a date after the close even while the state is still open."""
    poll = make_poll()
    user = _user(poll.voters["workers"][0])
    begin_writing()
    with pytest.raises(voting.InvalidTransition, match="closed"):
        cast_ballot(
            user,
            poll.election,
            poll.contests["workers"],
            [poll.candidates["workers"][0].id],
            today=poll.election.poll_closes_on + timedelta(days=1),
        )
    db.session.rollback()
    assert _count(Ballot) == 0 and _count(RollMark) == 0


def test_someone_not_on_the_roll_cannot_vote(app: Flask) -> None:
    """A member who joined after the roll was frozen, a secretary and a voter of another contest
    are refused; a visitor who is not signed in is sent to sign in; nothing is stored."""
    poll = make_poll()
    ballot = _ranked(poll.candidates["workers"][0])
    latecomer = make_member(poll.institution, "workers", email="late@example.org")
    assert latecomer is not None
    secretary = make_user("sec@example.org")
    grant(secretary, poll.institution, Role.secretary)
    before = database_fingerprint(
        except_tables={"users", "sign_in_tokens", "audit_events", "audit_head"}
    )
    for email in ("late@example.org", "sec@example.org"):
        client = _signed_in(app, email)
        response = client.post(_url(poll, "/cast"), data=ballot)
        assert response.status_code == 403
        assert "You are not on the roll" in _text(response)
        assert client.get(_url(poll)).status_code == 403
    # A voter of the users contest posting the workers' ballot (someone else's review page).
    users_voter = _signed_in(app, poll.voters["users"][0])
    response = users_voter.post(_url(poll, "/cast"), data=ballot)
    assert response.status_code == 400 and "not a candidate in your contest" in _text(response)
    # The test's app context outlives requests, and Flask-Login caches the signed-in user in
    # its ``g``: forget it, as a new request in production would.
    g.pop("_login_user", None)
    anonymous = app.test_client().post(_url(poll, "/cast"), data=ballot)
    assert anonymous.status_code == 302, anonymous.text
    assert "/sign-in" in anonymous.headers["Location"]
    db.session.rollback()
    assert (
        database_fingerprint(
            except_tables={"users", "sign_in_tokens", "audit_events", "audit_head"}
        )
        == before
    )
    assert _count(Ballot) == 0 and _count(RollMark) == 0


def test_a_cast_without_the_csrf_token_is_refused(make_app) -> None:  # type: ignore[no-untyped-def]
    """With CSRF protection on (as in production), a cast without its token is refused and
    stores nothing; with the token from the review page it is cast."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        poll = make_poll()
        client = _signed_in(app, poll.voters["workers"][0], csrf=True)
        ballot = _ranked(poll.candidates["workers"][0])
        before = database_fingerprint()
        assert client.post(_url(poll, "/cast"), data=ballot).status_code == 400
        assert client.post(_url(poll), data=ballot).status_code == 400
        db.session.rollback()
        assert database_fingerprint() == before
        token = _csrf_token(client, _url(poll))
        review = client.post(_url(poll), data={**ballot, "csrf_token": token})
        assert review.status_code == 200
        cast_token = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', review.text)
        response = client.post(_url(poll, "/cast"), data={**ballot, "csrf_token": cast_token[-1]})
        assert response.status_code == 302
        assert _count(Ballot) == 1
        db.session.remove()


# --- the public list and turnout ---------------------------------------------------------------


def test_the_public_tracker_list_is_sorted_paginated_and_holds_nothing_else(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone can read the contest's trackers, sorted, a page at a time, with no choices or
    times; other contests' trackers are not there; before the poll there is no list."""
    from assembly.elections.views import results

    monkeypatch.setattr(results, "TRACKERS_PER_PAGE", 2)
    poll = make_poll(voters=3)
    zoe = poll.candidates["workers"][0]
    for email in poll.voters["workers"]:
        user = _user(email)
        begin_writing()
        cast_ballot(user, poll.election, poll.contests["workers"], [zoe.id])
        db.session.commit()
    begin_writing()
    users_receipt = cast_ballot(
        _user(poll.voters["users"][0]),
        poll.election,
        poll.contests["users"],
        [poll.candidates["users"][0].id],
    )
    db.session.commit()
    trackers = sorted(
        db.session.scalars(
            select(Ballot.tracker).where(Ballot.poll_id == poll.contests["workers"].poll_id)
        )
    )
    anonymous = app.test_client()
    first = anonymous.get(_trackers_url(poll))
    second = anonymous.get(_trackers_url(poll) + "?page=2")
    assert first.status_code == second.status_code == 200
    items = [
        re.findall(r"<li>(.*?)</li>", page.split('id="trackers"')[1].split("</ul>")[0])
        for page in (first.text, second.text)
    ]
    assert items == [[f"<code>{t}</code>" for t in trackers[:2]], [f"<code>{trackers[2]}</code>"]]
    assert "3 ballots" in first.text
    assert users_receipt.tracker not in first.text + second.text
    election = db.session.get(Election, poll.election.id)
    assert election is not None
    election.state = ElectionState.nominations_closed
    db.session.commit()
    assert anonymous.get(_trackers_url(poll)).status_code == 404


def test_officers_see_turnout_per_contest(app: Flask) -> None:
    """The secretary and the returning officer see each contest's roll size and votes cast so
    far; a member cannot."""
    poll = make_poll(voters=4)
    begin_writing()
    cast_ballot(
        _user(poll.voters["workers"][0]),
        poll.election,
        poll.contests["workers"],
        [poll.candidates["workers"][0].id],
    )
    db.session.commit()
    url = f"/institutions/{poll.institution.slug}/elections/{poll.election.id}/turnout"
    for email, role in (
        ("sec@example.org", Role.secretary),
        ("ro@example.org", Role.returning_officer),
    ):
        grant(make_user(email), poll.institution, role)
        page = _signed_in(app, email).get(url)
        assert page.status_code == 200
        rows = re.findall(
            r'<th scope="row" class="govuk-table__header">([^<]+)</th>\s*'
            r"<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([^<]+)</td>",
            page.text,
        )
        assert rows == [("Workers", "4", "1", "25.0%"), ("Service users", "4", "0", "0.0%")]
    assert _signed_in(app, poll.voters["workers"][1]).get(url).status_code == 403


def test_turnout_is_public_once_the_poll_closes(app: Flask) -> None:
    """During the poll only officers see turnout; once it closes, anyone does."""
    from assembly.elections.states import ElectionState

    poll = make_poll(voters=2)
    url = f"/institutions/{poll.institution.slug}/elections/{poll.election.id}/turnout"
    assert app.test_client().get(url).status_code == 302  # to sign in
    poll.election.state = ElectionState.poll_closed
    db.session.commit()
    page = app.test_client().get(url)
    assert page.status_code == 200 and "Workers" in page.text


def test_the_receipt_is_signed_by_the_election_key_and_downloads(app: Flask) -> None:
    """At cast the voter's session gets a receipt signed by the election's key: institution,
    election, contest, tracker, ballot hash and the day only. It downloads as JSON (no-store)
    from the receipt page; another browser has none to download."""
    poll = make_poll()
    zoe, amy, _ = poll.candidates["workers"]
    client = _signed_in(app, poll.voters["workers"][0])
    assert client.post(_url(poll, "/cast"), data=_ranked(amy, zoe)).status_code == 302
    page = client.get(_url(poll, "/receipt"))
    assert "Download your signed receipt" in page.text
    download = client.get(_url(poll, "/receipt.json"))
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    document = json.loads(download.text)
    db.session.rollback()
    key = db.session.get(SigningKey, poll.election.signing_key_id)
    assert key is not None and document["fingerprint"] == key.fingerprint
    assert receipt_signed_by(document, key.public_key)
    receipt = document["receipt"]
    ballot = db.session.scalars(select(Ballot)).one()
    assert receipt == {
        "institution": poll.institution.slug,
        "election": poll.election.id,
        "contest": poll.contests["workers"].id,
        "tracker": ballot.tracker,
        "ballot_hash": ballot_hash(poll.contests["workers"].id, ballot.tracker, [amy.id, zoe.id]),
        "cast_on": today().isoformat(),
    }
    receipt["tracker"] = "2222-2222-2222-2222"
    assert not receipt_signed_by(document, key.public_key)
    other = _signed_in(app, poll.voters["workers"][1])
    assert other.get(_url(poll, "/receipt.json")).status_code == 404
