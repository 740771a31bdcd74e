"""Pages: home, my memberships, institutions (admin), the institution dashboard and settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from assembly.audit.queries import list_events
from assembly.auth.actors import Actor
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
    list_memberships_for_email,
    summarise_constituencies,
)
from assembly.records.canonical import rational

bp = Blueprint("membership", __name__)

PAGE_SIZE = 50


def _actor() -> Actor:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _form_error(form, field: str, error: DomainError) -> None:  # type: ignore[no-untyped-def]
    """Show a refused operation's message beside the field it is about."""
    form[field].errors = [*form[field].errors, error.message]


@bp.route("/")
def home() -> str:
    if not current_user.is_authenticated:
        return render_template("membership/start.html")
    memberships = [m for m in list_memberships_for_email(current_user.email) if m.is_current]
    grants = list_institution_roles(current_user)
    return render_template("membership/home.html", memberships=memberships, grants=grants)


@bp.route("/my/memberships")
@login_required
def my_memberships() -> str:
    memberships = list_memberships_for_email(current_user.email)
    return render_template("membership/my_memberships.html", memberships=memberships)


@bp.route("/admin/institutions")
@admin_required
def institutions() -> str:
    page = db.paginate(list_institutions(), per_page=PAGE_SIZE, error_out=False)
    return render_template("membership/institutions.html", page=page)


@bp.route("/admin/institutions/new", methods=["GET", "POST"])
@admin_required
def institution_new() -> str | Response:
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            institution = create_institution(
                _actor(),
                slug=form.slug.data or "",
                name=form.name.data or "",
                kind=InstitutionKind(form.kind.data),
                area=form.area.data or "",
                leader_title=form.leader_title.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            _form_error(form, "slug" if "short name" in error.message else "name", error)
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
def institution_edit(institution: Institution) -> str | Response:
    form = InstitutionDetailsForm(obj=institution)
    if form.validate_on_submit():
        try:
            update_institution(
                _actor(),
                institution,
                name=form.name.data or "",
                area=form.area.data or "",
                leader_title=form.leader_title.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            _form_error(form, "name", error)
        else:
            db.session.commit()
            flash("Institution details saved.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/institution_edit.html", form=form, institution=institution)


@bp.route("/institutions/<slug>/constituencies/<key>/edit", methods=["GET", "POST"])
@institution_view(Role.secretary)
def constituency_edit(institution: Institution, key: str) -> str | Response:
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
                _actor(),
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
            _form_error(form, field, error)
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
def constituency_new(institution: Institution) -> str | Response:
    next_precedence = max((c.precedence for c in institution.constituencies), default=0) + 1
    form = NewConstituencyForm(
        data={"weight": "1/3", "minimum_age": 0, "precedence": next_precedence}
    )
    if form.validate_on_submit():
        try:
            constituency = add_constituency(
                _actor(),
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
            _form_error(form, field, error)
        else:
            db.session.commit()
            flash(f"{constituency.name} added.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/constituency_new.html", form=form, institution=institution)


@bp.route("/opt-out/<token>", methods=["GET", "POST"])
def opt_out(token: str) -> str | Response | tuple[str, int]:
    """A member stops being a member, from the signed link in their welcome notice."""
    from assembly.auth.actors import SystemActor
    from assembly.auth.forms import ConfirmForm
    from assembly.membership.models import Membership
    from assembly.membership.notices import read_opt_out_token
    from assembly.membership.operations import opt_out as end_membership

    membership_id = read_opt_out_token(token)
    membership = db.session.get(Membership, membership_id) if membership_id else None
    if membership is None:
        abort(404)
    form = ConfirmForm()
    if membership.is_current and form.validate_on_submit():
        actor = _actor() if current_user.is_authenticated else SystemActor("member (opt-out link)")
        end_membership(actor, membership)
        db.session.commit()
        return render_template("membership/opted_out.html", membership=membership)
    if not membership.is_current:
        return render_template("membership/opted_out.html", membership=membership)
    return render_template("membership/opt_out.html", membership=membership, form=form)
