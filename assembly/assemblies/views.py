"""Assembly pages: history and rules, scheduling and the assembly's own page (notice,
candidates, controls for the chair), the teller's check-in, the member's pass, phone voting
and the projector's live screen."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from assembly.assemblies.count import vote_seed
from assembly.assemblies.forms import (
    METHOD_LABELS,
    ApplyForm,
    CheckInSearchForm,
    DecideForm,
    PaperBatchForm,
    RulesForm,
    ScheduleForm,
)
from assembly.assemblies.models import (
    Assembly,
    AssemblyCandidate,
    AssemblyCandidateStatus,
    Attendance,
    LeaderTerm,
    Vote,
    VoteKind,
    VoteMark,
    VoteState,
)
from assembly.assemblies.notices import pass_qr_svg, pass_url, read_pass
from assembly.assemblies.operations import (
    AlreadyCheckedIn,
    apply_to_stand,
    can_check_in,
    cast_assembly_vote,
    check_in,
    close_vote,
    continuing_candidates,
    decide_application,
    declare_assembly,
    latest_notice_on,
    open_assembly,
    open_vote,
    publish_candidates,
    quorum_status,
    rules_for,
    save_rules,
    schedule_assembly,
    seed_commitment,
    send_notice,
    vote_turnout,
    withdraw_candidate,
)
from assembly.assemblies.paper import (
    batches_of,
    enter_paper_batch,
    give_paper,
    paper_summary,
    parse_papers,
)
from assembly.assemblies.queries import (
    eligible_to_vote,
    get_assembly,
    open_vote_of,
    valid_candidates,
    vote_candidates,
)
from assembly.assemblies.record import (
    assembly_record,
    countersign_assembly_record,
    register_assembly_officer_key,
)
from assembly.assemblies.states import AssemblyState
from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role, RoleGrant, User
from assembly.auth.permissions import can_manage, institution_view, roles_in
from assembly.clock import today
from assembly.elections.charts import stage_chart
from assembly.errors import DomainError, InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import begin_writing, db, limiter, refused
from assembly.membership.models import Constituency, Institution, Membership, Person
from assembly.polls.casting import AlreadyVoted
from assembly.polls.marks import CountMethod, InvalidBallot, ranking_from_marks
from assembly.records.forms import CountersignForm, OfficerKeyForm
from assembly.records.models import Record
from assembly.records.operations import published
from assembly.records.record import document_text
from assembly.records.views import SMALL_FILE_LIMIT, UploadProblem, read_json_upload

__all__ = ["bp"]

bp = Blueprint("assemblies", __name__)

#: How often the live screen and a waiting voter's page reload themselves, in seconds.
REFRESH_SECONDS = 5
#: Members listed per check-in search.
SEARCH_LIMIT = 25
_SESSION_PASS = "assembly_pass"  # noqa: S105 - a session key, not a secret
_SESSION_RECEIPT = "assembly_receipt"


@bp.before_request
def _write_from_the_start() -> None:
    """Every POST here writes (a check-in, a ballot, a paper batch, a chair's step), and many
    come at once on the day: each begins as a writer, so that on SQLite it waits for the
    write lock rather than failing when another worker wrote after it read."""
    if request.method == "POST":
        begin_writing()


def _institution(slug: str) -> Institution:
    institution = db.session.scalars(select(Institution).where(Institution.slug == slug)).first()
    if institution is None:
        abort(404)
    return institution


def _assembly(slug: str, assembly_id: int) -> Assembly:
    return get_assembly(_institution(slug), assembly_id)


def _is_officer(assembly: Assembly) -> bool:
    if not current_user.is_authenticated:
        return False
    return (
        current_user.is_platform_admin
        or assembly.is_returning_officer(current_user)
        or Role.secretary in roles_in(current_user, assembly.institution)
    )


def _redirect_to(assembly: Assembly) -> ResponseReturnValue:
    return redirect(
        url_for(
            "assemblies.assembly_public", slug=assembly.institution.slug, assembly_id=assembly.id
        )
    )


# --- history, rules and scheduling --------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies")
def assemblies(slug: str) -> ResponseReturnValue:
    """Public: the institution's assemblies, their attendance and results, and its leaders."""
    institution = _institution(slug)
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


@bp.route("/institutions/<slug>/assemblies/rules", methods=["GET", "POST"])
@institution_view(Role.secretary)
def rules(institution: Institution) -> ResponseReturnValue:
    """The institution's standing rules for its assemblies."""
    saved = rules_for(institution)
    form = RulesForm(
        data=None
        if request.method == "POST"
        else {
            "term_months": saved.term_months,
            "notice_days": saved.notice_days,
            "quorum_members": saved.quorum_members,
            "quorum_share": f"{saved.quorum_share.numerator}/{saved.quorum_share.denominator}"
            if saved.quorum_share
            else "0",
            "quorum_per_constituency": saved.quorum_per_constituency,
            "method": str(saved.method),
            "weighting": saved.weighting,
            "late_arrivals_vote": saved.late_arrivals_vote,
        }
    )
    if form.validate_on_submit():
        try:
            save_rules(current_actor(), institution, form.data)
        except DomainError as problem:
            db.session.rollback()
            form.quorum_share.errors = [problem.message]
        except (ValueError, ZeroDivisionError):
            db.session.rollback()
            form.quorum_share.errors = ["Enter the share as a fraction, such as 1/10"]
        else:
            db.session.commit()
            flash("The assembly rules are saved. Assemblies scheduled from now on use them.")
            return redirect(url_for("assemblies.assemblies", slug=institution.slug))
    return render_template(
        "assemblies/rules.html", institution=institution, form=form
    ), 400 if form.errors else 200


def _officer_choices(institution: Institution) -> list[SelectChoice]:
    officers = db.session.scalars(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.institution_id == institution.id,
            RoleGrant.role == Role.returning_officer,
            RoleGrant.revoked_at.is_(None),
        )
        .order_by(User.email)
    )
    return [SelectChoice(0, "None yet")] + [
        SelectChoice(u.id, u.display_name or u.email) for u in officers
    ]


