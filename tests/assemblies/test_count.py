"""Votes in the room counted and declared: IRV, exhaustive rounds, a confirmation carried or
rejected, constituency weighting in exact fractions; the leader's term and next year's
assembly follow a declaration."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidateStatus,
    AssemblyOutcome,
    Attendance,
    LeaderTerm,
    VoteKind,
)
from assembly.assemblies.operations import (
    cast_assembly_vote,
    close_vote,
    declare_assembly,
    open_vote,
    send_notice,
)
from assembly.assemblies.queries import open_vote_of
from assembly.assemblies.record import (
    assembly_record,
    countersign_assembly_record,
)
from assembly.assemblies.states import AssemblyState
from assembly.errors import InvalidTransition
from assembly.extensions import db
from assembly.notices.delivery import render_pending
from assembly.notices.models import OutboxMessage
from assembly.records import operations as record_operations
from assembly.records.operations import published
from assembly.records.record import signature_file
from assembly.records.verify import verify_record
from tests.assemblies.helpers import HELD_ON, Room, make_room
from tests.elections.polls import OFFICER_KEY


def _vote_all(room: Room, ballots: dict[str, list[list[int] | str]]) -> None:
    """Everyone named votes in the open vote: ``ballots[key][i]`` is the i-th member of
    constituency ``key``'s ranking (candidate indexes) or confirmation choice."""
    vote = open_vote_of(room.assembly)
    assert vote is not None
    for key, papers in ballots.items():
        for membership, paper in zip(room.members[key], papers, strict=False):
            attendance = db.session.scalars(
                select(Attendance).where(
                    Attendance.assembly_id == room.assembly.id,
                    Attendance.person_id == membership.person_id,
                )
            ).one()
            if isinstance(paper, str):
                cast_assembly_vote(attendance, vote, choice=paper, day=HELD_ON)
            else:
                ids = [room.candidates[i].id for i in paper]
                cast_assembly_vote(attendance, vote, ranking=ids, day=HELD_ON)
    db.session.commit()


def _verified(room: Room) -> dict[str, object]:
    """The declared assembly's record, countersigned by the returning officer with their own
    key, passing every step of the verifier; returns the record."""
    row = assembly_record(room.assembly)
    assert row is not None
    countersign_assembly_record(
        room.officer,
        room.assembly,
        signature_file("returning_officer", row.body_sha256, OFFICER_KEY),
    )
    db.session.commit()
    record = published(row)
    report = verify_record(record, fingerprints=[row_fingerprint(room)])
    assert report.ok, [(s.number, s.details) for s in report.steps if not s.passed]
    return record


def row_fingerprint(room: Room) -> str:
    from assembly.records.models import SigningKey

    key = db.session.get(SigningKey, room.assembly.signing_key_id)
    assert key is not None
    return key.fingerprint


def _check_in_all(room: Room) -> None:
    for membership in room.everyone():
        room.check_in(membership)


def test_irv_elects_and_the_term_and_next_assembly_follow(app: Flask) -> None:
    """Four prefer candidate 0, three candidate 1, two candidate 2 whose second choice is 1:
    candidate 2 is excluded and 1 wins 5 to 4. The declaration starts a 12-month term the
    next day and schedules next year's assembly."""
    room = make_room("irv-school", standing=3)
    _check_in_all(room)
    open_vote(room.secretary, room.assembly)
    db.session.commit()
    _vote_all(
        room,
        {
            "workers": [[0], [0], [0]],
            "users": [[0, 2], [1], [1]],
            "community": [[1, 0], [2, 1], [2, 1]],
        },
    )
    vote = open_vote_of(room.assembly)
    assert vote is not None
    result = close_vote(room.secretary, vote)
    db.session.commit()
    winner = room.candidates[1]
    assert vote.kind == VoteKind.irv and vote.elected_id == winner.id
    assert len(result["stages"]) == 2
    assert result["stages"][0]["totals"] == {
        f"c{room.candidates[0].id}": 4,
        f"c{winner.id}": 3,
        f"c{room.candidates[2].id}": 2,
    }
    # As in a fresh server process, the election key is not unlocked yet when the record is
    # signed: unlocking it reads the database, which must not flush a half-made record.
    record_operations._UNLOCKED.clear()
    following = declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    assert room.assembly.state == AssemblyState.declared
    assert room.assembly.outcome == AssemblyOutcome.elected
    term = db.session.scalars(select(LeaderTerm)).one()
    assert term.person_id == winner.person_id
    assert (term.starts_on, term.ends_on) == (date(2027, 5, 24), date(2028, 5, 23))
    assert following is not None and following.held_on == date(2028, 5, 23)
    assert following.state == AssemblyState.scheduled
    record = _verified(room)
    body = record["body"]
    assert body["assembly"]["result"]["leader"] == {
        "candidate": winner.id,
        "name": winner.ballot_name,
    }
    assert body["contests"][0]["roll"]["voters"] == 9
    # Next year the new leader is invited to stand again, and their notice says so; the
    # notices render with each member's pass.
    send_notice(room.secretary, following, following.held_on - timedelta(days=20))
    db.session.commit()
    assert [(c.person_id, c.status, c.is_incumbent) for c in following.candidates] == [
        (winner.person_id, AssemblyCandidateStatus.invited, True)
    ]
    notices = {
        m.to_address: m
        for m in db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.context.like(f'%"assembly_id": {following.id},%')
            )
        )
    }
    theirs, other = notices[winner.person.email], notices[room.members["users"][0].person.email]
    assert render_pending(theirs) and render_pending(other)
    assert "invited to stand again" in theirs.body_text
    assert "invited to stand again" not in other.body_text
    assert "/pass/" in other.body_text and "data:image/png;base64," in other.body_html


