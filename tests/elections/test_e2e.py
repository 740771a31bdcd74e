"""A board election polled end-to-end verifiably, through its pages and its operations, with
the pure core playing each browser (tests/e2e/test_e2e_crypto.py shows the browser's bytes
are the same): the officer names the trustees, they run the ceremony, the officer publishes
credentials, voters cast and audit encrypted ballots, each trustee shuffles and opens with
``assembly trustee``, the count takes the opened rankings and the record verifies, step 10
included. Every refusal leaves the database as it was."""

from __future__ import annotations

import html
import io
import json
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.actors import SystemActor
from assembly.auth.models import Role, User
from assembly.cli_group import cli
from assembly.crypto import ballot as ballots
from assembly.crypto import poll
from assembly.crypto.group import G, L, Point, random_scalar, scalar_hex
from assembly.crypto.trustees import deal, open_share, seal_share
from assembly.e2e.models import EncryptedBallot, Shuffle
from assembly.e2e.operations import poll_label
from assembly.elections import e2e
from assembly.elections.count import count_election
from assembly.elections.models import Contest, CountMethod, Election, RollEntry
from assembly.elections.nominations import valid_candidates
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    create_election,
    register_officer_key,
    tick,
)
from assembly.elections.record import get_record
from assembly.elections.states import ElectionState
from assembly.errors import Conflict, InvalidTransition, RuleViolation
from assembly.extensions import db
from assembly.membership.jobs import wait_for_jobs
from assembly.membership.models import Person
from assembly.notices.models import OutboxMessage
from assembly.polls.models import Ballot, Channel
from assembly.records.operations import published
from assembly.records.verify import verify_record
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import OFFICER_PUBLIC_KEY, countersign
from tests.elections.test_setup import GOOD
from tests.elections.test_tick import _stand

TIMER = SystemActor("timer")
#: Preferences of the voters who vote encrypted (indexes into the contest's candidates).
RANKINGS = [(0, 2), (1,), (2, 0, 1), (0,), (1, 2)]


def _election(slug: str) -> Election:
    school = make_institution(slug=slug)
    secretary, officer = make_user(f"sec@{slug}.org"), make_user(f"ro@{slug}.org")
    grant(secretary, school, Role.secretary)
    grant(officer, school, Role.returning_officer)
    third = Fraction(1, 3)
    election = create_election(
        secretary,
        school,
        ElectionSettings(
            title="Governors 2027",
            seats=6,
            apportionment="largest-remainder",
            weights={"workers": third, "users": third, "community": third},
            methods=dict.fromkeys(("workers", "users", "community"), CountMethod.stv),
            timetable=GOOD,
            returning_officer_id=officer.id,
            e2e=True,
        ),
    )
    register_officer_key(officer, election, OFFICER_PUBLIC_KEY)
    approve_election(officer, election, today=date(2027, 4, 1))
    db.session.commit()
    return election


def _post(client: FlaskClient, url: str, body: Any) -> Any:
    return client.post(url, json=body)


