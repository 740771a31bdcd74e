"""What the end-to-end pages of board elections and assemblies share: reading the JSON a
browser posts and answering a refusal as JSON, the largest trustee's file, and the trustees'
page's parts (the ceremony step a trustee's browser takes, the fingerprint they compare).

The pages themselves stay with their feature (``elections.views.e2e``,
``assemblies.views.e2e``): who may open them and when differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import flash, jsonify
from flask.typing import ResponseReturnValue

from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import SYSTEM, current_actor
from assembly.auth.models import User
from assembly.e2e.forms import TrusteeUploadForm
from assembly.e2e.models import Ceremony, Trustee
from assembly.e2e.operations import CeremonyStep, ceremony_step, dealings_of
from assembly.e2e.uploads import PARTS, receive_upload, start_check
from assembly.errors import DomainError, NotFound, RuleViolation
from assembly.extensions import db
from assembly.records.views.uploads import UploadProblem, read_json_upload

__all__ = [
    "TRUSTEE_FILE_LIMIT",
    "ceremony_data",
    "ceremony_fingerprint",
    "fingerprint_shown",
    "json_body",
    "refused",
    "take_ceremony_step",
    "take_trustee_upload",
]

#: The most a trustee's shuffle or opening file may be: about 60,000 ballots of 15 candidates
#: (under MAX_CONTENT_LENGTH and the 70 MB nginx allows these uploads).
TRUSTEE_FILE_LIMIT = 64 * 1024 * 1024


def json_body(request: Any) -> dict[str, Any]:
    """The JSON object a page's script posted.

    :raises RuleViolation: the body is not a JSON object.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RuleViolation("The request must be a JSON object.")
    return body


def refused(problem: DomainError) -> ResponseReturnValue:
    """A refusal as the page's script reads it: ``{"error": …}``, with nothing kept."""
    db.session.rollback()
    return jsonify(error=problem.message), problem.status


def ceremony_fingerprint(ceremony: Ceremony) -> str:
    """What the trustees compare out of band (read aloud, or side by side): SHA-256 of
    every dealing's commitments, first 16 hex digits in groups of four. Equal fingerprints
    mean they all saw the same dealings, so the server showed no one a different ceremony."""
    dealings = dealings_of(ceremony)
    text = json.dumps([[d["number"], d["commitments"]] for d in dealings], separators=(",", ":"))
    digest = hashlib.sha256(f"{ceremony.label}\n{text}".encode()).hexdigest()[:16].upper()
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))


def fingerprint_shown(ceremony: Ceremony | None) -> str:
    """The fingerprint once every trustee has dealt (empty before)."""
    if ceremony is None or ceremony_step(ceremony) not in (
        CeremonyStep.confirming,
        CeremonyStep.complete,
    ):
        return ""
    return ceremony_fingerprint(ceremony)


def ceremony_data(ceremony: Ceremony | None, mine: Trustee | None, url: str) -> dict[str, Any]:
    """What the trustees' page's script needs for this trustee's next step (posted to
    ``url``); empty for anyone who is not a trustee."""
    if ceremony is None or mine is None:
        return {}
    return {
        "label": ceremony.label,
        "number": mine.number,
        "threshold": ceremony.threshold,
        "step": ceremony_step(ceremony),
        "url": url,
        "recipients": [
            {"number": t.number, "transport": t.transport_key} for t in ceremony.trustees
        ],
        "dealings": dealings_of(ceremony),
    }


#: One of a feature's steps, bound to its actor and its election or assembly.
Step = Callable[[Any], object]


def take_ceremony_step(body: dict[str, Any], register: Step, deal: Step, confirm: Step) -> None:
    """Take the step a trustee's browser posted: its transport key, its dealing or its
    confirmed key.

    :raises RuleViolation: the body holds none of them.
    """
    if "transport_key" in body:
        register(str(body["transport_key"]))
    elif "dealing" in body:
        deal(body["dealing"])
    elif "public_key" in body:
        confirm(str(body["public_key"]))
    else:
        raise RuleViolation("Post a transport_key, a dealing or a public_key.")


#: A feature's check (or store) of a trustee's upload: the actor, the election or vote, and
#: the uploaded file (or what the check gave).
UploadStep = Callable[[Any, Any, Any], Any]


def take_trustee_upload(
    form: TrusteeUploadForm,
    part: str,
    trustee: Callable[[], Trustee],
    subject: tuple[type[Any], int],
    steps: tuple[UploadStep, UploadStep],
    kept: str,
    *,
    institution_id: int,
) -> None:
    """Keep the file a trustee uploaded (what ``assembly trustee`` wrote) and have it checked
    in the background (``e2e.uploads``); say so, or why it was not taken. ``trustee`` gives
    the actor's trustee if they may upload now (else raises); ``subject`` is the election or
    vote (its model and id), which the check's thread loads again, with the actor, for the
    feature's ``steps``: its check (reads the file, checks its proofs, writes nothing) and
    its store (keeps what the check gave, under the poll's lock)."""
    if not form.validate_on_submit():
        flash("Choose the file that `assembly trustee` wrote.")
        return
    actor = current_actor()
    actor_id = getattr(actor, "id", None)
    try:
        document = read_json_upload(form.upload.data, "file", TRUSTEE_FILE_LIMIT)
        upload = receive_upload(actor, trustee(), part, document, institution=institution_id)
        upload_id = upload.id
    except (UploadProblem, DomainError) as problem:
        db.session.rollback()
        message = problem.message if isinstance(problem, DomainError) else str(problem)
        flash(f"Your file was not taken: {message}")
        return
    db.session.commit()
    model, subject_id = subject
    check_step, store_step = steps

    def loaded() -> tuple[Any, Any]:
        user, found = db.session.get(User, actor_id), db.session.get(model, subject_id)
        if user is None or found is None:
            raise NotFound("The trustee or the poll is no longer there.")
        return user, found

    def check(document: Any) -> Any:
        return check_step(*loaded(), document)

    def store(checked: Any) -> None:
        store_step(*loaded(), checked)

    def refused(message: str) -> None:
        record_event(
            db.session.get(User, actor_id) or SYSTEM,
            "e2e.upload_refused",
            institution=institution_id,
            subject=Ref("trustee_upload", upload_id),
            data={"part": part},
        )

    start_check(upload_id, check, store, kept, refused)
    flash(
        f"Your {PARTS[part]} file is being checked. This page shows the result when it is "
        "done: a poll of a few thousand ballots takes seconds, of 10,000 about half a minute."
    )
