"""Assembly pages for the secretary and the returning officer: the standing rules,
scheduling, the chair's steps (notice, candidates, opening, votes, declaration), deciding
applications, printed letters, and the returning officer's key and countersignature."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select
from wtforms.fields.choices import SelectChoice

from assembly.assemblies.access import assembly_view, can_chair
from assembly.assemblies.e2e import closed_vote
from assembly.assemblies.forms import METHOD_LABELS, DecideForm, RulesForm, ScheduleForm
from assembly.assemblies.models import Assembly, AssemblyCandidate
from assembly.assemblies.notices import pass_qr_svg, pass_url
from assembly.assemblies.operations import (
    close_vote,
    count_closed_vote,
    decide_application,
    declare_assembly,
    open_assembly,
    open_vote,
    publish_candidates,
    rules_for,
    save_rules,
    schedule_assembly,
    seed_commitment,
    send_notice,
)
from assembly.assemblies.queries import get_assembly, open_vote_of
from assembly.assemblies.record import countersign_assembly_record, register_assembly_officer_key
from assembly.assemblies.states import AssemblyState
from assembly.assemblies.views.blueprint import bp, redirect_to
from assembly.assemblies.views.public import record_row
from assembly.auth.actors import Actor, current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role, RoleGrant, User
from assembly.auth.permissions import SIGNED_IN, institution_view, is_returning_officer
from assembly.clock import today
from assembly.errors import DomainError, InvalidTransition, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person
from assembly.records.forms import CountersignForm, OfficerKeyForm
from assembly.records.views.uploads import SMALL_FILE_LIMIT, UploadProblem, read_json_upload

#: Why anyone else is refused the chair's steps.
ONLY_THE_CHAIR = "Only the secretary or the returning officer can do this."
#: The states in which the notice of assembly has been sent.
NOTICE_SENT = frozenset(AssemblyState) - {AssemblyState.scheduled}

#: One of the chair's steps: an operation on the assembly, made by ``actor``.
_Step = Callable[[Actor, Assembly], None]


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
                e2e=bool(form.e2e.data),
            )
        except DomainError as problem:
            db.session.rollback()
            form.held_on.errors = [problem.message]
        else:
            db.session.commit()
            flash("The assembly is scheduled. Send the notice to every member in time.")
            return redirect_to(assembly)
    rules = rules_for(institution)
    return render_template(
        "assemblies/schedule.html",
        institution=institution,
        form=form,
        rules=rules,
        reconvenes=reconvenes,
        method_labels=METHOD_LABELS,
    ), 400 if form.errors else 200


# --- the chair's steps --------------------------------------------------------------------------


def _chair_step(path: str, done: str) -> Callable[[_Step], Callable[..., ResponseReturnValue]]:
    """Make ``step(actor, assembly)`` one of the chair's buttons: a POST to the assembly's
    ``path`` that only the secretary or the returning officer may make, which runs the step
    once the button's form is confirmed, commits, says ``done`` (unless the step said what it
    did) and goes back to the
    assembly's page. The view takes the step's name (its endpoint) and docstring."""

    def register(step: _Step) -> Callable[..., ResponseReturnValue]:
        @bp.route(f"/institutions/<slug>/assemblies/<int:assembly_id>/{path}", methods=["POST"])
        @assembly_view(SIGNED_IN, only=can_chair, denied=ONLY_THE_CHAIR)
        @wraps(step)
        def view(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
            if ConfirmForm().validate_on_submit():
                step(current_actor(), assembly)
                db.session.commit()
                if done:  # else the step said what it did
                    flash(done)
            return redirect_to(assembly)

        return view

    return register


@_chair_step(
    "notice", "The notice of assembly is on its way to every member with an email address."
)
def send_notice_view(actor: Actor, assembly: Assembly) -> None:
    """Send the notice of assembly, with their pass, to every member."""
    send_notice(actor, assembly, today())


@_chair_step("publish", "The candidates are published and every member is told.")
def publish_view(actor: Actor, assembly: Assembly) -> None:
    """Publish the valid candidates to every member."""
    publish_candidates(actor, assembly, today())


@_chair_step("open", "The assembly is in session: tellers can check members in.")
def open_view(actor: Actor, assembly: Assembly) -> None:
    """Open the assembly: it is in session and tellers check members in."""
    open_assembly(actor, assembly, today())


@_chair_step("votes", "The vote is open.")
def open_vote_view(actor: Actor, assembly: Assembly) -> None:
    """Open the next vote (only when the assembly is quorate); at an end-to-end verifiable
    assembly its phone ballots are encrypted unless the chair chose today's mode."""
    open_vote(actor, assembly, encrypted=assembly.e2e and request.form.get("mode") != "plain")


