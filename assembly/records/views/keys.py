"""Record pages about keys: the deployment's election keys (public), and the returning
officer's signing key, which they register before the poll opens."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import is_returning_officer
from assembly.elections.access import election_view
from assembly.elections.models import Election
from assembly.elections.operations import OFFICER_KEY_STATES, register_officer_key
from assembly.errors import RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.records.forms import OfficerKeyForm
from assembly.records.operations import list_signing_keys
from assembly.records.views.blueprint import bp


@bp.route("/keys")
def keys() -> str:
    """Public: every election key of this deployment, newest first, current and retired."""
    return render_template("records/keys.html", keys=list_signing_keys())


@bp.route("/institutions/<slug>/elections/<int:election_id>/officer-key", methods=["GET", "POST"])
@election_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the election's returning officer registers their signing key.",
)
def officer_key(institution: Institution, election: Election) -> ResponseReturnValue:
    """The returning officer registers the public key they will countersign the record with,
    until the poll opens."""
    form = OfficerKeyForm()
    if form.validate_on_submit():
        try:
            changed = register_officer_key(current_actor(), election, form.public_key.data or "")
        except RuleViolation as problem:
            db.session.rollback()
            form.public_key.errors = [*form.public_key.errors, problem.message]
        else:
            db.session.commit()
            flash(
                "Your signing key is registered. Check its fingerprint below against the one "
                "`assembly keys generate` printed."
                if changed
                else "That key was already registered: nothing changed."
            )
            return redirect(
                url_for("records.officer_key", slug=institution.slug, election_id=election.id)
            )
    return render_template(
        "records/officer_key.html",
        institution=institution,
        election=election,
        form=form,
        can_register=election.state in OFFICER_KEY_STATES,
    ), (400 if form.errors else 200)
