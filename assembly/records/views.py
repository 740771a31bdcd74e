"""Pages of election records: the deployment's election keys, each counted election's record
(to read, download and verify), the returning officer's countersignature and signing key,
and the verify page, which checks a published or uploaded record in the browser's request
and stores nothing.

A record is shown to the same people as the result: everyone once it is declared; the
secretary and the returning officer from the count, so that the officer can download and
countersign it before they declare.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import can_manage, institution_view
from assembly.elections.models import Election
from assembly.elections.operations import OFFICER_KEY_STATES, register_officer_key
from assembly.elections.record import KIND as ELECTION_RECORD
from assembly.elections.record import countersign_record, get_record, roll_proofs
from assembly.elections.states import ElectionState
from assembly.errors import InvalidTransition, NotEligible, RuleViolation
from assembly.extensions import db, limiter
from assembly.membership.models import Institution
from assembly.records.forms import CountersignForm, OfficerKeyForm, VerifyForm
from assembly.records.merkle import verify_inclusion
from assembly.records.models import Record, SigningKey
from assembly.records.operations import list_signing_keys, published
from assembly.records.record import document_text, roll_leaf
from assembly.records.verify import Report, normalise_tracker, verify_record

__all__ = ["bp"]

bp = Blueprint("records", __name__)

#: The largest signature or receipt file taken: each is a few hundred bytes.
SMALL_FILE_LIMIT = 64 * 1024
#: Record summaries and reports kept in memory: a record's body never changes, and reading
#: (and recounting) a large one, a million ballots, takes seconds.
SUMMARIES_KEPT = 32
#: Checks a visitor may ask for, each of which may recount a whole election.
VERIFY_LIMIT = "30 per 15 minutes"


# --- who sees a record ------------------------------------------------------------------------


def _record_visible(election: Election) -> bool:
    """Everyone sees a declared election's record; from the count, its secretary and its
    returning officer (as the result page)."""
    if election.state == ElectionState.declared:
        return True
    if election.state != ElectionState.counted or not current_user.is_authenticated:
        return False
    return bool(
        can_manage(current_user, election.institution)
        or election.is_returning_officer(current_user)
    )


def _record_of(election_id: int) -> tuple[Election, Record]:
    """The election and its record, if this visitor may see it (else 404)."""
    election = db.session.get(Election, election_id)
    if election is None:
        abort(404)
    row = get_record(election)
    if row is None or not _record_visible(election):
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


# --- uploads ----------------------------------------------------------------------------------


class UploadProblem(ValueError):
    """An uploaded file that cannot be used; the message says why, for the form."""


def _has_file(upload: Any) -> bool:
    return isinstance(upload, FileStorage) and bool(upload.filename)


def read_json_upload(upload: FileStorage, what: str, limit: int | None) -> dict[str, Any]:
    """The JSON object in an uploaded file.

    :param what: the file as the person knows it ("signature file").
    :param limit: the most bytes taken, or None for the request's own limit.
    :raises UploadProblem: too big, not UTF-8 JSON, or not a JSON object.
    """
    data = upload.stream.read() if limit is None else upload.stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise UploadProblem(
            f"The {what} is larger than {limit // 1024} KB, so it is not the right file: "
            f"choose the {what} itself"
        )
    if not data.strip():
        raise UploadProblem(f"The {what} is empty")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise UploadProblem(
            f"The {what} is not JSON: choose the file as it was written, unchanged"
        ) from None
    if not isinstance(value, dict):
        raise UploadProblem(f"The {what} holds JSON, but not an object: it is not the right file")
    return value


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """An upload over the request limit: the form again, saying so (nothing was read)."""
    db.session.rollback()
    limit = _size(int(current_app.config["MAX_CONTENT_LENGTH"]))
    message = f"The file is larger than {limit}, the most this page takes"
    if request.endpoint == "records.verify":
        form = VerifyForm(formdata=None)
        form.election.choices = _verify_choices()
        form.record.errors = [message]
        return _verify_page(form, status=413)
    election = db.session.get(Election, (request.view_args or {}).get("election_id", 0))
    row = get_record(election) if election is not None else None
    if (
        request.endpoint == "records.record_countersign"
        and election is not None
        and row is not None
        and _record_visible(election)
    ):
        countersign = CountersignForm(formdata=None)
        countersign.signature.errors = [message]
        return _record_page(election, row, countersign, status=413)
    return render_template(
        "errors/error.html", title="The file is too large", message=message, status=413
    ), 413


@bp.app_context_processor
def _record_links() -> dict[str, Any]:
    """Let the election and result pages ask whether an election has a record yet."""
    return {"election_record": get_record}


# --- the deployment's keys --------------------------------------------------------------------


@bp.route("/keys")
def keys() -> str:
    """Public: every election key of this deployment, newest first, current and retired."""
    return render_template("records/keys.html", keys=list_signing_keys())


# --- a record ---------------------------------------------------------------------------------


def _record_page(
    election: Election,
    row: Record,
    countersign: CountersignForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    is_officer = current_user.is_authenticated and election.is_returning_officer(current_user)
    can_countersign = (
        is_officer and election.state == ElectionState.counted and not row.officer_signature
    )
    forms: dict[str, CountersignForm] = {}
    if can_countersign:
        # Named ``form`` for the page's error summary (base.html).
        forms["form"] = countersign if countersign is not None else CountersignForm(formdata=None)
    return render_template(
        "records/record.html",
        institution=election.institution,
        election=election,
        row=row,
        summary=record_summary(row),
        is_officer=is_officer,
        can_countersign=can_countersign,
        max_signature=_size(SMALL_FILE_LIMIT),
        **forms,
    ), status


@bp.route("/records/<int:election_id>")
def record(election_id: int) -> ResponseReturnValue:
    """A counted election's record: what it holds, its keys and hash, download and verify."""
    election, row = _record_of(election_id)
    return _record_page(election, row)