@_chair_step("close", "")
def close_vote_view(actor: Actor, assembly: Assembly) -> None:
    """Close the open vote and count it (or, with encrypted ballots, leave it for the
    trustees to open)."""
    vote = open_vote_of(assembly)
    if vote is None:
        raise InvalidTransition("No vote is open.")
    if close_vote(actor, vote) is None:
        flash(
            "The vote is closed. Its encrypted ballots wait for the trustees: once enough of "
            "them have shuffled and opened them on the trustees' page, count the vote."
        )
    else:
        flash("The vote is closed and counted.")


@_chair_step("count", "The vote is counted: its encrypted ballots are opened and counted.")
def count_vote_view(actor: Actor, assembly: Assembly) -> None:
    """Count a closed vote once the trustees have opened its encrypted ballots."""
    vote = closed_vote(assembly)
    if vote is None:
        raise InvalidTransition("No vote waits to be counted.")
    count_closed_vote(actor, vote, day=today())


@_chair_step("declare", "The result is declared. Every member is told.")
def declare_view(actor: Actor, assembly: Assembly) -> None:
    """Declare the result: the leader's term starts, or no leader was elected."""
    declare_assembly(actor, assembly, today())


# --- applications -------------------------------------------------------------------------------


@bp.route(
    "/institutions/<slug>/assemblies/<int:assembly_id>/candidates/<int:candidate_id>",
    methods=["POST"],
)
@assembly_view(
    SIGNED_IN,
    only=can_chair,
    denied="Only the secretary or the returning officer can decide applications.",
)
def decide(
    institution: Institution, assembly: Assembly, candidate: AssemblyCandidate
) -> ResponseReturnValue:
    """Mark an application to stand valid, or invalid with a reason."""
    form = DecideForm()
    if not form.validate_on_submit():
        flash("Choose valid or invalid.")
        return redirect_to(assembly)
    decide_application(
        current_actor(),
        candidate,
        valid=form.decision.data == "valid",
        reason=form.reason.data or "",
    )
    db.session.commit()
    flash(f"{candidate.ballot_name}: {candidate.status.value}.")
    return redirect_to(assembly)


# --- printed letters ----------------------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/letters")
@assembly_view(
    SIGNED_IN,
    only=can_chair,
    denied="Only the secretary or the returning officer prints the letters.",
    states=NOTICE_SENT,
    not_now="Send the notice first: the letters are its printed copies.",
)
def letters(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Print-ready notices of assembly, each with the member's pass as a QR code, for the
    members the email could not reach."""
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


# --- the signed record ----------------------------------------------------------------------


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/officer-key", methods=["GET", "POST"])
@assembly_view(
    SIGNED_IN,
    only=is_returning_officer,
    denied="Only the assembly's returning officer registers their key.",
)
def officer_key(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The assembly's returning officer registers their public key before it opens."""
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
            return redirect_to(assembly)
    return render_template(
        "assemblies/officer_key.html",
        institution=assembly.institution,
        assembly=assembly,
        form=form,
        can_register=can_register,
    ), 400 if form.errors else 200


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/countersign", methods=["POST"])
@assembly_view(
    SIGNED_IN,
    only=is_returning_officer,
    denied="Only the assembly's returning officer can countersign its record.",
)
def countersign(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The returning officer uploads the signature ``assembly record sign`` made."""
    record_row(assembly)
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
    return redirect_to(assembly)
