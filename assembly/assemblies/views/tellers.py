"""Assembly pages for tellers (and the secretary and returning officer): check-in, by name
and date of birth or by scanning a member's pass, and paper ballots — handed out, then entered
in batches, each twice and independently."""

from __future__ import annotations

import re
from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from assembly.assemblies.access import assembly_view
from assembly.assemblies.forms import CheckInSearchForm, PaperBatchForm
from assembly.assemblies.models import Assembly, Attendance, Vote
from assembly.assemblies.operations import AlreadyCheckedIn, can_check_in, check_in, quorum_status
from assembly.assemblies.paper import (
    batches_of,
    enter_paper_batch,
    give_paper,
    paper_summary,
    parse_papers,
)
from assembly.assemblies.queries import open_vote_of, vote_candidates
from assembly.assemblies.views.blueprint import bp
from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.permissions import SIGNED_IN
from assembly.errors import DomainError, InvalidTransition
from assembly.extensions import db, limiter
from assembly.membership.models import Constituency, Institution, Membership, Person
from assembly.polls.casting import AlreadyVoted

#: Members listed per check-in search.
SEARCH_LIMIT = 25
#: Why anyone else is refused the tellers' pages.
ONLY_TELLERS = "Only a teller of this institution can check members in."


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


def attendance_of(assembly: Assembly, person_id: int) -> Attendance | None:
    """The member's attendance at the assembly, if they are checked in."""
    return db.session.scalars(
        select(Attendance).where(
            Attendance.assembly_id == assembly.id, Attendance.person_id == person_id
        )
    ).first()


def mark_present(assembly: Assembly, person: Person) -> None:
    """Check the member in (committing), and say so, or say they were already."""
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


def _back(institution: Institution, assembly: Assembly) -> str:
    """Where a teller's button goes back to: the page it was on, or the check-in page."""
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//"):
        return back
    return url_for("assemblies.check_in_page", slug=institution.slug, assembly_id=assembly.id)


# The limit counts each search before the assembly is read, as it always has.
@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/check-in")
@login_required
@limiter.limit(lambda: current_app.config["CHECK_IN_SEARCH_PER_CLIENT"])
@assembly_view(SIGNED_IN, only=can_check_in, denied=ONLY_TELLERS)
def check_in_page(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The teller's page: find a member by name (and date of birth) or scan their pass."""
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
@assembly_view(SIGNED_IN, only=can_check_in, denied=ONLY_TELLERS)
def check_in_post(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """A teller checks a member in from the search's results."""
    person = db.session.get(Person, request.form.get("person_id", type=int) or 0)
    if person is None:
        abort(404)
    # Made before the check-in's commit, which expires the rows it names.
    back = _back(institution, assembly)
    if ConfirmForm().validate_on_submit():
        mark_present(assembly, person)
    return redirect(back)


# --- paper ballots ------------------------------------------------------------------------------


def _open_vote_for_tellers(assembly: Assembly) -> Vote:
    current = open_vote_of(assembly)
    if current is None:
        raise InvalidTransition("No vote is open: papers are given out and entered during a vote.")
    return current


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/papers/give", methods=["POST"])
@assembly_view(SIGNED_IN, only=can_check_in, denied=ONLY_TELLERS)
def give_paper_view(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """A teller hands a checked-in member a paper ballot: they have voted, on paper."""
    person = db.session.get(Person, request.form.get("person_id", type=int) or 0)
    attendance = attendance_of(assembly, person.id) if person is not None else None
    if person is None or attendance is None:
        abort(404)
    current = _open_vote_for_tellers(assembly)
    # Made before the commit, which expires the rows it names.
    back = _back(institution, assembly)
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
    return redirect(back)


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/papers", methods=["GET", "POST"])
@assembly_view(SIGNED_IN, only=can_check_in, denied=ONLY_TELLERS)
def papers(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Tellers enter the papers of the open vote in batches, each twice, independently."""
    current = _open_vote_for_tellers(assembly)
    # Made before the commit, which expires the rows it names.
    back = url_for("assemblies.papers", slug=institution.slug, assembly_id=assembly.id)
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
            return redirect(back)
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