@bp.route("/institutions/<slug>/assemblies/new", methods=["GET", "POST"])
@institution_view(Role.secretary)
def schedule(institution: Institution) -> ResponseReturnValue:
    """Schedule the next assembly (or a reconvened one)."""
    reconvenes = None
    reconvenes_id = request.args.get("reconvenes", type=int)
    if reconvenes_id:
        reconvenes = get_assembly(institution, reconvenes_id)
    form = ScheduleForm()
    form.returning_officer_id.choices = _officer_choices(institution)
    if form.validate_on_submit():
        try:
            assembly = schedule_assembly(
                current_actor(),
                institution,
                title=form.title.data or "",
                held_on=form.held_on.data,
                starts_at=form.starts_at.data,
                venue=form.venue.data,
                agenda=form.agenda.data or "",
                returning_officer_id=form.returning_officer_id.data or None,
                today=today(),
                reconvenes=reconvenes,
            )
        except DomainError as problem:
            db.session.rollback()
            form.held_on.errors = [problem.message]
        else:
            db.session.commit()
            flash("The assembly is scheduled. Send the notice to every member in time.")
            return _redirect_to(assembly)
    rules = rules_for(institution)
    return render_template(
        "assemblies/schedule.html",
        institution=institution,
        form=form,
        rules=rules,
        reconvenes=reconvenes,
        method_labels=METHOD_LABELS,
    ), 400 if form.errors else 200


# --- the assembly's page ------------------------------------------------------------------------


def _member_person(institution: Institution) -> Person | None:
    """The signed-in user's person, if they are a current member."""
    if not current_user.is_authenticated:
        return None
    return db.session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Person.email == current_user.email,
            Membership.institution_id == institution.id,
            Membership.left_on.is_(None),
        )
    ).first()


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
def assembly_public(slug: str, assembly_id: int) -> ResponseReturnValue:
    """Public: the assembly's date, venue, agenda, candidates once published, votes and
    result; the chair's controls for its officers; how to stand for members."""
    assembly = _assembly(slug, assembly_id)
    officer = _is_officer(assembly)
    person = _member_person(assembly.institution)
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
        votes=[vote_summary(v) for v in assembly.votes if v.state == VoteState.counted],
        seed_sha256=seed_commitment(assembly),
        form=ConfirmForm(),
        decide_form=DecideForm(formdata=None),
        today=today(),
        notice_by=latest_notice_on(assembly.held_on, assembly.notice_days),
        record=assembly_record(assembly),
        countersign_form=CountersignForm(formdata=None),
    )


