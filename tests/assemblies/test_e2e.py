"""An assembly whose votes are end-to-end verifiable, step by step through its operations:
the trustees' ceremony and the voting cards before the doors open; encrypted ballots on the
phones, each signed with a card of the member's constituency, beside plain ones; the vote
closed and waiting; the trustees' shuffles and openings; the count, weighted by
constituency; and a record whose every step verifies, with tampered copies caught at
step 10. A confirmation vote's yes/no/abstain are encrypted the same way."""

from __future__ import annotations

import copy
import html
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.assemblies import e2e
from assembly.assemblies.models import (
    Assembly,
    AssemblyCard,
    Attendance,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations import (
    cast_assembly_vote,
    close_vote,
    count_closed_vote,
    declare_assembly,
    open_assembly,
    open_vote,
)
from assembly.assemblies.record import assembly_record, countersign_assembly_record
from assembly.auth.models import User
from assembly.crypto import ballot as ballots
from assembly.crypto import poll
from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import G, Point, random_scalar
from assembly.e2e.models import EncryptedBallot
from assembly.errors import Conflict, InvalidTransition, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency
from assembly.polls.casting import AlreadyVoted
from assembly.polls.models import Ballot, Channel
from assembly.records.operations import published
from assembly.records.record import signature_file
from assembly.records.verify import verify_record
from tests.assemblies.helpers import HELD_ON, KEYS, Room, make_room, run_ceremony
from tests.assemblies.test_count import row_fingerprint
from tests.elections.polls import OFFICER_KEY
from tests.records.test_verify import RECORD, resign
from tests.records.test_verify_assembly import recounted

SCRUTINEERS = ["s1@example.org", "s2@example.org"]
EXAMPLE_KEYS = RECORD["body"]["keys"]


def _ceremony(room: Room, threshold: int = 2) -> list[int]:
    return run_ceremony(room.officer, room.assembly, SCRUTINEERS, threshold)


def _cards(room: Room, per: int) -> dict[str, list[str]]:
    """The officer's browser makes ``per`` cards for each constituency; their codes."""
    codes: dict[str, list[str]] = {}
    for key in KEYS:
        constituency = db.session.scalars(
            select(Constituency).where(
                Constituency.institution_id == room.institution.id, Constituency.key == key
            )
        ).one()
        codes[key] = [ballots.new_credential_code() for _ in range(per)]
        publics = [(G * ballots.credential_secret(c)).hex() for c in codes[key]]
        assert e2e.publish_cards(room.officer, room.assembly, constituency, publics) == per
    db.session.commit()
    return codes


def _attendance(room: Room, key: str, i: int) -> Attendance:
    return db.session.scalars(
        select(Attendance).where(
            Attendance.assembly_id == room.assembly.id,
            Attendance.person_id == room.members[key][i].person_id,
        )
    ).one()


def _encrypted(vote: Vote, code: str, ranking: tuple[int, ...]) -> dict[str, Any]:
    ceremony = vote.assembly.ceremony
    assert ceremony is not None
    layout = ballots.Layout(len(e2e.candidate_ids(vote)))
    return poll.cast(
        Point.from_hex(ceremony.election_key),
        layout,
        ranking,
        e2e.vote_label(vote.assembly, vote),
        ballots.credential_secret(code),
    ).to_json()


def _trustees_open(room: Room, vote: Vote, secrets: list[int], by: tuple[int, ...]) -> None:
    """Trustees ``by`` each shuffle the task's rows; the first ``threshold`` open them."""
    ceremony = room.assembly.ceremony
    assert ceremony is not None
    key = Point.from_hex(ceremony.election_key)
    users = {t.number: db.session.get(User, t.user_id) for t in ceremony.trustees}
    for number in by:
        task = e2e.task(vote)["polls"][0]
        rows = [[Ciphertext.from_json(c) for c in row] for row in task["rows"]]
        shuffled = poll.mix(key, rows, task["label"], number)
        e2e.add_shuffle(
            users[number], vote, {"polls": [{"poll": vote.poll_id, "shuffle": shuffled.to_json()}]}
        )
        db.session.commit()
    for number in by[: ceremony.threshold]:
        task = e2e.task(vote)["polls"][0]
        rows = [[Ciphertext.from_json(c) for c in row] for row in task["rows"]]
        opening = poll.open_rows(secrets[number - 1], number, rows, task["label"])
        e2e.add_opening(
            users[number], vote, {"polls": [{"poll": vote.poll_id, "opening": opening.to_json()}]}
        )
        db.session.commit()


def _record(room: Room) -> dict[str, Any]:
    row = assembly_record(room.assembly)
    assert row is not None
    countersign_assembly_record(
        room.officer,
        room.assembly,
        signature_file("returning_officer", row.body_sha256, OFFICER_KEY),
    )
    db.session.commit()
    return published(row)


def _e2e_room(slug: str, **rules: Any) -> Room:
    room = make_room(slug, open_it=False, **rules)
    room.assembly.e2e = True
    db.session.commit()
    return room


def test_a_weighted_assembly_vote_end_to_end(app: Flask) -> None:
    room = _e2e_room("e2e-hall", weighting=True, per_constituency=3, standing=2)
    assembly: Assembly = room.assembly
    # Until the trustees' key and the cards exist, the doors do not open.
    with pytest.raises(InvalidTransition, match="not named the trustees"):
        open_assembly(room.secretary, assembly, HELD_ON)
    db.session.rollback()
    secrets = _ceremony(room)
    with pytest.raises(InvalidTransition, match="No voting cards"):
        open_assembly(room.secretary, assembly, HELD_ON)
    db.session.rollback()
    codes = _cards(room, per=4)
    # A batch that repeats a published card changes nothing.
    community = next(c for c in room.institution.constituencies if c.key == "community")
    again = [(G * ballots.credential_secret(codes["community"][0])).hex()]
    with pytest.raises(Conflict, match="published already"):
        e2e.publish_cards(room.officer, assembly, community, again)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AssemblyCard)) == 12
    open_assembly(room.secretary, assembly, HELD_ON)
    db.session.commit()
    for membership in room.everyone():
        room.check_in(membership)
    vote = open_vote(room.secretary, assembly)
    db.session.commit()
    assert vote.kind == VoteKind.irv and e2e.is_encrypted(vote)

    # Two workers and a service user vote for candidate 0; the community for candidate 1.
    plan = {
        ("workers", 0): (0, 1),
        ("workers", 1): (0,),
        ("users", 0): (0, 1),
        ("community", 0): (1, 0),
        ("community", 1): (1,),
    }
    # A member who audits an encryption first: it opens to their choices, never counted.
    ids = e2e.candidate_ids(vote)
    ceremony = assembly.ceremony
    assert ceremony is not None
    layout = ballots.Layout(len(ids))
    audited = poll.audit(
        Point.from_hex(ceremony.election_key),
        layout,
        (1,),
        e2e.vote_label(assembly, vote),
        G * ballots.credential_secret(codes["workers"][0]),
    )
    assert e2e.audit_ballot(vote, audited.to_json(ids)).ranking == (1,)
    db.session.commit()
    trackers = []
    for (key, i), ranking in plan.items():
        tracker = e2e.cast_ballot(
            _attendance(room, key, i), vote, _encrypted(vote, codes[key][i], ranking), day=HELD_ON
        )
        trackers.append(tracker)
        db.session.commit()
    # A worker with a community card, a reused card, and a second vote are each refused.
    with pytest.raises(RuleViolation, match="another constituency's"):
        e2e.cast_ballot(
            _attendance(room, "workers", 2),
            vote,
            _encrypted(vote, codes["community"][3], (0,)),
            day=HELD_ON,
        )
    db.session.rollback()
    with pytest.raises(Conflict, match="already"):
        e2e.cast_ballot(
            _attendance(room, "workers", 2),
            vote,
            _encrypted(vote, codes["workers"][0], (0,)),
            day=HELD_ON,
        )
    db.session.rollback()
    with pytest.raises(AlreadyVoted):
        e2e.cast_ballot(
            _attendance(room, "workers", 0),
            vote,
            _encrypted(vote, codes["workers"][3], (0,)),
            day=HELD_ON,
        )
    db.session.rollback()
    # Without the script, a member still votes in today's mode.
    candidates = room.candidates
    cast_assembly_vote(
        _attendance(room, "community", 2), vote, ranking=[candidates[1].id], day=HELD_ON
    )
    db.session.commit()

    # Closing leaves the vote waiting for its trustees: nothing else moves until it is counted.
    assert close_vote(room.secretary, vote) is None
    db.session.commit()
    assert vote.state == VoteState.closed
    with pytest.raises(InvalidTransition, match="waits for the trustees"):
        open_vote(room.secretary, assembly)
    db.session.rollback()
    with pytest.raises(InvalidTransition, match="0 of the 2 trustees needed have opened"):
        count_closed_vote(room.secretary, vote, day=HELD_ON)
    db.session.rollback()
    _trustees_open(room, vote, secrets, by=(2, 3))
    result = count_closed_vote(room.secretary, vote, day=HELD_ON)
    db.session.commit()
    assert vote.state == VoteState.counted and result

    opened = db.session.execute(
        select(Ballot.constituency, Ballot.ranking).where(
            Ballot.poll_id == vote.poll_id, Ballot.channel == Channel.encrypted
        )
    ).all()
    # Every opened ranking keeps its voter's constituency through the shuffles.
    assert sorted((k, json.loads(r)) for k, r in opened) == sorted(
        (key, [candidates[i].id for i in ranking]) for (key, _), ranking in plan.items()
    )
    # Weighted, each constituency a third: workers and users for 0 (2/3), community for 1.
    assert vote.elected_id == candidates[0].id

    declare_assembly(room.secretary, assembly, HELD_ON)
    db.session.commit()
    record = _record(room)
    report = verify_record(record, fingerprints=[row_fingerprint(room)])
    assert report.ok, [(s.number, s.details) for s in report.steps if not s.passed]
    assert report.step(10).passed and report.step(10).name == "End-to-end proofs"
    contest = record["body"]["contests"][0]
    section = contest["e2e"]
    assert section["cards"] is True
    assert [g["key"] for g in section["groups"]] == sorted(KEYS)
    assert sorted(c["tracker"] for c in section["cast"]) == sorted(trackers)
    assert len(section["audited"]) == 1
    # The record's section is the pure core's own.
    assert section == e2e.e2e.section_of(ceremony, vote.poll_id, ids, cards=True).to_json(ids)

    # Tampered copies fail step 10, naming the part: an opened ballot moved to another
    # constituency, and a decryption share changed.
    moved = copy.deepcopy(record["body"])
    # A worker's ballot counted as a service user's: the round still elects candidate 0
    # (both constituencies are all for 0), so only step 10 can see it.
    item = next(
        i
        for i in moved["contests"][0]["ballots"]["items"]
        if i["channel"] == "encrypted" and i["constituency"] == "workers"
    )
    item["constituency"] = "users"
    _fails_step_10(moved, "opened rows")
    shares = copy.deepcopy(record["body"])
    decryption = shares["contests"][0]["e2e"]["decryption"][0]
    decryption["shares"][0][0] = decryption["shares"][1][0]
    _fails_step_10(shares, "decryption")


