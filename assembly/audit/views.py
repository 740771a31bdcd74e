"""The audit log page of an institution."""

from __future__ import annotations

import json

from flask import Blueprint, render_template

from assembly.audit.queries import list_events
from assembly.auth.models import Role
from assembly.auth.permissions import institution_view
from assembly.extensions import db
from assembly.membership.models import Institution

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50


@bp.route("/institutions/<slug>/audit")
@institution_view(Role.secretary, Role.returning_officer)
def log(institution: Institution) -> str:
    page = db.paginate(list_events(institution), per_page=PAGE_SIZE, error_out=False)
    details = {e.id: json.loads(e.data) for e in page.items}
    return render_template("audit/log.html", institution=institution, page=page, details=details)
