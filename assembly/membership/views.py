"""Pages: home, my memberships, institutions (admin), the institution dashboard and settings."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms.fields.choices import SelectChoice

from assembly.audit.queries import list_events
from assembly.auth.actors import SystemActor, current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import admin_required, can_manage, institution_view
from assembly.auth.queries import list_institution_roles
from assembly.errors import DomainError
from assembly.extensions import db, limiter
from assembly.membership.forms import (
    ConstituencyForm,
    InstitutionDetailsForm,
    InstitutionForm,
    JoinForm,
    MemberFilterForm,
    NewConstituencyForm,
    RosterUploadForm,
)
from assembly.membership.models import Institution, InstitutionKind, Membership
from assembly.membership.notices import opt_out_token, read_opt_out_token
from assembly.membership.operations import (
    add_constituency,
    check_signup,
    confirm_roster,
    create_institution,
    ensure_csv_source,
    join_community,
    opt_in,
    parse_weight,
    preview_roster,
    update_constituency,
    update_institution,
)
from assembly.membership.operations import opt_out as end_membership
from assembly.membership.queries import (
    csv_safe,
    get_constituency,
    get_import_run,
    get_institution,
    list_import_runs,
    list_institutions,
    list_members,
    list_memberships_for_email,
    summarise_constituencies,
)
from assembly.membership.rosters import RosterFileError, RosterRow, RowProblem, parse_records
from assembly.notices.delivery import deliver_after_response
from assembly.notices.operations import queue_notice
from assembly.records.canonical import rational
from assembly.urls import external_url

bp = Blueprint("membership", __name__)

PAGE_SIZE = 50


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
    current_institutions = {m.institution_id for m in memberships if m.is_current}
    return render_template(
        "membership/my_memberships.html",
        memberships=memberships,
        opt_out_token=opt_out_token,
        current_institutions=current_institutions,
    )


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
            _form_error(form, "name", error)
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
            _form_error(form, field, error)
        else:
            db.session.commit()
            flash(f"{constituency.name} added.")
            return redirect(url_for("membership.dashboard", slug=institution.slug))
    return render_template("membership/constituency_new.html", form=form, institution=institution)


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


def _upload_dir() -> str:
    return os.path.join(current_app.instance_path, "uploads")


@bp.route("/institutions/<slug>/rosters", methods=["GET", "POST"])
@institution_view(Role.secretary)
def rosters(institution: Institution) -> ResponseReturnValue:
    """Upload a roster: the file is planned and shown as a preview to confirm."""
    form = RosterUploadForm()
    form.constituency.choices = [SelectChoice(c.key, c.name) for c in institution.constituencies]
    refused = None
    if form.validate_on_submit():
        constituency = get_constituency(institution, form.constituency.data or "")
        assert constituency is not None  # the choices are the institution's constituencies
        upload = form.roster.data
        try:
            source = ensure_csv_source(current_actor(), constituency)
            plan, run = preview_roster(
                current_actor(),
                source,
                upload.read(),
                mode=form.mode.data or "snapshot",
                file_name=(upload.filename or "roster.csv")[:255],
                upload_dir=_upload_dir(),
            )
        except RosterFileError as error:
            db.session.rollback()
            form.roster.errors = [*form.roster.errors, str(error)]
        else:
            if run is None:
                db.session.rollback()
                refused = plan
            else:
                db.session.commit()
                return redirect(
                    url_for("membership.import_run", slug=institution.slug, run_id=run.id)
                )
    page = db.paginate(list_import_runs(institution), per_page=PAGE_SIZE, error_out=False)
    status = 400 if refused is not None or form.errors else 200
    return render_template(
        "membership/rosters.html", institution=institution, form=form, page=page, refused=refused
    ), status


@bp.route("/institutions/<slug>/imports/<int:run_id>", methods=["GET", "POST"])
@institution_view(Role.secretary)
def import_run(institution: Institution, run_id: int) -> ResponseReturnValue:
    """An import run: its preview (with the button that applies it) or its result."""
    run = get_import_run(institution, run_id)
    if run is None:
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        plan = confirm_roster(current_actor(), run, upload_dir=_upload_dir())
        db.session.commit()
        _forget_upload(run.id)
        counts = plan.counts()
        flash(
            f"Roster imported: {counts['new']:,} new, {counts['changed']:,} changed, "
            f"{counts['leaving']:,} leaving."
        )
        return redirect(url_for("membership.import_run", slug=institution.slug, run_id=run.id))
    return render_template(
        "membership/import_run.html",
        institution=institution,
        run=run,
        form=form,
        counts=json.loads(run.counts),
        samples=json.loads(run.samples),
        problems=json.loads(run.problems)[:100],
        problem_total=len(json.loads(run.problems)),
    )


def _forget_upload(run_id: int) -> None:
    with contextlib.suppress(OSError):
        os.remove(os.path.join(_upload_dir(), f"{run_id}.csv"))


@bp.route("/institutions/<slug>/imports/<int:run_id>/problems.csv")
@institution_view(Role.secretary)
def import_problems(institution: Institution, run_id: int) -> ResponseReturnValue:
    """Every row an import skipped or rejected, with its line and reason, as CSV."""
    run = get_import_run(institution, run_id)
    if run is None:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "external_id", "reason"])
    for problem in json.loads(run.problems):
        writer.writerow(
            [problem["line"], csv_safe(problem["external_id"]), csv_safe(problem["reason"])]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{run.id}-problems.csv"'},
    )


def _member_filters(institution: Institution):  # type: ignore[no-untyped-def]
    form = MemberFilterForm(request.args)
    form.constituency.choices = [SelectChoice("", "All constituencies")] + [
        SelectChoice(str(c.id), c.name) for c in institution.constituencies
    ]
    constituency_id = (
        int(form.constituency.data) if (form.constituency.data or "").isdigit() else None
    )
    status = (
        form.status.data
        if form.status.data in {"current", "left", "opted_out", "all"}
        else "current"
    )
    return form, list_members(
        institution, search=form.q.data or "", constituency_id=constituency_id, status=status
    )


@bp.route("/institutions/<slug>/members")
@institution_view(Role.secretary)
def members(institution: Institution) -> str:
    """The members list: search, filter by constituency and status, 50 a page."""
    form, statement = _member_filters(institution)
    page = db.paginate(statement, per_page=PAGE_SIZE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "membership/members.html", institution=institution, form=form, page=page, args=args
    )


@bp.route("/institutions/<slug>/members.csv")
@institution_view(Role.secretary)
def members_csv(institution: Institution) -> ResponseReturnValue:
    """The filtered members list as CSV, safe to open in a spreadsheet."""
    _, statement = _member_filters(institution)
    names = {c.id: c.name for c in institution.constituencies}

    def rows():  # type: ignore[no-untyped-def]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "given_name",
                "family_name",
                "email",
                "date_of_birth",
                "postcode",
                "constituency",
                "joined_on",
                "left_on",
                "opted_out_on",
                "source",
            ]
        )
        for membership in db.session.scalars(statement.execution_options(yield_per=1000)):
            person = membership.person
            writer.writerow(
                [
                    csv_safe(v)
                    for v in (
                        person.given_name,
                        person.family_name,
                        person.email,
                        person.date_of_birth,
                        person.postcode,
                        names.get(membership.constituency_id),
                        membership.joined_on,
                        membership.left_on,
                        membership.opted_out_on,
                        membership.source,
                    )
                ]
            )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{institution.slug}-members.csv"'},
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
    already = not (plan.new_people or plan.joins or (plan.links and plan.joins))
    return render_template(
        "membership/joined.html",
        institution=institution,
        already=already and plan.counts()["new"] == 0,
    )
