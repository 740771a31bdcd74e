"""Pages: home, my memberships, institutions (admin), the institution dashboard and settings."""

from __future__ import annotations

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
    jsonify,
    make_response,
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

from assembly.api.tokens import issue_token, revoke_token
from assembly.audit.queries import list_events
from assembly.auth.actors import SystemActor, current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import admin_required, can_manage, institution_view
from assembly.auth.queries import list_institution_roles
from assembly.clock import utcnow
from assembly.errors import DomainError
from assembly.extensions import db, limiter
from assembly.membership.forms import (
    ColumnMappingForm,
    ConstituencyForm,
    InstitutionDetailsForm,
    InstitutionForm,
    JoinForm,
    MemberFilterForm,
    NewConstituencyForm,
    RosterSourceForm,
    RosterUploadForm,
    ServiceTokenForm,
)
from assembly.membership.jobs import read_progress, start_apply, start_check
from assembly.membership.models import Institution, InstitutionKind, Membership, RosterSource
from assembly.membership.notices import opt_out_token, read_opt_out_token
from assembly.membership.operations import (
    COLUMN_LABELS,
    SIGNUP_SOURCE,
    ColumnMappingError,
    add_constituency,
    check_signup,
    confirm_roster,
    create_institution,
    ensure_csv_source,
    join_community,
    opt_in,
    parse_weight,
    receive_roster,
    update_column_mapping,
    update_constituency,
    update_institution,
)
from assembly.membership.operations import opt_out as end_membership
from assembly.membership.queries import (
    csv_safe,
    get_constituency,
    get_import_run,
    get_institution,
    get_roster_source,
    get_service_token,
    list_import_runs,
    list_institutions,
    list_members,
    list_memberships_for_email,
    list_roster_sources,
    list_service_tokens,
    service_token_status,
    summarise_constituencies,
    summarise_roster_sources,
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
    """Upload a roster: it is kept and checked in the background, then shown to confirm."""
    form = RosterUploadForm()
    form.constituency.choices = [SelectChoice(c.key, c.name) for c in institution.constituencies]
    if form.validate_on_submit():
        constituency = get_constituency(institution, form.constituency.data or "")
        assert constituency is not None  # the choices are the institution's constituencies
        upload = form.roster.data
        try:
            source = ensure_csv_source(current_actor(), constituency)
            run = receive_roster(
                current_actor(),
                source,
                upload.stream,
                mode=form.mode.data or "snapshot",
                file_name=(upload.filename or "roster.csv")[:255],
                upload_dir=_upload_dir(),
            )
        except RosterFileError as error:
            db.session.rollback()
            form.roster.errors = [*form.roster.errors, str(error)]
        else:
            db.session.commit()
            start_check(run, current_user.id, _upload_dir())
            return redirect(url_for("membership.import_run", slug=institution.slug, run_id=run.id))
    page = db.paginate(list_import_runs(institution), per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "membership/rosters.html", institution=institution, form=form, page=page
    ), (400 if form.errors else 200)


@bp.route("/institutions/<slug>/imports/<int:run_id>", methods=["GET", "POST"])
@institution_view(Role.secretary)
def import_run(institution: Institution, run_id: int) -> ResponseReturnValue:
    """An import run: its progress, its preview (with the button that applies it), or its
    result."""
    run = get_import_run(institution, run_id)
    if run is None:
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        confirm_roster(current_actor(), run)
        db.session.commit()
        start_apply(run, current_user.id, _upload_dir())
        return redirect(url_for("membership.import_run", slug=institution.slug, run_id=run.id))
    problems = json.loads(run.problems)
    response = make_response(
        render_template(
            "membership/import_run.html",
            institution=institution,
            run=run,
            form=form,
            progress=read_progress(_upload_dir(), run),
            counts=json.loads(run.counts),
            samples=json.loads(run.samples),
            problems=problems[:100],
            problem_total=len(problems),
        )
    )
    if run.status.is_running:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/institutions/<slug>/imports/<int:run_id>/progress")
@institution_view(Role.secretary)
def import_progress(institution: Institution, run_id: int) -> ResponseReturnValue:
    """How far a running import has got, as JSON, for the run page's progress bar."""
    run = get_import_run(institution, run_id)
    if run is None:
        abort(404)
    progress = read_progress(_upload_dir(), run)
    response = jsonify(
        {
            "status": run.status.value,
            "running": progress is not None,
            "stalled": bool(progress and progress.stalled),
            "line": progress.line if progress else 0,
            "total": progress.total if progress else run.lines_total,
            "percent": progress.percent if progress else 100,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


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
    already = plan.counts()["new"] == 0
    return render_template(
        "membership/joined.html",
        institution=institution,
        already=already,
    )


# --- Roster sources: their column mappings and their service tokens -------------------------


def _roster_source(institution: Institution, key: str, *, fed: bool = False) -> RosterSource:
    """Return the institution's source ``key`` or answer 404.

    :param fed: only a source fed by files or pushes: the community sign-up source is fed by
        the public sign-up page alone, so it has no column headers to set and takes no tokens
        (a snapshot pushed to it would end every sign-up's membership).
    """
    source = get_roster_source(institution, key)
    if source is None or (fed and source.key == SIGNUP_SOURCE):
        abort(404)
    return source


@bp.route("/institutions/<slug>/rosters/sources", methods=["GET", "POST"])
@institution_view(Role.secretary)
def roster_sources(institution: Institution) -> ResponseReturnValue:
    """The institution's roster sources; set one up before its first roster arrives."""
    summaries = list_roster_sources(institution)
    form = RosterSourceForm()
    form.constituency.choices = [SelectChoice(c.key, c.name) for c in institution.constituencies]
    if form.validate_on_submit():
        constituency = get_constituency(institution, form.constituency.data or "")
        assert constituency is not None  # the choices are the institution's constituencies
        # Each constituency has one source for uploads and pushes; asking again finds it.
        source = ensure_csv_source(current_actor(), constituency)
        db.session.commit()
        if all(s.source.id != source.id for s in summaries):
            flash(f"{source.name} is set up.")
        return redirect(
            url_for("membership.roster_source", slug=institution.slug, source_key=source.key)
        )
    return render_template(
        "membership/roster_sources.html",
        institution=institution,
        summaries=summaries,
        form=form,
    ), (400 if form.errors else 200)


def _render_source(
    institution: Institution, source: RosterSource, form: ServiceTokenForm, status: int = 200
) -> ResponseReturnValue:
    [summary] = summarise_roster_sources([source])
    page = db.paginate(list_service_tokens(source), per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "membership/roster_source.html",
        institution=institution,
        source=source,
        summary=summary,
        mapping=json.loads(source.column_mapping or "{}"),
        labels=COLUMN_LABELS,
        page=page,
        now=utcnow(),
        token_status=service_token_status,
        push_url=external_url("api.roster_push", slug=institution.slug, source_key=source.key),
        is_fed=source.key != SIGNUP_SOURCE,
        form=form,
    ), status


@bp.route("/institutions/<slug>/rosters/sources/<source_key>")
@institution_view(Role.secretary)
def roster_source(institution: Institution, source_key: str) -> ResponseReturnValue:
    """A roster source: its details, its column mapping and its service tokens."""
    return _render_source(institution, _roster_source(institution, source_key), ServiceTokenForm())


@bp.route("/institutions/<slug>/rosters/sources/<source_key>/mapping", methods=["GET", "POST"])
@institution_view(Role.secretary)
def roster_mapping_edit(institution: Institution, source_key: str) -> ResponseReturnValue:
    """Change which column of the source's CSV files holds each roster field."""
    source = _roster_source(institution, source_key, fed=True)
    form = ColumnMappingForm(data=json.loads(source.column_mapping or "{}"))
    if form.validate_on_submit():
        try:
            update_column_mapping(
                current_actor(), source, {field: form[field].data or "" for field in COLUMN_LABELS}
            )
        except ColumnMappingError as error:
            db.session.rollback()
            for field, message in error.problems.items():
                form[field].errors = [*form[field].errors, message]
        else:
            db.session.commit()
            flash(f"Column headers for {source.name} saved.")
            return redirect(
                url_for("membership.roster_source", slug=institution.slug, source_key=source.key)
            )
    return render_template(
        "membership/roster_mapping_edit.html", institution=institution, source=source, form=form
    ), (400 if form.errors else 200)


@bp.route("/institutions/<slug>/rosters/sources/<source_key>/tokens", methods=["POST"])
@institution_view(Role.secretary)
def service_token_new(institution: Institution, source_key: str) -> ResponseReturnValue:
    """Make a service token and show it, once, in this response and nowhere else."""
    source = _roster_source(institution, source_key, fed=True)
    form = ServiceTokenForm()
    if form.validate_on_submit():
        try:
            row, token = issue_token(
                current_actor(), source, name=form.name.data or "", days=form.days.data or 0
            )
        except DomainError as error:
            db.session.rollback()
            _form_error(form, "days" if "days" in error.message else "name", error)
        else:
            db.session.commit()
            response = make_response(
                render_template(
                    "membership/service_token_new.html",
                    institution=institution,
                    source=source,
                    row=row,
                    token=token,
                    push_url=external_url(
                        "api.roster_push", slug=institution.slug, source_key=source.key
                    ),
                )
            )
            # The token is a credential: no cache or history may keep a copy of this page.
            response.headers["Cache-Control"] = "no-store"
            return response
    return _render_source(institution, source, form, status=400)


@bp.route(
    "/institutions/<slug>/rosters/sources/<source_key>/tokens/<int:token_id>/revoke",
    methods=["GET", "POST"],
)
@institution_view(Role.secretary)
def service_token_revoke(
    institution: Institution, source_key: str, token_id: int
) -> ResponseReturnValue:
    """Ask to confirm, then revoke a service token: the API refuses it from then on."""
    source = _roster_source(institution, source_key)
    row = get_service_token(source, token_id)
    if row is None:
        abort(404)
    back = url_for("membership.roster_source", slug=institution.slug, source_key=source.key)
    if row.revoked_at is not None:
        flash(f"The token {row.name} was already revoked.")
        return redirect(back)
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_token(current_actor(), row)
        db.session.commit()
        flash(f"The token {row.name} is revoked. Pushes that use it are refused from now on.")
        return redirect(back)
    return render_template(
        "membership/service_token_revoke.html",
        institution=institution,
        source=source,
        row=row,
        form=form,
        status=service_token_status(row, utcnow()),
    )
