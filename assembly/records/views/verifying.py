"""The verify page (public): it checks a published record, or one uploaded, with every step
of the verifier, and finds a voter's receipt or tracker in it. Nothing is stored."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from assembly.extensions import db, limiter
from assembly.records.forms import VerifyForm
from assembly.records.kinds import RecordKind, Subject, record_kind
from assembly.records.models import Record, SigningKey
from assembly.records.operations import get_record, list_records, published
from assembly.records.verify import Report, cast_ballots, normalise_tracker, verify_record
from assembly.records.views.blueprint import bp
from assembly.records.views.uploads import (
    SMALL_FILE_LIMIT,
    UploadProblem,
    file_size,
    has_file,
    read_json_upload,
)

#: The kind of a board election's records.
ELECTION = "election"

#: Checks a visitor may ask for, each of which may recount a whole election.
VERIFY_LIMIT = "30 per 15 minutes"

#: Reports kept in memory: a record's body never changes, and reading (and recounting) a
#: large one, a million ballots, takes seconds.
REPORTS_KEPT = 32


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """An upload over the request limit: the form again, saying so (nothing was read)."""
    db.session.rollback()
    limit = file_size(int(current_app.config["MAX_CONTENT_LENGTH"]))
    message = f"The file is larger than {limit}, the most this page takes"
    if request.endpoint == "records.verify":
        form = VerifyForm(formdata=None)
        form.election.choices = _verify_choices()
        form.record.errors = [message]
        return _verify_page(form, status=413)
    return render_template(
        "errors/error.html", title="The file is too large", message=message, status=413
    ), 413


def choice_value(kind: str, subject_id: int) -> str:
    """The verify page's name for a published record: a board election's by its id alone (as
    its links have always named it, ``?election=3``), any other kind's as ``kind-id``."""
    return str(subject_id) if kind == ELECTION else f"{kind}-{subject_id}"


def _parse_choice(value: str) -> tuple[str, int] | None:
    kind, _, number = value.rpartition("-")
    if not number.isdigit():
        return None
    return (kind or ELECTION, int(number))


def _visible_records() -> list[tuple[RecordKind, Subject]]:
    """Every record this visitor may see, of every kind, newest first: declared ones, and
    (for their officers) those counted and not yet declared."""
    found = []
    for row in reversed(list_records()):
        kind = record_kind(row.kind)
        subject = kind.load(row.subject_id) if kind is not None else None
        if kind is not None and subject is not None and kind.visible(current_user, subject):
            found.append((kind, subject))
    return found


def _verify_choices() -> list[tuple[str, str]]:
    return [("", "Choose a record")] + [
        (
            choice_value(kind.name, subject.id),
            f"{subject.institution.name}: {subject.title}"
            + ("" if kind.declared(subject) else " (counted, not yet declared)"),
        )
        for kind, subject in _visible_records()
    ]


def _published_of(value: str) -> tuple[Subject, Record]:
    """The subject and its record named by a choice, if this visitor may see it (else 404)."""
    parsed = _parse_choice(value)
    kind = record_kind(parsed[0]) if parsed else None
    if parsed is None or kind is None:
        abort(404)
    subject = kind.load(parsed[1])
    row = get_record(kind.name, parsed[1])
    if subject is None or row is None or not kind.visible(current_user, subject):
        abort(404)
    return subject, row