def _step(slug: str, assembly_id: int, action: Any, message: str) -> ResponseReturnValue:
    """Run a chair's step from a button: ``action(actor, assembly)``, commit, say so."""
    assembly = _assembly(slug, assembly_id)
    if not _is_officer(assembly):
        raise NotEligible("Only the secretary or the returning officer can do this.")
    if ConfirmForm().validate_on_submit():
        action(current_actor(), assembly)
        db.session.commit()
        flash(message)
    return _redirect_to(assembly)


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/notice", methods=["POST"])
@login_required
def send_notice_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    return _step(
        slug,
        assembly_id,
        lambda actor, a: send_notice(actor, a, today()),
        "The notice of assembly is on its way to every member with an email address.",
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/publish", methods=["POST"])
@login_required
def publish_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    return _step(
        slug,
        assembly_id,
        lambda actor, a: publish_candidates(actor, a, today()),
        "The candidates are published and every member is told.",
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/open", methods=["POST"])
@login_required
def open_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    return _step(
        slug,
        assembly_id,
        lambda actor, a: open_assembly(actor, a, today()),
        "The assembly is in session: tellers can check members in.",
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/votes", methods=["POST"])
@login_required
def open_vote_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    return _step(slug, assembly_id, open_vote, "The vote is open.")


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/close", methods=["POST"])
@login_required
def close_vote_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    def close(actor: Any, assembly: Assembly) -> None:
        vote = open_vote_of(assembly)
        if vote is None:
            raise InvalidTransition("No vote is open.")
        close_vote(actor, vote)

    return _step(slug, assembly_id, close, "The vote is closed and counted.")


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/declare", methods=["POST"])
@login_required
def declare_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    return _step(
        slug,
        assembly_id,
        lambda actor, a: declare_assembly(actor, a, today()),
        "The result is declared. Every member is told.",
    )


# --- leader candidates --------------------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/apply", methods=["GET", "POST"])
@login_required
def apply(slug: str, assembly_id: int) -> ResponseReturnValue:
    """A member applies to stand for leader (the incumbent accepts their invitation)."""
    assembly = _assembly(slug, assembly_id)
    person = _member_person(assembly.institution)
    if person is None:
        raise NotEligible(f"Only a member of {assembly.institution.name} can stand.")
    mine = next((c for c in assembly.candidates if c.person_id == person.id), None)
    form = ApplyForm(
        data=None
        if request.method == "POST"
        else {
            "ballot_name": mine.ballot_name
            if mine
            else f"{person.given_name} {person.family_name}",
            "statement": mine.statement if mine else "",
        }
    )
    if form.validate_on_submit():
        try:
            apply_to_stand(
                current_actor(),
                assembly,
                person,
                ballot_name=form.ballot_name.data,
                statement=form.statement.data,
                today=today(),
            )
        except DomainError as problem:
            db.session.rollback()
            if problem.status != 400:
                raise
            form.statement.errors = [problem.message]
        else:
            db.session.commit()
            flash("Your application is in. The secretary and the returning officer check it.")
            return _redirect_to(assembly)
    return render_template(
        "assemblies/apply.html",
        institution=assembly.institution,
        assembly=assembly,
        form=form,
        mine=mine,
    ), 400 if form.errors else 200


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/withdraw", methods=["POST"])
@login_required
def withdraw(slug: str, assembly_id: int) -> ResponseReturnValue:
    assembly = _assembly(slug, assembly_id)
    person = _member_person(assembly.institution)
    mine = (
        next((c for c in assembly.candidates if c.person_id == person.id), None) if person else None
    )
    if mine is None:
        raise NotEligible("You are not standing at this assembly.")
    if ConfirmForm().validate_on_submit():
        withdraw_candidate(current_actor(), mine)
        db.session.commit()
        flash("You have withdrawn.")
    return _redirect_to(assembly)


@bp.route(
    "/institutions/<slug>/assemblies/<int:assembly_id>/candidates/<int:candidate_id>",
    methods=["POST"],
)
@login_required
def decide(slug: str, assembly_id: int, candidate_id: int) -> ResponseReturnValue:
    assembly = _assembly(slug, assembly_id)
    if not _is_officer(assembly):
        raise NotEligible("Only the secretary or the returning officer can decide applications.")
    candidate = db.session.get(AssemblyCandidate, candidate_id)
    if candidate is None or candidate.assembly_id != assembly.id:
        abort(404)
    form = DecideForm()
    if not form.validate_on_submit():
        flash("Choose valid or invalid.")
        return _redirect_to(assembly)
    decide_application(
        current_actor(),
        candidate,
        valid=form.decision.data == "valid",
        reason=form.reason.data or "",
    )
    db.session.commit()
    flash(f"{candidate.ballot_name}: {candidate.status.value}.")
    return _redirect_to(assembly)


# --- check-in -----------------------------------------------------------------------------------


def _teller_assembly(slug: str, assembly_id: int) -> Assembly:
    assembly = _assembly(slug, assembly_id)
    if not can_check_in(current_user, assembly):
        raise NotEligible("Only a teller of this institution can check members in.")
    return assembly


def _search(assembly: Assembly, name: str, born: date | None) -> list[tuple[Person, Membership]]:
    words = [w for w in re.split(r"\s+", name.lower()) if w][:3]
    statement = (
        select(Person, Membership)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.institution_id == assembly.institution_id, Membership.left_on.is_(None))
    )
    for word in words:
        pattern = f"%{word}%"
        statement = statement.where(
            or_(
                func.lower(Person.given_name).like(pattern),
                func.lower(Person.family_name).like(pattern),
            )
        )
    if born is not None:
        statement = statement.where(Person.date_of_birth == born)
    return list(
        db.session.execute(
            statement.order_by(Person.family_name, Person.given_name).limit(SEARCH_LIMIT)
        )
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/check-in")
@login_required
@limiter.limit(lambda: current_app.config["CHECK_IN_SEARCH_PER_CLIENT"])
def check_in_page(slug: str, assembly_id: int) -> ResponseReturnValue:
    """The teller's page: find a member by name (and date of birth) or scan their pass."""
    assembly = _teller_assembly(slug, assembly_id)
    form = CheckInSearchForm(request.args)
    found: list[tuple[Person, Membership]] = []
    searched = bool(request.args)
    if searched and form.validate():
        found = _search(assembly, form.name.data, form.date_of_birth.data)
    present = set(
        db.session.scalars(
            select(Attendance.person_id).where(
                Attendance.assembly_id == assembly.id,
                Attendance.person_id.in_([p.id for p, _ in found]),
            )
        )
    )
    return render_template(
        "assemblies/check_in.html",
        institution=assembly.institution,
        assembly=assembly,
        form=form,
        searched=searched,
        found=found,
        present=present,
        quorum=quorum_status(assembly),
        confirm=ConfirmForm(),
        open_vote=open_vote_of(assembly),
    ), 400 if searched and form.errors else 200


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/check-in", methods=["POST"])
@login_required
def check_in_post(slug: str, assembly_id: int) -> ResponseReturnValue:
    assembly = _teller_assembly(slug, assembly_id)
    person = db.session.get(Person, request.form.get("person_id", type=int) or 0)
    if person is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        _mark_present(assembly, person)
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("assemblies.check_in_page", slug=slug, assembly_id=assembly.id))


def _mark_present(assembly: Assembly, person: Person) -> None:
    name = f"{person.given_name} {person.family_name}"
    try:
        attendance = check_in(current_actor(), assembly, person)
    except AlreadyCheckedIn as problem:
        db.session.rollback()
        flash(problem.message)
        return
    message = f"{name} is checked in ({attendance.constituency.name})."
    db.session.commit()
    flash(message)


# --- the member's pass --------------------------------------------------------------------------


def _pass(slug: str, assembly_id: int, token: str) -> tuple[Assembly, Person]:
    assembly = _assembly(slug, assembly_id)
    value = read_pass(token)
    if value is None or value[0] != assembly.id:
        abort(404)
    person = db.session.get(Person, value[1])
    if person is None:
        abort(404)
    return assembly, person


def _attendance(assembly: Assembly, person_id: int) -> Attendance | None:
    return db.session.scalars(
        select(Attendance).where(
            Attendance.assembly_id == assembly.id, Attendance.person_id == person_id
        )
    ).first()


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/pass/<token>", methods=["GET", "POST"])
def member_pass(slug: str, assembly_id: int, token: str) -> ResponseReturnValue:
    """The QR code's link. A teller who opens it checks the member in. The member who opens
    it sees their pass to show at the door, and once checked in is signed in to vote."""
    assembly, person = _pass(slug, assembly_id, token)
    attendance = _attendance(assembly, person.id)
    teller = current_user.is_authenticated and can_check_in(current_user, assembly)
    if request.method == "POST":
        if not teller:
            raise NotEligible("Only a teller can check members in.")
        if ConfirmForm().validate_on_submit():
            _mark_present(assembly, person)
        return redirect(request.path)
    if teller:
        membership = db.session.scalars(
            select(Membership).where(
                Membership.institution_id == assembly.institution_id,
                Membership.person_id == person.id,
                Membership.left_on.is_(None),
            )
        ).first()
        return render_template(
            "assemblies/pass_teller.html",
            institution=assembly.institution,
            assembly=assembly,
            person=person,
            membership=membership,
            attendance=attendance,
            form=ConfirmForm(),
            open_vote=open_vote_of(assembly),
        )
    if attendance is not None and assembly.state == AssemblyState.in_session:
        session[_SESSION_PASS] = {"assembly": assembly.id, "attendance": attendance.id}
        return redirect(url_for("assemblies.vote", slug=slug, assembly_id=assembly.id))
    return render_template(
        "assemblies/pass.html",
        institution=assembly.institution,
        assembly=assembly,
        person=person,
        qr=pass_qr_svg(pass_url(assembly, person.id)),
        attendance=attendance,
    )


# --- voting on the phone ------------------------------------------------------------------------


def _attendee(assembly: Assembly) -> Attendance:
    held = session.get(_SESSION_PASS)
    attendance = None
    if isinstance(held, dict) and held.get("assembly") == assembly.id:
        attendance = db.session.get(Attendance, held.get("attendance"))
    if attendance is None or attendance.assembly_id != assembly.id:
        raise NotEligible(
            "Open the pass from your notice of assembly on this phone, after a teller has "
            "checked you in."
        )
    return attendance


class _Rules:
    """The vote as ``ranking_from_marks`` reads marks: ranked (IRV) or one choice (a round)."""

    def __init__(self, vote: Vote) -> None:
        self.method = CountMethod.stv if vote.kind == VoteKind.irv else CountMethod.plurality
        self.seats = 1


def _attendee_key() -> str:
    """Rate limits on casting at an assembly count per pass (a hall shares one address)."""
    held = session.get(_SESSION_PASS)
    attendance = held.get("attendance") if isinstance(held, dict) else None
    return f"attendee:{attendance}" if attendance else f"address:{request.remote_addr}"


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/vote", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["CAST_PER_VOTER"],
    key_func=_attendee_key,
    methods=["POST"],
    deduct_when=refused,
)
def vote(slug: str, assembly_id: int) -> ResponseReturnValue:
    """The attendee's ballot for the vote that is open (the page waits for one)."""
    assembly = _assembly(slug, assembly_id)
    attendance = _attendee(assembly)
    current = open_vote_of(assembly)
    voted = (
        current is not None and db.session.get(VoteMark, (current.id, attendance.id)) is not None
    )
    error = None
    if request.method == "POST" and current is not None and not voted:
        if not ConfirmForm().validate_on_submit():
            abort(400)
        candidates = vote_candidates(current)
        try:
            if current.kind == VoteKind.confirmation:
                choice = request.form.get("choice", "")
                if choice not in ("yes", "no", "abstain"):
                    raise InvalidBallot("Choose yes, no or abstain.", "choice-yes")
                ranking: list[int] = []
            else:
                choice = ""
                preferences = [
                    (k.removeprefix("pref-"), v)
                    for k, v in request.form.items()
                    if k.startswith("pref-")
                ]
                choices = request.form.getlist("choice")
                ranking = ranking_from_marks(_Rules(current), candidates, preferences, choices)
            tracker = cast_assembly_vote(
                attendance, current, ranking=ranking, choice=choice, day=today()
            )
        except InvalidBallot as problem:
            db.session.rollback()
            error = problem
        except AlreadyVoted:
            db.session.rollback()
            voted = True
        else:
            # Read before the commit, which would expire the rows and read them again.
            session[_SESSION_RECEIPT] = {"vote": current.id, "tracker": tracker}
            back = url_for("assemblies.vote", slug=slug, assembly_id=assembly_id)
            db.session.commit()
            return redirect(back)
    receipt = session.get(_SESSION_RECEIPT)
    if not (
        isinstance(receipt, dict) and current is not None and receipt.get("vote") == current.id
    ):
        receipt = None
    return render_template(
        "assemblies/vote.html",
        institution=assembly.institution,
        assembly=assembly,
        attendance=attendance,
        vote=current,
        voted=voted,
        receipt=receipt,
        eligible=current is None or eligible_to_vote(current, attendance),
        candidates=vote_candidates(current) if current is not None else [],
        error=error,
        form=ConfirmForm(),
        refresh=REFRESH_SECONDS if current is None or voted else None,
        marks=request.form if error else {},
    ), 400 if error else 200


# --- the live screen ----------------------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/screen")
def screen(slug: str, assembly_id: int) -> ResponseReturnValue:
    """Public, for the projector: attendance per constituency, quorum, the vote's progress,
    and the declared result with its count. It reloads itself."""
    assembly = _assembly(slug, assembly_id)
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
        turnout=vote_turnout(current) if current is not None else 0,
        votes=[vote_summary(v) for v in assembly.votes if v.state == VoteState.counted],
        leader=leader,
        seed_sha256=seed_commitment(assembly),
        refresh=REFRESH_SECONDS,
        vote_seed=vote_seed,
    )