def _fails_step_10(body: dict[str, Any], part: str) -> None:
    """The changed body, its ballots' root and count made again and signed again: only
    step 10 can fail, and it names ``part``."""
    for contest in body["contests"]:
        recounted(contest)
    body["keys"] = copy.deepcopy(EXAMPLE_KEYS)  # the keys resign() signs with
    report = verify_record(resign({"body": body}))
    failing = [s.number for s in report.steps if not s.passed]
    assert failing == [10], [(s.number, s.details) for s in report.steps if not s.passed]
    assert any(part in line for line in report.step(10).details), report.step(10).details


def test_a_confirmation_encrypts_yes_no_or_abstain(app: Flask) -> None:
    """One candidate: the room says yes, no or abstain, encrypted as a choice among the
    three words; unweighted, so the cards carry no constituency into the count."""
    room = _e2e_room("e2e-yes", per_constituency=2, standing=1)
    secrets = _ceremony(room, threshold=1)
    codes = _cards(room, per=2)
    open_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    for membership in room.everyone():
        room.check_in(membership)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    assert vote.kind == VoteKind.confirmation
    assert e2e.candidate_ids(vote) == ["yes", "no", "abstain"]
    choices = {("workers", 0): 0, ("workers", 1): 0, ("users", 0): 1, ("community", 0): 2}
    for (key, i), choice in choices.items():
        e2e.cast_ballot(
            _attendance(room, key, i), vote, _encrypted(vote, codes[key][i], (choice,)), day=HELD_ON
        )
        db.session.commit()
    assert close_vote(room.secretary, vote) is None
    db.session.commit()
    _trustees_open(room, vote, secrets, by=(1,))
    count_closed_vote(room.secretary, vote, day=HELD_ON)
    db.session.commit()
    stored = db.session.scalars(
        select(Ballot.choice).where(
            Ballot.poll_id == vote.poll_id, Ballot.channel == Channel.encrypted
        )
    ).all()
    assert sorted(stored) == ["abstain", "no", "yes", "yes"]
    assert vote.elected_id == room.candidates[0].id
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    record = _record(room)
    report = verify_record(record, fingerprints=[row_fingerprint(room)])
    assert report.ok, [(s.number, s.details) for s in report.steps if not s.passed]
    assert "groups" not in record["body"]["contests"][0]["e2e"]
    # A "no" counted as a "yes" is caught.
    changed = copy.deepcopy(record["body"])
    item = next(i for i in changed["contests"][0]["ballots"]["items"] if i.get("choice") == "no")
    item["choice"] = "yes"
    _fails_step_10(changed, "opened rows")
    assert db.session.scalar(select(func.count()).select_from(EncryptedBallot)) == 4