class Browser:
    """A trustee's browser, played by the pure core: its transport key and, once the
    ceremony is done, its decryption key file."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.transport = random_scalar()
        self.key_file: dict[str, Any] = {}


def _ceremony(
    client: FlaskClient, login_as: Any, election: Election, emails: list[str]
) -> list[Browser]:
    url = f"/institutions/{election.institution.slug}/elections/{election.id}/trustees"
    browsers = [Browser(i) for i in range(1, len(emails) + 1)]
    for email, browser in zip(emails, browsers, strict=True):
        login_as(email)
        answer = _post(client, url + "/step", {"transport_key": (G * browser.transport).hex()})
        assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    ceremony = election.ceremony
    assert ceremony is not None
    label = ceremony.label
    transports = {t.number: Point.from_hex(t.transport_key) for t in ceremony.trustees}
    for email, browser in zip(emails, browsers, strict=True):
        dealing = deal(label, browser.number, ceremony.threshold, len(emails))
        body = {
            "number": browser.number,
            "commitments": [c.hex() for c in dealing.commitments],
            "proof": dealing.proof.to_json(),
            "shares": [
                {"to": to, **seal_share(label, browser.number, to, transports[to], share)}
                for to, share in enumerate(dealing.shares, start=1)
            ],
        }
        login_as(email)
        assert _post(client, url + "/step", {"dealing": body}).status_code == 200
    db.session.expire_all()
    dealings = e2e.e2e.dealings_of(ceremony)
    for email, browser in zip(emails, browsers, strict=True):
        secret = (
            sum(
                open_share(
                    label,
                    d["number"],
                    browser.number,
                    browser.transport,
                    d["shares"][browser.number - 1],
                )
                for d in dealings
            )
            % L
        )
        browser.key_file = {
            "ceremony": label,
            "number": browser.number,
            "secret": scalar_hex(secret),
            "public": (G * secret).hex(),
        }
        login_as(email)
        answer = _post(client, url + "/step", {"public_key": (G * secret).hex()})
        assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    return browsers


def _contest(election: Election, key: str) -> Contest:
    return next(c for c in election.contests if c.constituency.key == key)


def test_an_end_to_end_election_from_trustees_to_a_verified_record(
    app: Flask, client: FlaskClient, login_as: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    election = _election("e2e-school")
    slug = election.institution.slug
    officer = election.returning_officer
    assert officer is not None
    # The officer names two scrutineers; any two of the three open the ballots.
    login_as(officer.email)
    page = client.post(
        f"/institutions/{slug}/elections/{election.id}/trustees",
        data={"scrutineers": "s1@example.org\ns2@example.org", "threshold": "2"},
    )
    assert page.status_code == 302, page.get_data(as_text=True)
    db.session.expire_all()
    # Each scrutineer is told, with the trustees' page to open and what to do there.
    named = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "trustee_named")
    ).all()
    assert sorted(m.to_address for m in named) == ["s1@example.org", "s2@example.org"]
    assert all(f"/elections/{election.id}/trustees" in m.body_text for m in named)
    assert "trustee 2 of 3" in next(m for m in named if m.to_address == "s1@example.org").body_text
    browsers = _ceremony(
        client, login_as, election, [officer.email, "s1@example.org", "s2@example.org"]
    )
    ceremony = election.ceremony
    assert ceremony is not None and ceremony.election_key
    # The roll: five voters for the users' contest (three candidates), one for workers.
    [
        make_member(election.institution, "users", email=f"v{i}@example.org")
        for i in range(len(RANKINGS) + 1)
    ]
    _stand(election, "users", 3)
    _stand(election, "workers", 1)
    tick(TIMER, GOOD.nominations_close_on + timedelta(days=1))
    db.session.commit()
    assert election.state == ElectionState.nominations_closed
    contest = _contest(election, "users")
    # Until the credentials are published, the poll does not open.
    with pytest.raises(InvalidTransition, match="credentials are not published"):
        from assembly.elections.operations import open_poll

        open_poll(TIMER, election)
    db.session.rollback()
    # On the poll's day the timer leaves it waiting, and says why on the election's page.
    assert all(e.id != election.id for e, _ in tick(TIMER, GOOD.poll_opens_on))
    db.session.commit()
    assert election.state == ElectionState.nominations_closed
    login_as(officer.email)
    page = client.get(f"/institutions/{slug}/elections/{election.id}").get_data(as_text=True)
    assert 'id="e2e-waiting"' in page and "credentials are not published" in page
    # The officer's browser makes a code per voter and publishes the public halves.
    codes = [ballots.new_credential_code() for _ in range(contest.roll_size)]
    publics = sorted((G * ballots.credential_secret(c)).hex() for c in codes)
    login_as(officer.email)
    url = f"/institutions/{slug}/elections/{election.id}/credentials/{contest.id}"
    assert _post(client, url, {"credentials": publics[:-1]}).status_code == 400
    assert _post(client, url, {"credentials": publics}).status_code == 200
    tick(TIMER, GOOD.poll_opens_on)
    db.session.commit()
    assert election.state == ElectionState.poll_open

    key = Point.from_hex(ceremony.election_key)
    label = poll_label(ceremony, contest.poll_id)
    layout = ballots.Layout(len(valid_candidates(contest)))
    entries = db.session.scalars(
        select(RollEntry).where(RollEntry.contest_id == contest.id).order_by(RollEntry.number)
    ).all()
    day = GOOD.poll_opens_on
    # The ballot page gives its script what it needs to read and encrypt the marks in the
    # browser; the review page, which only a browser without the script reaches (having
    # posted its marks), offers no encryption: marks the server has seen are never encrypted.
    voter = db.session.get(Person, entries[0].person_id)
    assert voter is not None and voter.email
    login_as(voter.email)
    monkeypatch.setattr("assembly.elections.views.voting.today", lambda: day)
    page = client.get(f"/institutions/{slug}/elections/{election.id}/vote").get_data(as_text=True)
    data = json.loads(html.unescape(page.split('id="e2e-data">')[1].split("</script>")[0]))
    assert data["label"] == poll_label(ceremony, contest.poll_id)
    assert data["candidate_ids"] == [c.id for c in valid_candidates(contest)]
    assert data["kind"] == "ranked" and "data-e2e-marks" in page
    first = valid_candidates(contest)[0]
    review = client.post(
        f"/institutions/{slug}/elections/{election.id}/vote", data={f"pref-{first.id}": "1"}
    ).get_data(as_text=True)
    assert "Check your vote" in review and "e2e-data" not in review
    # A voter audits an encryption first: it opens to their choices and is never counted.
    audited = poll.audit(key, layout, RANKINGS[0], label, G * ballots.credential_secret(codes[0]))
    ids = [c.id for c in valid_candidates(contest)]
    found = e2e.audit_ballot(TIMER, election, contest, audited.to_json(ids), today=day)
    assert found.ranking == RANKINGS[0]
    db.session.commit()
    # A lie about what an encryption holds is caught.
    lie = poll.Audited(audited.credential, audited.ballot, (1,), audited.randomness)
    with pytest.raises(RuleViolation, match="does NOT open"):
        e2e.audit_ballot(TIMER, election, contest, lie.to_json(ids), today=day)
    db.session.rollback()
    receipts = []
    for entry, ranking, code in zip(entries, RANKINGS, codes, strict=False):
        cast = poll.cast(key, layout, ranking, label, ballots.credential_secret(code))
        receipts.append(
            e2e.cast_ballot(TIMER, election, contest, entry.person_id, cast.to_json(), today=day)
        )
        db.session.commit()
    assert receipts[0].signed["receipt"]["encrypted"] is True
    # A second ballot with a used credential, and one with a credential not on the list.
    again = poll.cast(key, layout, (1,), label, ballots.credential_secret(codes[0]))
    with pytest.raises(Conflict):
        e2e.cast_ballot(TIMER, election, contest, entries[-1].person_id, again.to_json(), today=day)
    db.session.rollback()
    stranger = poll.cast(key, layout, (1,), label, random_scalar())
    with pytest.raises(RuleViolation, match="not one of this poll's"):
        e2e.cast_ballot(
            TIMER, election, contest, entries[-1].person_id, stranger.to_json(), today=day
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EncryptedBallot)) == len(RANKINGS)
    # Each ballot's row was kept when it was cast: the first shuffle's rows are what the pure
    # core computes from the cast ballots, and a ballot kept without its row (cast before
    # rows were kept) has it computed when read.
    stored = db.session.scalars(
        select(EncryptedBallot)
        .where(EncryptedBallot.poll_id == contest.poll_id)
        .order_by(EncryptedBallot.tracker)
    ).all()
    computed = poll.first_rows(layout, [poll.Cast.from_json(json.loads(b.content)) for b in stored])
    assert e2e.e2e.rows_to_shuffle(contest.poll_id, layout.candidates) == computed
    assert all(b.row for b in stored)
    kept, stored[0].row = stored[0].row, ""
    db.session.flush()
    assert e2e.e2e.rows_to_shuffle(contest.poll_id, layout.candidates) == computed
    db.session.rollback()
    assert db.session.get(EncryptedBallot, (contest.poll_id, stored[0].tracker)).row == kept
    tick(TIMER, GOOD.poll_closes_on + timedelta(days=1))
    db.session.commit()
    assert election.state == ElectionState.poll_closed

    # Each trustee shuffles with the offline command; then two open.
    runner = CliRunner()
    task_url = f"/institutions/{slug}/elections/{election.id}/trustees/task.json"
    emails = [officer.email, "s1@example.org", "s2@example.org"]

    def step(email: str, part: str, browser: Browser) -> None:
        login_as(email)
        task = tmp_path / "task.json"
        task.write_bytes(client.get(task_url).data)
        out = tmp_path / f"{part}-{browser.number}.json"
        if part == "shuffle":
            args = [
                "trustee",
                "shuffle",
                str(task),
                "--trustee",
                str(browser.number),
                "-o",
                str(out),
            ]
        else:
            keyfile = tmp_path / f"key-{browser.number}.json"
            keyfile.write_text(json.dumps(browser.key_file))
            args = ["trustee", "open", str(task), "--key", str(keyfile), "-o", str(out)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        with out.open("rb") as file:
            client.post(
                f"/institutions/{slug}/elections/{election.id}/trustees/{part}",
                data={"upload": (file, out.name)},
                content_type="multipart/form-data",
            )
        # Kept at once, checked in the background; the trustees' page then says how it went.
        assert wait_for_jobs()
        db.session.rollback()  # read what the check's thread wrote (the requests share it)

    step(emails[0], "shuffle", browsers[0])
    page = client.get(f"/institutions/{slug}/elections/{election.id}/trustees").get_data(True)
    assert "Your shuffle of every contest was checked and kept." in page
    # Opening before two have shuffled is refused (by the background check), and the page
    # says why.
    step(emails[0], "open", browsers[0])
    db.session.expire_all()
    assert e2e.e2e.openings_of(contest.poll_id) == []
    page = client.get(f"/institutions/{slug}/elections/{election.id}/trustees").get_data(True)
    assert "Your decryption shares file was not taken" in page
    assert "opened after 2 trustees have shuffled them; 1 have" in html.unescape(page)
    step(emails[1], "shuffle", browsers[1])
    # A shuffle whose output was changed is refused, and nothing is kept.
    login_as(emails[2])
    task = json.loads(client.get(task_url).data)
    rows = [[poll.Ciphertext.from_json(c) for c in row] for row in task["polls"][0]["rows"]]
    shuffled = poll.mix(key, rows, task["polls"][0]["label"], 3)
    tampered = shuffled.to_json()
    tampered["rows"][0], tampered["rows"][1] = tampered["rows"][1], tampered["rows"][0]
    with pytest.raises(RuleViolation, match="proof does not hold"):
        e2e.add_shuffles(
            db.session.get(User, ceremony.trustees[2].user_id),
            election,
            {"polls": [{"poll": contest.poll_id, "shuffle": tampered}]},
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Shuffle)) == 2
    # Proofs are checked before the lock, and kept only if the poll is as it was: trustee 2's
    # shares, checked against the rows of two shuffles, are refused once trustee 3's shuffle
    # has been kept meanwhile; a checked shuffle is not kept twice.
    second = db.session.get(User, ceremony.trustees[1].user_id)
    third = db.session.get(User, ceremony.trustees[2].user_id)
    secret = int.from_bytes(bytes.fromhex(browsers[1].key_file["secret"]), "little")
    shares = poll.open_rows(secret, 2, rows, label).to_json()
    checked_shares = e2e.check_openings(
        second, election, {"polls": [{"poll": contest.poll_id, "opening": shares}]}
    )
    checked_shuffle = e2e.check_shuffles(
        third, election, {"polls": [{"poll": contest.poll_id, "shuffle": shuffled.to_json()}]}
    )
    db.session.rollback()
    e2e.store_shuffles(third, election, checked_shuffle)
    db.session.commit()
    with pytest.raises(Conflict, match="shuffle was kept while your shares were checked"):
        e2e.store_openings(second, election, checked_shares)
    db.session.rollback()
    assert e2e.e2e.openings_of(contest.poll_id) == []
    with pytest.raises(Conflict, match="shuffled this poll already"):
        e2e.store_shuffles(third, election, checked_shuffle)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Shuffle)) == 3
    # Shares of which one was changed are refused, naming the row, and nothing is kept.
    rows = e2e.e2e.rows_to_shuffle(contest.poll_id, len(valid_candidates(contest)))
    secret = int.from_bytes(bytes.fromhex(browsers[1].key_file["secret"]), "little")
    opening = poll.open_rows(secret, 2, rows, label).to_json()
    opening["shares"][1][0] = opening["shares"][0][0]
    with pytest.raises(RuleViolation, match="row 2: a decryption share's proof does not hold"):
        e2e.add_openings(
            db.session.get(User, ceremony.trustees[1].user_id),
            election,
            {"polls": [{"poll": contest.poll_id, "opening": opening}]},
        )
    db.session.rollback()
    assert e2e.e2e.openings_of(contest.poll_id) == []
    step(emails[1], "open", browsers[1])
    step(emails[2], "open", browsers[2])
    db.session.expire_all()
    assert [o.trustee for o in e2e.e2e.openings_of(contest.poll_id)] == [2, 3]

    count_election(officer, election)
    db.session.commit()
    opened = db.session.scalars(
        select(Ballot.ranking).where(
            Ballot.poll_id == contest.poll_id, Ballot.channel == Channel.encrypted
        )
    ).all()
    assert sorted(json.loads(r) for r in opened) == sorted([ids[i] for i in r] for r in RANKINGS)
    countersign(election)
    row = get_record(election)
    assert row is not None
    record = published(row)
    report = verify_record(record)
    assert report.ok, [s for s in report.steps if not s.passed]
    step10 = report.step(10)
    assert step10.name == "End-to-end proofs" and step10.passed
    body = record.get("body", record)
    contest_body = next(c for c in body["contests"] if c["id"] == contest.id)
    assert len(contest_body["e2e"]["cast"]) == len(RANKINGS)
    # The record's section, built from the ballots as stored, is the pure core's own.
    assert contest_body["e2e"] == e2e.e2e.section_of(ceremony, contest.poll_id, ids).to_json(ids)
    assert len(contest_body["e2e"]["audited"]) == 1

    # Each voter's receipt finds their encrypted ballot in the record (step 8), and a tracker
    # of one says it is an encrypted ballot of this contest.
    for receipt in receipts:
        checked = verify_record(record, receipt=receipt.signed, tracker=receipt.tracker)
        assert checked.ok and checked.step(8).passed, checked.step(8).details
        assert any("encrypted ballot" in line for line in checked.step(8).details)
    # On the public /verify page, the voter's tracker finds their encrypted ballot.
    page = client.post(
        "/verify",
        data={
            "record": (io.BytesIO(json.dumps(record).encode()), "record.json"),
            "tracker": receipts[2].tracker.lower(),
        },
    ).get_data(as_text=True)
    found = page.split('id="tracker-result"', 1)[1]
    assert "encrypted as you cast it" in found and "Check that these are the choices" not in found
    assert "Every check passed" in page and "NOT RUN" not in page
    # Above the page's limit of encrypted ballots, step 10 is not run there, and the page
    # says so rather than that every check passed.
    app.config["VERIFY_PAGE_E2E_BALLOTS"] = len(RANKINGS) - 1
    page = html.unescape(
        client.post(
            "/verify",
            data={"record": (io.BytesIO(json.dumps(record).encode()), "record.json")},
        ).get_data(as_text=True)
    )
    verdict = page.split('id="verdict"', 1)[1].split("</div>", 1)[0]
    assert "Every check run here passed" in verdict and "step 10 (End-to-end proofs)" in verdict
    assert "Every check passed" not in page
    assert f"the record holds {len(RANKINGS)} encrypted ballots" in page
    assert "NOT RUN</strong> Step 10" in page
    # A record whose server swapped a cast ballot's signature (re-signed or not) no longer
    # holds the ballot the receipt names.
    swapped = json.loads(json.dumps(record))
    casts = next(c for c in swapped["body"]["contests"] if c["id"] == contest.id)["e2e"]["cast"]
    victim = next(c for c in casts if c["tracker"] == receipts[1].tracker)
    victim["signature"] = casts[0]["signature"] if casts[0] is not victim else casts[1]["signature"]
    failed = verify_record(swapped, receipt=receipts[1].signed)
    assert not failed.step(8).passed
    assert "holds a different ballot" in " ".join(failed.step(8).details)