# --- paper ballots ------------------------------------------------------------------------------


def _open_vote_for_tellers(assembly: Assembly) -> Vote:
    current = open_vote_of(assembly)
    if current is None:
        raise InvalidTransition("No vote is open: papers are given out and entered during a vote.")
    return current


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/papers/give", methods=["POST"])
@login_required
def give_paper_view(slug: str, assembly_id: int) -> ResponseReturnValue:
    """A teller hands a checked-in member a paper ballot: they have voted, on paper."""
    assembly = _teller_assembly(slug, assembly_id)
    person = db.session.get(Person, request.form.get("person_id", type=int) or 0)
    attendance = _attendance(assembly, person.id) if person is not None else None
    if person is None or attendance is None:
        abort(404)
    current = _open_vote_for_tellers(assembly)
    if ConfirmForm().validate_on_submit():
        try:
            give_paper(current_actor(), current, attendance)
        except AlreadyVoted as problem:
            db.session.rollback()
            flash(problem.message)
        else:
            db.session.commit()
            flash(
                f"Give {person.given_name} {person.family_name} a paper ballot for vote "
                f"{current.number}."
            )
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("assemblies.check_in_page", slug=slug, assembly_id=assembly.id))


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/papers", methods=["GET", "POST"])
@login_required
def papers(slug: str, assembly_id: int) -> ResponseReturnValue:
    """Tellers enter the papers of the open vote in batches, each twice, independently."""
    assembly = _teller_assembly(slug, assembly_id)
    current = _open_vote_for_tellers(assembly)
    form = PaperBatchForm()
    constituencies = list(
        db.session.scalars(
            select(Constituency)
            .where(Constituency.institution_id == assembly.institution_id)
            .order_by(Constituency.precedence, Constituency.id)
        )
    )
    form.constituency.choices = [SelectChoice(c.id, c.name) for c in constituencies]
    outcome = None
    if form.validate_on_submit():
        constituency = next(c for c in constituencies if c.id == form.constituency.data)
        try:
            entered = parse_papers(form.papers.data, current)
            _batch, outcome = enter_paper_batch(
                current_actor(), current, constituency, form.label.data, entered
            )
        except DomainError as problem:
            db.session.rollback()
            if problem.status == 403:
                raise
            form.papers.errors = [problem.message]
        else:
            db.session.commit()
            flash(
                "The batch is accepted: both entries match."
                if outcome
                else "The second entry differs from the first: the batch is rejected. Count "
                "it again and enter it afresh, twice."
                if outcome is False
                else "First entry saved. Another teller now counts the batch and enters it."
            )
            return redirect(url_for("assemblies.papers", slug=slug, assembly_id=assembly.id))
    return render_template(
        "assemblies/papers.html",
        institution=assembly.institution,
        assembly=assembly,
        vote=current,
        candidates=vote_candidates(current),
        form=form,
        summary=paper_summary(current),
        batches=batches_of(current),
        names={c.key: c.name for c in constituencies},
    ), 400 if form.errors else 200


