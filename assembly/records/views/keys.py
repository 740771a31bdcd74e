"""The deployment's election keys (public). A returning officer's own signing key is
registered on a page of the feature whose record they countersign."""

from __future__ import annotations

from flask import render_template

from assembly.records.operations import list_signing_keys
from assembly.records.views.blueprint import bp


@bp.route("/keys")
def keys() -> str:
    """Public: every election key of this deployment, newest first, current and retired."""
    return render_template("records/keys.html", keys=list_signing_keys())