def test_cards_are_checked_and_a_refused_batch_keeps_nothing(app: Flask) -> None:
    room = _e2e_room("e2e-cards")
    workers = next(c for c in room.institution.constituencies if c.key == "workers")
    good = [(G * random_scalar()).hex() for _ in range(3)]
    refusals = [
        ([*good, "zz"], RuleViolation, "card"),
        ([*good, good[0]], RuleViolation, "listed twice"),
        ([], RuleViolation, "A batch holds 1 to"),
    ]
    for batch, error, message in refusals:
        with pytest.raises(error, match=message):
            e2e.publish_cards(room.officer, room.assembly, workers, batch)
        db.session.rollback()
    with pytest.raises(Exception, match="returning officer"):
        e2e.publish_cards(room.secretary, room.assembly, workers, good)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AssemblyCard)) == 0
    assert e2e.publish_cards(room.officer, room.assembly, workers, good) == 3
    db.session.commit()
    assert e2e.cards_of(room.assembly) == {"workers": 3}


def test_an_assembly_not_so_scheduled_has_no_trustees(app: Flask) -> None:
    room = make_room("plain-hall", open_it=False)
    with pytest.raises(InvalidTransition, match="not end-to-end verifiable"):
        e2e.appoint(room.officer, room.assembly, SCRUTINEERS, 2)
    db.session.rollback()
    assert room.assembly.ceremony_id is None and e2e.problems(room.assembly) == []


