"""The secretary's roster pages: upload a roster, follow its import run (progress, preview,
confirmation, result) and download the rows it skipped or rejected."""

from __future__ import annotations

import csv
import io
import json
import os

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import institution_view
from assembly.extensions import db
from assembly.membership.forms import RosterUploadForm
from assembly.membership.imports import RosterFileError
from assembly.membership.jobs import read_progress, start_apply, start_check
from assembly.membership.models import Institution
from assembly.membership.operations import confirm_roster, ensure_csv_source, receive_roster
from assembly.membership.queries import csv_safe, get_constituency, get_import_run, list_import_runs
from assembly.membership.views.blueprint import PAGE_SIZE, bp


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
