"""The secretary's members list: search and filter it, 50 a page, or download it as CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from assembly.auth.models import Role
from assembly.auth.permissions import institution_view
from assembly.extensions import db
from assembly.membership.forms import MemberFilterForm
from assembly.membership.models import Institution
from assembly.membership.queries import csv_safe, list_members
from assembly.membership.views.blueprint import PAGE_SIZE, bp


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