def test_scheduling_end_to_end_needs_a_returning_officer(app: Flask) -> None:
    from assembly.assemblies.operations import schedule_assembly
    from assembly.auth.models import Role
    from tests.assemblies.helpers import SCHEDULED_ON
    from tests.conftest import grant, make_institution, make_user

    institution = make_institution(slug="e2e-sched", name="E2E Sched")
    secretary = make_user("sec@e2e-sched.org")
    grant(secretary, institution, Role.secretary)
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Assembly))
    with pytest.raises(RuleViolation, match="Choose the returning officer"):
        schedule_assembly(
            secretary,
            institution,
            title="",
            held_on=HELD_ON,
            starts_at="18:30",
            venue="Hall",
            agenda="",
            returning_officer_id=None,
            today=SCHEDULED_ON,
            e2e=True,
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Assembly)) == before


def test_a_vote_may_be_held_in_todays_mode_at_an_end_to_end_assembly(
    app: Flask, client: Any, login_as: Any
) -> None:
    """If the trustees cannot stay, the chair opens the vote in today's mode: its phone
    ballots are not encrypted, it is counted at once, and its record has no e2e section."""
    room = _e2e_room("e2e-plain", per_constituency=2, standing=2)
    _ceremony(room)
    codes = _cards(room, per=2)
    open_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    for membership in room.everyone():
        room.check_in(membership)
    login_as(room.secretary.email)
    base = f"/institutions/{room.institution.slug}/assemblies/{room.assembly.id}"
    page = client.get(base).get_data(as_text=True)
    assert "Open it in today&#39;s mode (not encrypted)" in page
    assert client.post(f"{base}/votes", data={"mode": "plain"}).status_code == 302
    vote = db.session.scalars(select(Vote).where(Vote.assembly_id == room.assembly.id)).one()
    assert vote.e2e is False and not e2e.is_encrypted(vote)
    with pytest.raises(InvalidTransition, match="not encrypted"):
        e2e.check_ballot(vote, _encrypted_for(room, vote, codes["workers"][0]))
    for key in KEYS:
        cast_assembly_vote(
            _attendance(room, key, 0), vote, ranking=[room.candidates[0].id], day=HELD_ON
        )
    db.session.commit()
    assert close_vote(room.secretary, vote) is not None  # counted at once
    db.session.commit()
    assert vote.state == VoteState.counted
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    record = _record(room)
    assert "e2e" not in record["body"]["contests"][0]
    assert verify_record(record, fingerprints=[row_fingerprint(room)]).ok