@bp.route("/records/<int:election_id>.json")
def record_json(election_id: int) -> ResponseReturnValue:
    """The record as published (with the returning officer's signature once they added it),
    as a file for ``assembly verify``."""
    election, row = _record_of(election_id)
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
    election, row = _record_of(election_id)
    return render_template(
        "records/roll_proof.html",
        institution=election.institution,
        election=election,
        proofs=_roll_proofs_shown(election, row),
        file_name=_record_file_name(election),
    )


@bp.route("/records/<int:election_id>/roll-proof/<int:contest_id>.json")
@login_required
def roll_proof_json(election_id: int, contest_id: int) -> ResponseReturnValue:
    """The member's roll proof for one contest, as a file."""
    election, _row = _record_of(election_id)
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
    election, row = _record_of(election_id)
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
            return redirect(url_for("records.record", election_id=election.id))
    return _record_page(election, row, form, status=400)


# --- the returning officer's key --------------------------------------------------------------


@bp.route("/institutions/<slug>/elections/<int:election_id>/officer-key", methods=["GET", "POST"])
@institution_view(Role.returning_officer)
def officer_key(institution: Institution, election_id: int) -> ResponseReturnValue:
    """The returning officer registers the public key they will countersign the record with,
    until the poll opens."""
    election = db.session.get(Election, election_id)
    if election is None or election.institution_id != institution.id:
        abort(404)
    if not election.is_returning_officer(current_user):
        raise NotEligible("Only the election's returning officer registers their signing key.")
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


# --- verify -----------------------------------------------------------------------------------


def _visible_records() -> list[Election]:
    """Elections whose record this visitor may see: declared ones, newest first, then (for
    their officers) counted ones."""
    elections = db.session.scalars(
        select(Election)
        .options(joinedload(Election.institution))
        .join(Record, (Record.kind == ELECTION_RECORD) & (Record.subject_id == Election.id))
        .where(Election.state.in_([ElectionState.declared, ElectionState.counted]))
        .order_by(Election.id.desc())
    ).all()
    return [e for e in elections if _record_visible(e)]


