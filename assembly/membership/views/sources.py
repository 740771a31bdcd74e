"""The secretary's roster source pages: set a source up, change its column mapping, and issue
and revoke the service tokens that push rosters to it."""

from __future__ import annotations

import json

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from assembly.api.tokens import issue_token, revoke_token
from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import institution_view
from assembly.clock import utcnow
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.forms import ColumnMappingForm, RosterSourceForm, ServiceTokenForm
from assembly.membership.models import Institution, RosterSource
from assembly.membership.operations import (
    COLUMN_LABELS,
    SIGNUP_SOURCE,
    ColumnMappingError,
    ensure_csv_source,
    update_column_mapping,
)
from assembly.membership.queries import (
    get_constituency,
    get_roster_source,
    get_service_token,
    list_roster_sources,
    list_service_tokens,
    service_token_status,
    summarise_roster_sources,
)
from assembly.membership.views.blueprint import PAGE_SIZE, bp, form_error
from assembly.urls import external_url


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
            form_error(form, "days" if "days" in error.message else "name", error)
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