# --- the signed record ----------------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/officer-key", methods=["GET", "POST"])
@login_required
def officer_key(slug: str, assembly_id: int) -> ResponseReturnValue:
    """The assembly's returning officer registers their public key before it opens."""
    assembly = _assembly(slug, assembly_id)
    if not assembly.is_returning_officer(current_user):
        raise NotEligible("Only the assembly's returning officer registers their key.")
    can_register = assembly.state in {AssemblyState.scheduled, AssemblyState.noticed}
    form = OfficerKeyForm()
    if can_register and form.validate_on_submit():
        try:
            register_assembly_officer_key(current_actor(), assembly, form.public_key.data)
        except DomainError as problem:
            db.session.rollback()
            form.public_key.errors = [problem.message]
        else:
            db.session.commit()
            flash("Your key is registered: you countersign the assembly's record with it.")
            return _redirect_to(assembly)
    return render_template(
        "assemblies/officer_key.html",
        institution=assembly.institution,
        assembly=assembly,
        form=form,
        can_register=can_register,
    ), 400 if form.errors else 200


def _record_row(assembly: Assembly) -> Record:
    row = assembly_record(assembly)
    if row is None:
        abort(404)
    return row


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/record.json")
def record_json(slug: str, assembly_id: int) -> ResponseReturnValue:
    """Public once declared: the assembly's signed record, for ``assembly verify``."""
    assembly = _assembly(slug, assembly_id)
    document = published(_record_row(assembly))
    text = document_text(document)
    name = f"record-{assembly.institution.slug}-assembly-{assembly.id}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/countersign", methods=["POST"])