def _verify_choices() -> list[tuple[int, str]]:
    return [(0, "Choose a record")] + [
        (
            e.id,
            f"{e.institution.name}: {e.title}"
            + ("" if e.state == ElectionState.declared else " (counted, not yet declared)"),
        )
        for e in _visible_records()
    ]


def _pinned_keys(record: dict[str, Any]) -> tuple[Election | None, list[str]]:
    """The election of this service a record names, and the fingerprints of the keys this
    service holds for it (its election key, its returning officer's): the record must be
    signed by those. None and no fingerprints for a record of no election whose record this
    visitor may see here."""
    body = record.get("body")
    if not isinstance(body, dict):
        return None, []
    named = body.get("election")
    institution = body.get("institution")
    if not isinstance(named, dict) or not isinstance(institution, dict):
        return None, []
    election_id, slug = named.get("id"), institution.get("slug")
    if type(election_id) is not int or not isinstance(slug, str):
        return None, []
    election = db.session.get(Election, election_id)
    if (
        election is None
        or election.institution.slug != slug
        or get_record(election) is None
        or not _record_visible(election)
    ):
        return None, []
    fingerprints = _election_keys(election)
    return (election, fingerprints) if fingerprints else (None, [])


def _election_keys(election: Election) -> list[str]:
    """The fingerprints of the keys this service holds for an election (its election key,
    its returning officer's), or none if it lacks either."""
    key = db.session.get(SigningKey, election.signing_key_id) if election.signing_key_id else None
    if key is None or not election.officer_fingerprint:
        return []
    return [key.fingerprint, election.officer_fingerprint]


@dataclass(frozen=True)
class BallotFound:
    """A ballot found by its tracker, for the voter: its contest and choices by name."""

    contest: str
    ranked: bool
    names: tuple[str, ...]


def find_ballots(record: dict[str, Any], tracker: str) -> list[BallotFound]:
    """The ballots with this tracker in a (possibly malformed) record, with candidate names."""
    found: list[BallotFound] = []
    body = record.get("body")
    contests = body.get("contests") if isinstance(body, dict) else None
    for contest in contests if isinstance(contests, list) else []:
        try:
            items = contest["ballots"]["items"]
            names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
            label = contest["constituency"]["name"]
            ranked = contest["method"] == "stv"
            for item in items:
                if item["tracker"] == tracker:
                    found.append(
                        BallotFound(
                            contest=str(label),
                            ranked=ranked,
                            names=tuple(
                                str(names.get(i, f"unknown candidate {i}")) for i in item["ranking"]
                            ),
                        )
                    )
        except (KeyError, TypeError):
            continue  # the verifier's steps say what is wrong with such a contest
    return found


