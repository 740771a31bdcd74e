"""Institutions and their constituencies: the platform admin's list and new-institution pages;
the secretary's dashboard, and the pages that change the institution's details and
constituencies."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from assembly.audit.queries import list_events
from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import admin_required, can_manage, institution_view
from assembly.auth.queries import list_institution_roles
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.forms import (
    ConstituencyForm,
    InstitutionDetailsForm,
    InstitutionForm,
    NewConstituencyForm,
)
from assembly.membership.models import Institution, InstitutionKind
from assembly.membership.operations import (
    add_constituency,
    create_institution,
    parse_weight,
    update_constituency,
    update_institution,
)
from assembly.membership.queries import (
    get_constituency,
    list_institutions,
    summarise_constituencies,
)
from assembly.membership.views.blueprint import PAGE_SIZE, bp, form_error
from assembly.records.canonical import rational


@bp.route("/admin/institutions")
@admin_required
def institutions() -> str:
    page = db.paginate(list_institutions(), per_page=PAGE_SIZE, error_out=False)
    return render_template("membership/institutions.html", page=page)


@bp.route("/admin/institutions/new", methods=["GET", "POST"])
@admin_required
def institution_new() -> ResponseReturnValue:
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            institution = create_institution(
                current_actor(),
                slug=form.slug.data or "",
                name=form.name.data or "",
                kind=InstitutionKind(form.kind.data),
                area=form.area.data or "",
                leader_title=form.leader_title.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            form_error(form, "slug" if "short name" in error.message else "name", error)
        else:
            db.session.commit()
            flash(f"{institution.name} created with three constituencies, one third each.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/institution_new.html", form=form)


@bp.route("/institutions/<slug>")
@institution_view(Role.secretary, Role.returning_officer)
def dashboard(institution: Institution) -> str:
    summaries = summarise_constituencies(institution)
    recent = db.session.scalars(list_events(institution).limit(10)).all()
    return render_template(
        "membership/dashboard.html",
        institution=institution,
        summaries=summaries,
        total_members=sum(s.current_members for s in summaries),
        recent=recent,
        can_manage=can_manage(current_user, institution),
        roles=list_institution_roles(current_user, institution),
    )


@bp.route("/institutions/<slug>/edit", methods=["GET", "POST"])
@institution_view(Role.secretary)
def institution_edit(institution: Institution) -> ResponseReturnValue:
    form = InstitutionDetailsForm(obj=institution)
    if form.validate_on_submit():
        try:
            update_institution(
                current_actor(),
                institution,
                name=form.name.data or "",
                area=form.area.data or "",
                leader_title=form.leader_title.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            form_error(form, "name", error)
        else:
            db.session.commit()
            flash("Institution details saved.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/institution_edit.html", form=form, institution=institution)


@bp.route("/institutions/<slug>/constituencies/<key>/edit", methods=["GET", "POST"])
@institution_view(Role.secretary)
def constituency_edit(institution: Institution, key: str) -> ResponseReturnValue:
    constituency = get_constituency(institution, key)
    if constituency is None:
        abort(404)
    form = ConstituencyForm(
        data={
            "name": constituency.name,
            "weight": rational(constituency.weight),
            "minimum_age": constituency.minimum_age,
            "precedence": constituency.precedence,
        }
    )
    if form.validate_on_submit():
        try:
            update_constituency(
                current_actor(),
                constituency,
                name=form.name.data or "",
                weight=parse_weight(form.weight.data or ""),
                minimum_age=form.minimum_age.data or 0,
                precedence=form.precedence.data or 0,
            )
        except DomainError as error:
            db.session.rollback()
            field = (
                "weight"
                if "weight" in error.message
                else ("precedence" if "precedence" in error.message else "name")
            )
            form_error(form, field, error)
        else:
            db.session.commit()
            flash(f"{constituency.name} saved.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template(
        "membership/constituency_edit.html",
        form=form,
        institution=institution,
        constituency=constituency,
    )


@bp.route("/institutions/<slug>/constituencies/new", methods=["GET", "POST"])
@institution_view(Role.secretary)
def constituency_new(institution: Institution) -> ResponseReturnValue:
    next_precedence = max((c.precedence for c in institution.constituencies), default=0) + 1
    form = NewConstituencyForm(
        data={"weight": "1/3", "minimum_age": 0, "precedence": next_precedence}
    )
    if form.validate_on_submit():
        try:
            constituency = add_constituency(
                current_actor(),
                institution,
                key=form.key.data or "",
                name=form.name.data or "",
                weight=parse_weight(form.weight.data or ""),
                minimum_age=form.minimum_age.data or 0,
                precedence=form.precedence.data or 0,
            )
        except DomainError as error:
            db.session.rollback()
            field = next((f for f in ("weight", "precedence", "key") if f in error.message), "name")
            form_error(form, field, error)
        else:
            db.session.commit()
            flash(f"{constituency.name} added.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/constituency_new.html", form=form, institution=institution)