def _encrypted_for(room: Room, vote: Vote, code: str) -> dict[str, Any]:
    """A well-made encrypted ballot for a vote that takes none (under the assembly's key)."""
    ceremony = room.assembly.ceremony
    assert ceremony is not None
    return poll.cast(
        Point.from_hex(ceremony.election_key),
        ballots.Layout(len(e2e.candidate_ids(vote))),
        (0,),
        f"{ceremony.label}/poll/{vote.poll_id}",
        ballots.credential_secret(code),
    ).to_json()


def _trustees_page(client: FlaskClient, room: Room) -> str:
    url = f"/institutions/{room.institution.slug}/assemblies/{room.assembly.id}/trustees"
    return html.unescape(client.get(url).get_data(as_text=True))


def _upload(client: FlaskClient, room: Room, part: str, document: dict[str, Any]) -> str:
    """Post a trustee's file to the assembly's trustees' page; the page it led to."""
    response = client.post(
        f"/institutions/{room.institution.slug}/assemblies/{room.assembly.id}/trustees/{part}",
        data={"upload": (io.BytesIO(json.dumps(document).encode()), f"{part}.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_trustees_uploads_are_checked_in_the_background(
    app: Flask, client: FlaskClient, login_as: Any
) -> None:
    """A trustee's file is kept at once and its proofs checked in a thread; the trustees'
    page says it is being checked (and refreshes itself), takes no second file meanwhile,
    then says it was kept or why not. A refusal keeps nothing, and each outcome is audited;
    a check that stopped with its process is said to have stopped after ``STALE_AFTER``."""
    from assembly.audit.models import AuditEvent
    from assembly.e2e import uploads
    from assembly.e2e.models import Opening, Shuffle, TrusteeUpload
    from assembly.membership.jobs import wait_for_jobs

    room = _e2e_room("e2e-uploads", per_constituency=2, standing=1)
    secrets = _ceremony(room, threshold=1)
    codes = _cards(room, per=2)
    open_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    for membership in room.everyone():
        room.check_in(membership)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    e2e.cast_ballot(
        _attendance(room, "workers", 0),
        vote,
        _encrypted(vote, codes["workers"][0], (0,)),
        day=HELD_ON,
    )
    db.session.commit()
    assert close_vote(room.secretary, vote) is None
    db.session.commit()
    ceremony = room.assembly.ceremony
    assert ceremony is not None
    key = Point.from_hex(ceremony.election_key)
    login_as(room.officer.email)  # trustee 1
    task = e2e.task(vote)["polls"][0]
    rows = [[Ciphertext.from_json(c) for c in row] for row in task["rows"]]
    shuffled = poll.mix(key, rows, task["label"], 1).to_json()

    # A shuffle whose proof was changed: taken, then refused by the check; nothing kept.
    tampered = copy.deepcopy(shuffled)
    tampered["proof"]["s1"] = shuffled["proof"]["s2"]
    page = _upload(
        client, room, "shuffle", {"polls": [{"poll": vote.poll_id, "shuffle": tampered}]}
    )
    assert "Your shuffle file is being checked" in page
    assert wait_for_jobs()
    db.session.rollback()
    page = _trustees_page(client, room)
    assert "Your shuffle file was not taken" in page and "proof does not hold" in page
    assert db.session.scalar(select(func.count()).select_from(Shuffle)) == 0
    refused = db.session.scalars(select(TrusteeUpload)).one()
    assert (refused.state, refused.content) == ("refused", "")

    # While a file is being checked the page says so, refreshes itself, and takes no other.
    checking = TrusteeUpload(
        trustee_id=ceremony.trustees[0].id, part="shuffle", state="checking", content="{}"
    )
    db.session.add(checking)
    db.session.commit()
    page = _trustees_page(client, room)
    assert "Checking your shuffle file" in page and 'data-live="3"' in page
    assert "Upload your shuffle" not in page
    page = _upload(
        client, room, "shuffle", {"polls": [{"poll": vote.poll_id, "shuffle": shuffled}]}
    )
    assert "still being checked" in page
    assert db.session.scalar(select(func.count()).select_from(TrusteeUpload)) == 2
    # A check left "checking" by a process that stopped: after STALE_AFTER the page says so
    # and takes the file again.
    checking.uploaded_at = checking.uploaded_at - timedelta(seconds=uploads.STALE_AFTER + 1)
    db.session.commit()
    page = _trustees_page(client, room)
    assert "stopped before it finished" in page and "data-live" not in page

    # The good shuffle, then the shares: each kept by the check, and the page says so.
    page = _upload(
        client, room, "shuffle", {"polls": [{"poll": vote.poll_id, "shuffle": shuffled}]}
    )
    assert "being checked" in page
    assert wait_for_jobs()
    db.session.rollback()
    page = _trustees_page(client, room)
    assert f"Your shuffle of vote {vote.number} was checked and kept." in page
    assert db.session.scalar(select(func.count()).select_from(Shuffle)) == 1
    task = e2e.task(vote)["polls"][0]
    rows = [[Ciphertext.from_json(c) for c in row] for row in task["rows"]]
    opening = poll.open_rows(secrets[0], 1, rows, task["label"]).to_json()
    _upload(client, room, "open", {"polls": [{"poll": vote.poll_id, "opening": opening}]})
    assert wait_for_jobs()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Opening)) == 1
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("e2e.%")).order_by(AuditEvent.seq)
    ).all()
    assert actions[-6:] == [
        "e2e.upload_received",
        "e2e.upload_refused",
        "e2e.upload_received",
        "e2e.shuffled",
        "e2e.upload_received",
        "e2e.opened",
    ]
    count_closed_vote(room.secretary, vote, day=HELD_ON)
    db.session.commit()
    assert vote.state == VoteState.counted
