"""Assembly pages for anyone: the institution's assemblies and leaders, an assembly's page
(with the chair's controls for its officers and how to stand for members), the projector's
live screen, and the signed record once declared."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from assembly.assemblies.access import assembly_view, can_chair
from assembly.assemblies.count import vote_seed
from assembly.assemblies.e2e import closed_vote
from assembly.assemblies.e2e import problems as e2e_problems
from assembly.assemblies.forms import DecideForm
from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyCandidateStatus,
    Attendance,
    LeaderTerm,
    Vote,
    VoteKind,
    VoteState,
)
from assembly.assemblies.operations import (
    can_check_in,
    continuing_candidates,
    latest_notice_on,
    quorum_status,
    seed_commitment,
    vote_turnout,
)
from assembly.assemblies.queries import open_vote_of, valid_candidates, vote_candidates
from assembly.assemblies.record import assembly_record
from assembly.assemblies.views.blueprint import REFRESH_SECONDS, bp
from assembly.assemblies.views.members import member_person
from assembly.auth.forms import ConfirmForm
from assembly.auth.permissions import PUBLIC, can_manage, institution_view
from assembly.clock import today
from assembly.elections.charts import stage_chart
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.records.forms import CountersignForm
from assembly.records.models import Record
from assembly.records.operations import published
from assembly.records.record import document_text


@bp.route("/institutions/<slug>/assemblies")
@institution_view(PUBLIC)
def assemblies(institution: Institution) -> ResponseReturnValue:
    """Public: the institution's assemblies, their attendance and results, and its leaders."""
    rows = db.session.scalars(
        select(Assembly)
        .where(Assembly.institution_id == institution.id)
        .order_by(Assembly.held_on.desc(), Assembly.id.desc())
    ).all()
    present = dict(
        db.session.execute(
            select(Attendance.assembly_id, func.count())
            .join(Assembly, Assembly.id == Attendance.assembly_id)
            .where(Assembly.institution_id == institution.id)
            .group_by(Attendance.assembly_id)
        ).all()
    )
    terms = db.session.scalars(
        select(LeaderTerm)
        .where(LeaderTerm.institution_id == institution.id)
        .order_by(LeaderTerm.starts_on.desc())
    ).all()
    leaders = {
        c.id: c
        for c in db.session.scalars(
            select(AssemblyCandidate).where(
                AssemblyCandidate.id.in_(
                    [a.leader_candidate_id for a in rows if a.leader_candidate_id]
                )
            )
        )
    }
    return render_template(
        "assemblies/index.html",
        institution=institution,
        assemblies=rows,
        present=present,
        terms=terms,
        leaders=leaders,
        can_manage=current_user.is_authenticated and can_manage(current_user, institution),
    )


def vote_summary(vote: Vote) -> dict[str, Any]:
    """A counted vote for the pages: who was on it and the count, in plain rows."""
    names = {c.id: c.ballot_name for c in vote_candidates(vote)}
    result = json.loads(vote.result) if vote.result else None
    chart = (
        stage_chart(result, f"vote-{vote.number}-chart")
        if result and vote.kind != VoteKind.confirmation
        else None
    )
    return {
        "vote": vote,
        "names": names,
        "result": result,
        "turnout": vote_turnout(vote),
        "chart": chart,
    }


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>")
@assembly_view(PUBLIC)
def assembly_public(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Public: the assembly's date, venue, agenda, candidates once published, votes and
    result; the chair's controls for its officers; how to stand for members."""
    officer = can_chair(current_user, assembly)
    person = member_person(assembly.institution)
    mine = (
        next((c for c in assembly.candidates if c.person_id == person.id), None) if person else None
    )
    return render_template(
        "assemblies/assembly.html",
        institution=assembly.institution,
        assembly=assembly,
        officer=officer,
        teller=current_user.is_authenticated and can_check_in(current_user, assembly),
        person=person,
        mine=mine,
        candidates=valid_candidates(assembly),
        continuing=continuing_candidates(assembly),
        applications=[c for c in assembly.candidates if c.status != AssemblyCandidateStatus.invited]
        if officer
        else [],
        quorum=quorum_status(assembly),
        open_vote=open_vote_of(assembly),
        waiting_vote=closed_vote(assembly),
        e2e_problems=e2e_problems(assembly) if officer else [],
        votes=[vote_summary(v) for v in assembly.votes if v.state == VoteState.counted],
        seed_sha256=seed_commitment(assembly),
        form=ConfirmForm(),
        decide_form=DecideForm(formdata=None),
        today=today(),
        notice_by=latest_notice_on(assembly.held_on, assembly.notice_days),
        record=assembly_record(assembly),
        countersign_form=CountersignForm(formdata=None),
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/screen")
@assembly_view(PUBLIC)
def screen(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Public, for the projector: attendance per constituency, quorum, the vote's progress,
    and the declared result with its count. It reloads itself."""
    current = open_vote_of(assembly)
    leader = (
        db.session.get(AssemblyCandidate, assembly.leader_candidate_id)
        if assembly.leader_candidate_id
        else None
    )
    return render_template(
        "assemblies/screen.html",
        institution=assembly.institution,
        assembly=assembly,
        quorum=quorum_status(assembly),
        open_vote=current,
        waiting_vote=closed_vote(assembly),
        turnout=vote_turnout(current) if current is not None else 0,
        votes=[vote_summary(v) for v in assembly.votes if v.state == VoteState.counted],
        leader=leader,
        seed_sha256=seed_commitment(assembly),
        refresh=REFRESH_SECONDS,
        vote_seed=vote_seed,
    )


def record_row(assembly: Assembly) -> Record:
    """The assembly's record, or 404 before there is one."""
    row = assembly_record(assembly)
    if row is None:
        abort(404)
    return row


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/record.json")
@assembly_view(PUBLIC)
def record_json(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Public once declared: the assembly's signed record, for ``assembly verify``."""
    document = published(record_row(assembly))
    text = document_text(document)
    name = f"record-{assembly.institution.slug}-assembly-{assembly.id}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