def _pinned_keys(record: dict[str, Any]) -> tuple[Subject | None, list[str]]:
    """What of this service a record names (an election, an assembly), and the fingerprints
    of the keys this service holds for it (its election key, its returning officer's): the
    record must be signed by those. None and no fingerprints for a record of nothing whose
    record this visitor may see here."""
    body = record.get("body")
    if not isinstance(body, dict):
        return None, []
    named_kind = body.get("kind", ELECTION)
    kind = record_kind(named_kind) if isinstance(named_kind, str) else None
    named = body.get(kind.section) if kind is not None else None
    institution = body.get("institution")
    if kind is None or not isinstance(named, dict) or not isinstance(institution, dict):
        return None, []
    subject_id, slug = named.get("id"), institution.get("slug")
    if type(subject_id) is not int or not isinstance(slug, str):
        return None, []
    subject = kind.load(subject_id)
    if (
        subject is None
        or subject.institution.slug != slug
        or get_record(kind.name, subject_id) is None
        or not kind.visible(current_user, subject)
    ):
        return None, []
    fingerprints = _subject_keys(subject)
    return (subject, fingerprints) if fingerprints else (None, [])


def _subject_keys(subject: Subject) -> list[str]:
    """The fingerprints of the keys this service holds for what a record is of (its election
    key, its returning officer's), or none if it lacks either."""
    key = db.session.get(SigningKey, subject.signing_key_id) if subject.signing_key_id else None
    if key is None or not subject.officer_fingerprint:
        return []
    return [key.fingerprint, subject.officer_fingerprint]


@dataclass(frozen=True)
class BallotFound:
    """A ballot found by its tracker, for the voter: its contest and choices by name."""

    contest: str
    ranked: bool
    names: tuple[str, ...]
    #: An encrypted ballot as cast: its ranking is secret (counted among the opened rows).
    encrypted: bool = False


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
            if any(c.get("tracker") == tracker for c in cast_ballots(contest)):
                found.append(BallotFound(str(label), ranked, (), encrypted=True))
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
    pinned: Subject | None = None,
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
        max_record=file_size(int(current_app.config["MAX_CONTENT_LENGTH"])),
        max_small=file_size(SMALL_FILE_LIMIT),
    ), status


#: Reports on published records checked without a receipt, tracker or signature, by the
#: election, its body hash and the officer's signature (which is all that can change).
_REPORTS: dict[tuple[str, int, str, str], Report] = {}
_REPORTS_LOCK = threading.Lock()


def _published_report(subject: Subject, row: Record) -> Report:
    """The report on a published record as it stands, made once per process (the record,
    up to a million ballots, is read only then)."""
    key = (row.kind, row.subject_id, row.body_sha256, row.officer_signature)
    report = _REPORTS.get(key)
    if report is None:
        report = verify_record(
            published(row),
            fingerprints=_subject_keys(subject),
            e2e_ballots_limit=current_app.config["VERIFY_PAGE_E2E_BALLOTS"],
        )
        with _REPORTS_LOCK:
            while len(_REPORTS) >= REPORTS_KEPT:
                _REPORTS.pop(next(iter(_REPORTS)))
            _REPORTS[key] = report
    return report


def _check_published(
    form: VerifyForm,
    subject: Subject,
    row: Record,
    signature: dict[str, Any] | None = None,
    receipt: dict[str, Any] | None = None,
    roll_proof: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """Verify a published record: from the report kept in memory when nothing was added to
    check with it, else afresh."""
    source = _published_source(subject)
    if signature is None and receipt is None and roll_proof is None and not form.tracker.data:
        return _verify_page(
            form,
            report=_published_report(subject, row),
            source=source,
            pinned=subject,
            pinned_keys=_subject_keys(subject),
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
        e2e_ballots_limit=current_app.config["VERIFY_PAGE_E2E_BALLOTS"],
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
        chosen = request.args.get("election") or request.args.get("record")
        if not chosen:
            return _verify_page(form)
        subject, row = _published_of(chosen)
        form.election.data = choice_value(row.kind, row.subject_id)
        return _check_published(form, subject, row)
    if not form.validate_on_submit():
        return _verify_page(form, status=400)
    uploaded = has_file(form.record.data)
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
        if has_file(field.data):
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
    subject, row = _published_of(form.election.data or "")
    return _check_published(form, subject, row, signature, receipt, roll_proof)


def _published_source(subject: Subject) -> str:
    return f"the published record of {subject.title} ({subject.institution.name})"
