"""Board election pages about its signed record, kept by the records service: the record of
a counted election (what it holds, its keys and hash, to download and verify), a member's roll
proof, the returning officer's countersignature, and the signing key they register before the
poll opens.

The record's URLs, ``/records/<id>``, name no institution, as published links always have: a
record page loads its election with ``record_of``, and shows it to the same people as the
result (``elections.queries.can_see_results``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import is_returning_officer
from assembly.elections.access import election_view
from assembly.elections.models import Election
from assembly.elections.operations import OFFICER_KEY_STATES, register_officer_key
from assembly.elections.queries import can_see_results
from assembly.elections.record import countersign_record, get_record, roll_proofs
from assembly.elections.states import ElectionState
from assembly.elections.views.blueprint import bp
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.records.forms import CountersignForm, OfficerKeyForm
from assembly.records.merkle import verify_inclusion
from assembly.records.models import Record
from assembly.records.operations import published
from assembly.records.record import document_text, roll_leaf
from assembly.records.views.uploads import (
    SMALL_FILE_LIMIT,
    UploadProblem,
    file_size,
    read_json_upload,
)

#: Record summaries kept in memory: a record's body never changes, and reading a large one, a
#: million ballots, takes seconds.
SUMMARIES_KEPT = 32


def record_of(election_id: int) -> tuple[Election, Record]:
    """The election and its record, if this visitor may see it (else 404)."""
    election = db.session.get(Election, election_id)
    if election is None:
        abort(404)
    row = get_record(election)
    if row is None or not can_see_results(current_user, election):
        abort(404)
    return election, row


# --- the record, summed up ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContestSummary:
    """One contest of a record: counts and roots, never the ballots themselves."""

    id: int
    constituency: str
    seats: int
    method: str
    uncontested: bool
    voters: int
    roll_root: str
    ballots: int
    ballots_root: str
    elected: tuple[str, ...]


@dataclass(frozen=True)
class RecordSummary:
    """What the record page shows of a record's body."""

    body_sha256: str
    issued_at: str
    institution: str
    election: str
    election_key: str
    officer_key: str
    audit_seq: int
    contests: tuple[ContestSummary, ...]


_SUMMARIES: dict[str, RecordSummary] = {}
_SUMMARIES_LOCK = threading.Lock()


def _summarise(body_sha256: str, document: str) -> RecordSummary:
    record = json.loads(document)
    body = record["body"]
    contests = []
    for contest in body["contests"]:
        names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
        contests.append(
            ContestSummary(
                id=contest["id"],
                constituency=contest["constituency"]["name"],
                seats=contest["seats"],
                method=contest["method"],
                uncontested=contest["uncontested"],
                voters=contest["roll"]["voters"],
                roll_root=contest["roll"]["merkle_root"],
                ballots=contest["ballots"]["count"],
                ballots_root=contest["ballots"]["merkle_root"],
                elected=tuple(names.get(i, f"#{i}") for i in contest["elected"]),
            )
        )
    return RecordSummary(
        body_sha256=body_sha256,
        issued_at=body["issued_at"],
        institution=body["institution"]["name"],
        election=body["election"]["title"],
        election_key=body["keys"]["election"]["fingerprint"],
        officer_key=body["keys"]["returning_officer"]["fingerprint"],
        audit_seq=body["audit"]["seq"],
        contests=tuple(contests),
    )


def record_summary(row: Record) -> RecordSummary:
    """The record's summary, read once per process (the body is fixed by its hash)."""
    summary = _SUMMARIES.get(row.body_sha256)
    if summary is None:
        summary = _summarise(row.body_sha256, row.document)
        with _SUMMARIES_LOCK:
            while len(_SUMMARIES) >= SUMMARIES_KEPT:
                _SUMMARIES.pop(next(iter(_SUMMARIES)))
            _SUMMARIES[row.body_sha256] = summary
    return summary


@bp.app_context_processor
def _record_links() -> dict[str, Any]:
    """Let the election and result pages ask whether an election has a record yet."""
    return {"election_record": get_record}


def record_page(
    election: Election,
    row: Record,
    countersign: CountersignForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The record's page (with the countersignature form for its returning officer)."""
    is_officer = current_user.is_authenticated and election.is_returning_officer(current_user)
    can_countersign = (
        is_officer and election.state == ElectionState.counted and not row.officer_signature
    )
    forms: dict[str, CountersignForm] = {}
    if can_countersign:
        # Named ``form`` for the page's error summary (base.html).
        forms["form"] = countersign if countersign is not None else CountersignForm(formdata=None)
    return render_template(
        "elections/record.html",
        institution=election.institution,
        election=election,
        row=row,
        summary=record_summary(row),
        is_officer=is_officer,
        can_countersign=can_countersign,
        max_signature=file_size(SMALL_FILE_LIMIT),
        **forms,
    ), status


@bp.route("/records/<int:election_id>")
def record(election_id: int) -> ResponseReturnValue:
    """A counted election's record: what it holds, its keys and hash, download and verify."""
    election, row = record_of(election_id)
    return record_page(election, row)


@bp.route("/records/<int:election_id>.json")
def record_json(election_id: int) -> ResponseReturnValue:
    """The record as published (with the returning officer's signature once they added it),
    as a file for ``assembly verify``."""
    election, row = record_of(election_id)
    document = published(row)
    text = document_text(document)
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": (f'attachment; filename="{_record_file_name(election)}"')},
    )