def _verify_page(
    form: VerifyForm,
    *,
    report: Report | None = None,
    source: str = "",
    pinned: Election | None = None,
    pinned_keys: list[str] | None = None,
    tracker: str | None = None,
    ballots: list[BallotFound] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    failed = [step for step in report.steps if not step.passed] if report else []
    return render_template(
        "records/verify.html",
        form=form,
        report=report,
        failed=failed,
        source=source,
        pinned=pinned,
        pinned_keys=pinned_keys or [],
        tracker=tracker,
        ballots=ballots or [],
        max_record=_size(int(current_app.config["MAX_CONTENT_LENGTH"])),
        max_small=_size(SMALL_FILE_LIMIT),
    ), status


#: Reports on published records checked without a receipt, tracker or signature, by the
#: election, its body hash and the officer's signature (which is all that can change).
_REPORTS: dict[tuple[int, str, str], Report] = {}


def _published_report(election: Election, row: Record) -> Report:
    """The report on a published record as it stands, made once per process (the record,
    up to a million ballots, is read only then)."""
    key = (election.id, row.body_sha256, row.officer_signature)
    report = _REPORTS.get(key)
    if report is None:
        report = verify_record(published(row), fingerprints=_election_keys(election))
        with _SUMMARIES_LOCK:
            while len(_REPORTS) >= SUMMARIES_KEPT:
                _REPORTS.pop(next(iter(_REPORTS)))
            _REPORTS[key] = report
    return report


def _check_published(
    form: VerifyForm,
    election: Election,
    row: Record,
    signature: dict[str, Any] | None = None,
    receipt: dict[str, Any] | None = None,
    roll_proof: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """Verify a published record: from the report kept in memory when nothing was added to
    check with it, else afresh."""
    source = _published_source(election)
    if signature is None and receipt is None and roll_proof is None and not form.tracker.data:
        return _verify_page(
            form,
            report=_published_report(election, row),
            source=source,
            pinned=election,
            pinned_keys=_election_keys(election),
        )
    return _check(form, published(row), source, signature, receipt, roll_proof)


def _check(
    form: VerifyForm,
    record: dict[str, Any],
    source: str,
    signature: dict[str, Any] | None = None,
    receipt: dict[str, Any] | None = None,
    roll_proof: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """Run the verifier on ``record`` and show every step."""
    tracker = normalise_tracker(form.tracker.data) if form.tracker.data else None
    pinned, fingerprints = _pinned_keys(record)
    report = verify_record(
        record,
        signature=signature,
        receipt=receipt,
        tracker=tracker,
        fingerprints=fingerprints,
        roll_proof=roll_proof,
    )
    return _verify_page(
        form,
        report=report,
        source=source,
        pinned=pinned,
        pinned_keys=fingerprints,
        tracker=tracker,
        ballots=find_ballots(record, tracker) if tracker else [],
    )


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
def verify() -> ResponseReturnValue:
    """Public: check a published record, or one uploaded, with every step of the verifier
    (and, given one, find a voter's receipt or tracker in it). Nothing is stored."""
    form = VerifyForm()
    form.election.choices = _verify_choices()
    if request.method == "GET":
        chosen = request.args.get("election", type=int)
        if chosen is None:
            return _verify_page(form)
        election, row = _record_of(chosen)
        form.election.data = election.id
        return _check_published(form, election, row)
    if not form.validate_on_submit():
        return _verify_page(form, status=400)
    uploaded = _has_file(form.record.data)
    if uploaded and form.election.data:
        form.election.errors = ["Choose a published record, or upload a record file: not both"]
        return _verify_page(form, status=400)
    if not uploaded and not form.election.data:
        # Beside the list of records, or (when there is none to list) the upload.
        field = form.election if len(form.election.choices or []) > 1 else form.record
        field.errors = ["Choose a published record, or upload a record file"]
        return _verify_page(form, status=400)
    documents: dict[str, dict[str, Any] | None] = {}
    for field, what, limit in (
        (form.record, "record file", None),
        (form.signature, "signature file", SMALL_FILE_LIMIT),
        (form.receipt, "receipt", SMALL_FILE_LIMIT),
        (form.roll_proof, "roll proof", SMALL_FILE_LIMIT),
    ):
        documents[field.name] = None
        if _has_file(field.data):
            try:
                documents[field.name] = read_json_upload(field.data, what, limit)
            except UploadProblem as problem:
                field.errors = [*field.errors, str(problem)]
    if form.errors:
        return _verify_page(form, status=400)
    signature, receipt = documents["signature"], documents["receipt"]
    roll_proof, record = documents["roll_proof"], documents["record"]
    if record is not None:
        source = f"the file {form.record.data.filename}"
        return _check(form, record, source, signature, receipt, roll_proof)
    election, row = _record_of(int(form.election.data or 0))
    return _check_published(form, election, row, signature, receipt, roll_proof)


def _published_source(election: Election) -> str:
    return f"the published record of {election.title} ({election.institution.name})"
