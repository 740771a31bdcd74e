"""Assembly pages for members: they apply to stand for leader (the incumbent accepts their
invitation), and withdraw."""

from __future__ import annotations

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from assembly.assemblies.access import assembly_view
from assembly.assemblies.forms import ApplyForm
from assembly.assemblies.models import Assembly
from assembly.assemblies.operations import apply_to_stand, withdraw_candidate
from assembly.assemblies.views.blueprint import bp, redirect_to
from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.permissions import SIGNED_IN
from assembly.clock import today
from assembly.errors import DomainError, NotEligible
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person


def member_person(institution: Institution) -> Person | None:
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


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/apply", methods=["GET", "POST"])
@assembly_view(SIGNED_IN)
def apply(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """A member applies to stand for leader (the incumbent accepts their invitation)."""
    person = member_person(assembly.institution)
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
            return redirect_to(assembly)
    return render_template(
        "assemblies/apply.html",
        institution=assembly.institution,
        assembly=assembly,
        form=form,
        mine=mine,
    ), 400 if form.errors else 200


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/withdraw", methods=["POST"])
@assembly_view(SIGNED_IN)
def withdraw(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """A candidate withdraws from standing at the assembly."""
    person = member_person(assembly.institution)
    mine = (
        next((c for c in assembly.candidates if c.person_id == person.id), None) if person else None
    )
    if mine is None:
        raise NotEligible("You are not standing at this assembly.")
    if ConfirmForm().validate_on_submit():
        withdraw_candidate(current_actor(), mine)
        db.session.commit()
        flash("You have withdrawn.")
    return redirect_to(assembly)