# --- a member's roll proof ---------------------------------------------------------------------


@dataclass(frozen=True)
class RollProofShown:
    """A roll proof on the member's page, checked against the record's roll root."""

    contest: ContestSummary
    proof: dict[str, Any]
    holds: bool


def _roll_proofs_shown(election: Election, row: Record) -> list[RollProofShown]:
    contests = {c.id: c for c in record_summary(row).contests}
    shown = []
    for contest, proof in roll_proofs(election, current_user.email):
        summary = contests.get(contest.id)
        if summary is None:
            continue
        leaf = roll_leaf(contest.id, proof["number"], proof["email"], proof["salt"])
        holds = summary.voters == proof["size"] and verify_inclusion(
            leaf, proof["index"], proof["size"], proof["path"], summary.roll_root
        )
        shown.append(RollProofShown(summary, proof, holds))
    return shown


@bp.route("/records/<int:election_id>/roll-proof")
@login_required
def roll_proof(election_id: int) -> ResponseReturnValue:
    """The signed-in member's proof that they were on the election's roll: their elector
    number, salt and Merkle path, checked here against the record's roll root and
    downloadable for ``assembly verify --roll-proof``. Nobody else's entry is shown."""
    election, row = record_of(election_id)
    return render_template(
        "elections/roll_proof.html",
        institution=election.institution,
        election=election,
        proofs=_roll_proofs_shown(election, row),
        file_name=_record_file_name(election),
    )


@bp.route("/records/<int:election_id>/roll-proof/<int:contest_id>.json")
@login_required
def roll_proof_json(election_id: int, contest_id: int) -> ResponseReturnValue:
    """The member's roll proof for one contest, as a file."""
    election, _row = record_of(election_id)
    proof = next(
        (p for c, p in roll_proofs(election, current_user.email) if c.id == contest_id), None
    )
    if proof is None:
        abort(404)
    text = document_text(proof)
    name = f"roll-proof-{election.institution.slug}-{election.id}-{contest_id}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _record_file_name(election: Election) -> str:
    return f"record-{election.institution.slug}-{election.id}.json"


@bp.route("/records/<int:election_id>/countersign", methods=["POST"])
@login_required
def record_countersign(election_id: int) -> ResponseReturnValue:
    """The returning officer uploads the signature ``assembly record sign`` made of the
    record; once it checks out against their registered key, the record carries it."""
    election, row = record_of(election_id)
    if not election.is_returning_officer(current_user):
        raise NotEligible("Only the election's returning officer can countersign its record.")
    if election.state != ElectionState.counted or row.officer_signature:
        raise InvalidTransition(
            "The record is countersigned once, after the count and before the declaration: "
            "this one is already countersigned."
            if row.officer_signature
            else "A record is countersigned after the count and before the declaration."
        )
    form = CountersignForm()
    if form.validate_on_submit():
        try:
            signature = read_json_upload(form.signature.data, "signature file", SMALL_FILE_LIMIT)
            countersign_record(current_actor(), election, signature)
        except (UploadProblem, RuleViolation) as problem:
            db.session.rollback()
            message = problem.message if isinstance(problem, RuleViolation) else str(problem)
            form.signature.errors = [*form.signature.errors, message]
        else:
            db.session.commit()
            flash(
                "You countersigned the record. The result can now be declared, on the results page."
            )
            return redirect(url_for("elections.record", election_id=election.id))
    return record_page(election, row, form, status=400)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A countersignature over the request limit: the record's page again, saying so (nothing
    was read). Any other board election page answers as every page does."""
    db.session.rollback()
    if request.endpoint != "elections.record_countersign":
        # The app's own 413 page (errors.register_error_handlers), which this handler, being
        # the blueprint's, comes before.
        return render_template(
            "errors/error.html", title=error.name, message=error.description, status=413
        ), 413
    limit = file_size(int(current_app.config["MAX_CONTENT_LENGTH"]))
    message = f"The file is larger than {limit}, the most this page takes"
    election = db.session.get(Election, (request.view_args or {}).get("election_id", 0))
    row = get_record(election) if election is not None else None
    if election is not None and row is not None and can_see_results(current_user, election):
        countersign = CountersignForm(formdata=None)
        countersign.signature.errors = [message]
        return record_page(election, row, countersign, status=413)
    return render_template(
        "errors/error.html", title="The file is too large", message=message, status=413
    ), 413


# --- the returning officer's signing key -------------------------------------------------------


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
                url_for("elections.officer_key", slug=institution.slug, election_id=election.id)
            )
    return render_template(
        "elections/officer_key.html",
        institution=institution,
        election=election,
        form=form,
        can_register=election.state in OFFICER_KEY_STATES,
    ), (400 if form.errors else 200)
