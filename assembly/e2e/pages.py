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

from assembly.e2e.forms import TrusteeUploadForm
from assembly.e2e.models import Ceremony, Trustee
from assembly.e2e.operations import CeremonyStep, ceremony_step, dealings_of
from assembly.errors import DomainError, RuleViolation
from assembly.extensions import begin_writing, db
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


def take_trustee_upload(
    form: TrusteeUploadForm, check: Callable[[Any], Any], store: Step, kept: str
) -> None:
    """Read the file a trustee uploaded (what ``assembly trustee`` wrote), ``check`` it and
    ``store`` what the check gives; commit and say ``kept``, or roll back and say why it
    was not taken.

    The check (seconds for a large poll's proofs) runs in a transaction that only reads, so
    that it holds no write lock (on SQLite, every other writer's) and no row lock; the store
    then begins as a writer, takes its lock and finds the poll as the check did, or refuses.
    """
    if not form.validate_on_submit():
        flash("Choose the file that `assembly trustee` wrote.")
        return
    try:
        upload = read_json_upload(form.upload.data, "file", TRUSTEE_FILE_LIMIT)
        db.session.rollback()  # a writer's transaction begun for the request, if any
        checked = check(upload)
        begin_writing()
        store(checked)
    except (UploadProblem, DomainError) as problem:
        db.session.rollback()
        message = problem.message if isinstance(problem, DomainError) else str(problem)
        flash(f"Your file was not taken: {message}")
    else:
        db.session.commit()
        flash(kept)
