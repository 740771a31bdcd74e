"""Sign-in by emailed link, and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm, GrantRoleForm, SignInForm
from assembly.auth.models import Role
from assembly.auth.operations import (
    SignInFailed,
    grant_role,
    redeem_sign_in,
    request_sign_in,
    revoke_role,
)
from assembly.auth.permissions import can_grant, institution_view
from assembly.auth.queries import get_grant, list_grants
from assembly.auth.tokens import TokenInvalid, read_token
from assembly.clock import utcnow
from assembly.errors import DomainError
from assembly.extensions import db, limiter
from assembly.membership.models import Institution
from assembly.notices.delivery import deliver_after_response

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Return ``target`` only if it is a path on this site (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_PER_CLIENT"], methods=["POST"])
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("membership.home"))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        message = request_sign_in(form.email.data or "", next_path=_safe_next(form.next.data))
        message_id = message.id if message is not None else None
        db.session.commit()
        response = redirect(url_for("auth.check_email"))
        if message_id is not None:
            deliver_after_response(response, message_id)
        return response
    return render_template("auth/sign_in.html", form=form)


@bp.route("/sign-in/check-your-email")
def check_email() -> str:
    minutes = current_app.config["SIGN_IN_TOKEN_MINUTES"]
    return render_template("auth/check_email.html", minutes=minutes)


@bp.route("/sign-in/link/<token>", methods=["GET", "POST"])
def sign_in_link(token: str) -> str | Response | tuple[str, int]:
    # GET only shows a button: mail scanners that follow links must not burn them.
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            raise SignInFailed("The form expired. Open the link from your email again.")
        user = redeem_sign_in(token)
        db.session.commit()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("membership.home"))
    try:
        read_token(current_app.config["SECRET_KEY"], token, utcnow())
    except TokenInvalid as error:
        return render_template("auth/link_invalid.html", reason=str(error)), 400
    return render_template("auth/confirm_sign_in.html", form=form)


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("auth.signed_out"))


@bp.route("/signed-out")
def signed_out() -> str:
    return render_template("auth/signed_out.html")


@bp.route("/institutions/<slug>/roles", methods=["GET", "POST"])
@institution_view(Role.secretary)
def roles(institution: Institution) -> str | Response:
    form = GrantRoleForm()
    if not current_user.is_platform_admin:
        # A secretary appoints tellers; secretaries and returning officers come from the admin.
        form.role.choices = [SelectChoice(Role.teller.value, Role.teller.label)]
    if form.validate_on_submit():
        try:
            grant_role(
                current_actor(),
                institution,
                form.email.data or "",
                Role(form.role.data),
                display_name=form.display_name.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            form.email.errors = [*form.email.errors, error.message]
        else:
            db.session.commit()
            flash(f"{form.email.data} is now {Role(form.role.data).label.lower()}.")
            return redirect(url_for("auth.roles", slug=institution.slug))
    return render_template(
        "auth/roles.html",
        institution=institution,
        form=form,
        grants=list_grants(institution),
        confirm=ConfirmForm(),
        actor=current_user,
    )


@bp.route("/institutions/<slug>/roles/<int:grant_id>/revoke", methods=["GET", "POST"])
@institution_view(Role.secretary)
def role_revoke(institution: Institution, grant_id: int) -> str | Response:
    grant = get_grant(institution, grant_id)
    if grant is None or grant.revoked_at is not None:
        abort(404)
    if not can_grant(current_user, institution, grant.role):
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_role(current_actor(), grant)
        db.session.commit()
        flash(f"{grant.user.email} is no longer {grant.role.label.lower()}.")
        return redirect(url_for("auth.roles", slug=institution.slug))
    return render_template("auth/role_revoke.html", institution=institution, grant=grant, form=form)