def test_exhaustive_rounds_exclude_the_lowest_until_a_majority(app: Flask) -> None:
    """Round 1: 4–3–2, no majority, the lowest excluded; round 2 on the two left: 5–4."""
    room = make_room("rounds-school", standing=3, method="rounds")
    _check_in_all(room)
    first = open_vote(room.secretary, room.assembly)
    db.session.commit()
    _vote_all(
        room,
        {"workers": [[0], [0], [0]], "users": [[0], [1], [1]], "community": [[1], [2], [2]]},
    )
    close_vote(room.secretary, first)
    db.session.commit()
    assert first.kind == VoteKind.round and first.elected_id is None
    assert first.excluded_id == room.candidates[2].id
    with pytest.raises(InvalidTransition, match="No candidate has won yet"):
        declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.rollback()
    second = open_vote(room.secretary, room.assembly)
    db.session.commit()
    assert json.loads(second.candidate_ids) == [room.candidates[0].id, room.candidates[1].id]
    _vote_all(
        room,
        {"workers": [[0], [0], [0]], "users": [[0], [1], [1]], "community": [[1], [1], [1]]},
    )
    close_vote(room.secretary, second)
    db.session.commit()
    assert second.elected_id == room.candidates[1].id
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    record = _verified(room)
    assert [c["method"] for c in record["body"]["contests"]] == ["round", "round"]


def test_a_single_candidate_can_be_rejected(app: Flask) -> None:
    """One candidate: a confirmation vote; more no than yes and nobody is elected, no term
    starts and no assembly is scheduled; the secretary can reconvene."""
    room = make_room("reject-school", standing=1)
    _check_in_all(room)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    assert vote.kind == VoteKind.confirmation
    _vote_all(
        room,
        {
            "workers": ["yes", "no", "no"],
            "users": ["no", "abstain", "yes"],
            "community": ["no", "no", "abstain"],
        },
    )
    result = close_vote(room.secretary, vote)
    db.session.commit()
    assert (result["yes"], result["no"], result["abstain"], result["carried"]) == (2, 5, 2, False)
    with pytest.raises(InvalidTransition, match="decided"):
        open_vote(room.secretary, room.assembly)
    db.session.rollback()
    following = declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    assert following is None
    assert room.assembly.outcome == AssemblyOutcome.not_confirmed
    assert db.session.scalars(select(LeaderTerm)).first() is None
    assert db.session.scalars(select(Assembly)).all() == [room.assembly]
    record = _verified(room)
    assert record["body"]["assembly"]["result"]["outcome"] == "not-confirmed"


def test_weighting_gives_each_constituency_its_share_exactly(app: Flask) -> None:
    """Weights 1/3 each. Workers 3 yes 1 no, service users 0 yes 2 no, community 1 yes:
    yes = 1/3·3/4 + 0 + 1/3·1 = 7/12, no = 1/3·1/4 + 1/3·1 = 5/12: carried, though a
    head count (4 yes, 3 no) would say the same by another margin."""
    room = make_room("weighted-school", standing=1, per_constituency=4, weighting=True)
    _check_in_all(room)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    _vote_all(
        room,
        {"workers": ["yes", "yes", "yes", "no"], "users": ["no", "no"], "community": ["yes"]},
    )
    result = close_vote(room.secretary, vote)
    db.session.commit()
    assert (result["yes"], result["no"]) == ("7/12", "5/12")
    assert result["carried"] is True and vote.elected_id == room.candidates[0].id
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    record = _verified(room)
    weighting = record["body"]["contests"][0]["weighting"]["constituencies"]
    assert [w["weight"] for w in weighting] == ["1/3", "1/3", "1/3"]


def test_weighting_can_overturn_a_head_count(app: Flask) -> None:
    """Five workers say yes, one service user and one community member say no: 5 to 2 by
    heads, but by shares yes = 1/3 and no = 2/3, so the candidate is not confirmed."""
    room = make_room("overturn-school", standing=1, per_constituency=5, weighting=True)
    _check_in_all(room)
    vote = open_vote(room.secretary, room.assembly)
    db.session.commit()
    _vote_all(room, {"workers": ["yes"] * 5, "users": ["no"], "community": ["no"]})
    result = close_vote(room.secretary, vote)
    db.session.commit()
    assert (result["yes"], result["no"], result["carried"]) == ("1/3", "2/3", False)


def test_nobody_standing_is_declared_as_such(app: Flask) -> None:
    room = make_room("empty-school", standing=0)
    with pytest.raises(InvalidTransition, match="Nobody stands"):
        open_vote(room.secretary, room.assembly)
    db.session.rollback()
    declare_assembly(room.secretary, room.assembly, HELD_ON)
    db.session.commit()
    assert room.assembly.outcome == AssemblyOutcome.no_candidates
