"""The public sign-up pages: a local resident asks to join the community constituency, and
confirms from the link emailed to them."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from assembly.auth.forms import ConfirmForm
from assembly.extensions import db, limiter
from assembly.membership.forms import JoinForm
from assembly.membership.imports import RosterRow, RowProblem, parse_records
from assembly.membership.models import Institution
from assembly.membership.operations import check_signup, join_community
from assembly.membership.queries import get_institution
from assembly.membership.views.blueprint import bp
from assembly.notices.delivery import deliver_after_response
from assembly.notices.operations import queue_notice
from assembly.urls import external_url

_JOIN_SALT = "assembly.membership.join"
#: A join confirmation link works for a day.
JOIN_LINK_SECONDS = 24 * 3600


def _join_serializer():  # type: ignore[no-untyped-def]
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_JOIN_SALT)


def _public_institution(slug: str) -> Institution:
    institution = get_institution(slug)
    if institution is None:
        abort(404)
    return institution


@bp.route("/institutions/<slug>/join", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def join(slug: str) -> ResponseReturnValue:
    """A local resident asks to join the community constituency; we email a link to confirm."""
    institution = _public_institution(slug)
    form = JoinForm()
    if form.validate_on_submit():
        values = {
            "external_id": f"signup:{(form.email.data or '').strip().lower()}",
            "given_name": form.given_name.data,
            "family_name": form.family_name.data,
            "email": form.email.data,
            "postcode": form.postcode.data,
            "date_of_birth": form.date_of_birth.data.isoformat()
            if form.date_of_birth.data
            else None,
        }
        [row] = parse_records([values])
        if isinstance(row, RowProblem):
            field = next(
                (f for f in ("postcode", "email", "given_name", "family_name") if f in row.reason),
                "postcode",
            )
            form[field].errors = [*form[field].errors, row.reason[:1].upper() + row.reason[1:]]
        else:
            assert isinstance(row, RosterRow)
            reason = check_signup(institution, row)
            if reason is not None:
                field = "date_of_birth" if "under" in reason else "postcode"
                form[field].errors = [
                    *form[field].errors,
                    f"You cannot join: {reason.removeprefix('ineligible: ')}",
                ]
            else:
                token = _join_serializer().dumps({**values, "institution": institution.id})
                message = queue_notice(
                    "confirm_signup",
                    row.email or "",
                    f"Confirm that you want to join {institution.name}",
                    "confirm_signup",
                    institution=institution,
                    name=row.given_name,
                    link=external_url(
                        "membership.join_confirm", slug=institution.slug, token=token
                    ),
                )
                db.session.commit()
                response = redirect(url_for("membership.join_sent", slug=institution.slug))
                deliver_after_response(response, message.id)
                return response
        db.session.rollback()
    return render_template("membership/join.html", institution=institution, form=form)


@bp.route("/institutions/<slug>/join/check-your-email")
def join_sent(slug: str) -> ResponseReturnValue:
    institution = _public_institution(slug)
    return render_template("membership/join_sent.html", institution=institution)


@bp.route("/institutions/<slug>/join/confirm/<token>", methods=["GET", "POST"])
def join_confirm(slug: str, token: str) -> ResponseReturnValue:
    """The resident confirms from the emailed link and becomes a member."""
    institution = _public_institution(slug)
    try:
        values = _join_serializer().loads(token, max_age=JOIN_LINK_SECONDS)
    except SignatureExpired:
        return render_template(
            "membership/join_failed.html",
            institution=institution,
            reason="This link has expired. Ask to join again.",
        ), 400
    except BadSignature:
        return render_template(
            "membership/join_failed.html",
            institution=institution,
            reason="This link is not valid. Ask to join again.",
        ), 400
    if values.get("institution") != institution.id:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "membership/join_confirm.html",
            institution=institution,
            form=form,
            name=values.get("given_name"),
        )
    values.pop("institution")
    [row] = parse_records([values])
    assert isinstance(row, RosterRow)  # it was checked before the link was sent
    plan = join_community(institution, row)
    db.session.commit()
    if plan.skipped:
        reason = plan.skipped[0].reason
        if reason.startswith("opted out"):
            reason = (
                "You stopped being a member earlier. Sign in and choose 'Become a member "
                "again' on your memberships page."
            )
        return render_template(
            "membership/join_failed.html", institution=institution, reason=reason
        ), 409
    already = plan.counts()["new"] == 0
    return render_template(
        "membership/joined.html",
        institution=institution,
        already=already,
    )