@login_required
def countersign(slug: str, assembly_id: int) -> ResponseReturnValue:
    """The returning officer uploads the signature ``assembly record sign`` made."""
    assembly = _assembly(slug, assembly_id)
    if not assembly.is_returning_officer(current_user):
        raise NotEligible("Only the assembly's returning officer can countersign its record.")
    _record_row(assembly)
    form = CountersignForm()
    if form.validate_on_submit():
        try:
            signature = read_json_upload(form.signature.data, "signature file", SMALL_FILE_LIMIT)
            countersign_assembly_record(current_actor(), assembly, signature)
        except (UploadProblem, RuleViolation) as problem:
            db.session.rollback()
            message = problem.message if isinstance(problem, RuleViolation) else str(problem)
            flash(message)
        else:
            db.session.commit()
            flash("You countersigned the assembly's record.")
    else:
        flash("Choose the .sig file that `assembly record sign` wrote.")
    return _redirect_to(assembly)


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/letters")
@login_required
def letters(slug: str, assembly_id: int) -> ResponseReturnValue:
    """Print-ready notices of assembly, each with the member's pass as a QR code, for the
    members the email could not reach."""
    assembly = _assembly(slug, assembly_id)
    if not _is_officer(assembly):
        raise NotEligible("Only the secretary or the returning officer prints the letters.")
    if assembly.state == AssemblyState.scheduled:
        raise InvalidTransition("Send the notice first: the letters are its printed copies.")
    rows = db.session.execute(
        select(Person, Membership)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.institution_id == assembly.institution_id,
            Membership.left_on.is_(None),
            or_(Person.email.is_(None), Person.email == ""),
        )
        .order_by(Person.family_name, Person.given_name)
    ).all()
    return render_template(
        "assemblies/letters.html",
        institution=assembly.institution,
        assembly=assembly,
        letters=[
            (person, membership, pass_qr_svg(pass_url(assembly, person.id), scale=4))
            for person, membership in rows
        ],
        seed_sha256=seed_commitment(assembly),
    )
