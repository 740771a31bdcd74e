"""A member's own pages: the home page, their memberships and their data, becoming a member
again, and opting out from the signed link in their welcome notice."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from assembly.auth.actors import SystemActor, current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.queries import list_institution_roles
from assembly.extensions import db
from assembly.membership.models import Membership
from assembly.membership.notices import opt_out_token, read_opt_out_token
from assembly.membership.operations import opt_in
from assembly.membership.operations import opt_out as end_membership
from assembly.membership.queries import list_memberships_for_email
from assembly.membership.views.blueprint import bp


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
    current_institutions = {m.institution_id for m in memberships if m.is_current}
    return render_template(
        "membership/my_memberships.html",
        memberships=memberships,
        opt_out_token=opt_out_token,
        current_institutions=current_institutions,
    )


@bp.route("/my/data.json")
@login_required
def my_data() -> ResponseReturnValue:
    """Everything the service holds about the people with the signed-in address, as JSON."""
    from assembly.privacy.operations import export_person

    text = json.dumps(export_person(current_user.email), indent=1, ensure_ascii=False) + "\n"
    return Response(
        text,
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/my/memberships/<int:membership_id>/rejoin", methods=["POST"])
@login_required
def rejoin(membership_id: int) -> ResponseReturnValue:
    """A member who opted out becomes a member again."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.person.email != current_user.email:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    opt_in(current_actor(), membership)
    db.session.commit()
    flash(f"You are a member of {membership.institution.name} again.")
    return redirect(url_for("membership.my_memberships"))


@bp.route("/opt-out/<token>", methods=["GET", "POST"])
def opt_out(token: str) -> ResponseReturnValue:
    """A member stops being a member, from the signed link in their welcome notice."""
    membership_id = read_opt_out_token(token)
    membership = db.session.get(Membership, membership_id) if membership_id else None
    if membership is None:
        abort(404)
    form = ConfirmForm()
    if membership.is_current and form.validate_on_submit():
        actor = (
            current_actor()
            if current_user.is_authenticated
            else SystemActor("member (opt-out link)")
        )
        end_membership(actor, membership)
        db.session.commit()
        return render_template("membership/opted_out.html", membership=membership)
    if not membership.is_current:
        return render_template("membership/opted_out.html", membership=membership)
    return render_template("membership/opt_out.html", membership=membership, form=form)
