"""A trustee's upload (a shuffle, or decryption shares) checked in the background.

A poll of 10,000 ballots takes about 20 seconds to check a shuffle's proof on one core of the
AMD EPYC machine of the README's figures: too long for a request (gunicorn's sync workers are
stopped after 30 s, and a worker held that long is one of two). So the request keeps the file
as a ``TrusteeUpload`` and answers at once; a thread of the same process checks its proofs in
a transaction that only reads (holding no lock), then begins as a writer and keeps it under
the poll's lock, or refuses it with the reason. The trustees' page shows the outcome, and
refreshes itself while the check runs.

If the process dies half way (a deploy, a crash), nothing is kept and the upload stays
"checking": after ``STALE_AFTER`` the page says the check stopped and takes a new file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from assembly import background
from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.clock import utcnow
from assembly.e2e.models import Trustee, TrusteeUpload
from assembly.errors import Conflict, DomainError
from assembly.extensions import begin_writing, db
from assembly.redact import failure

__all__ = [
    "PARTS",
    "STALE_AFTER",
    "UploadStatus",
    "last_upload",
    "receive_upload",
    "start_check",
]

log = logging.getLogger(__name__)

#: Seconds after which an upload still being checked is taken to have stopped.
STALE_AFTER = 600
#: What a trustee uploads, and how the page names it.
PARTS = {"shuffle": "shuffle", "open": "decryption shares"}
UNEXPECTED = "An unexpected error stopped the check; nothing was kept. Upload the file again."

CHECKING, KEPT, REFUSED = "checking", "kept", "refused"


@dataclass(frozen=True)
class UploadStatus:
    """The trustee's last upload, as their page shows it."""

    part: str
    state: str
    message: str
    uploaded_at: datetime
    #: Still "checking" after ``STALE_AFTER``: the check stopped with its process.
    stalled: bool

    @property
    def checking(self) -> bool:
        return self.state == CHECKING and not self.stalled

    @property
    def what(self) -> str:
        return PARTS.get(self.part, self.part)


def _last(trustee_id: int) -> TrusteeUpload | None:
    return db.session.scalars(
        select(TrusteeUpload)
        .where(TrusteeUpload.trustee_id == trustee_id)
        .order_by(TrusteeUpload.id.desc())
        .limit(1)
    ).first()


def _stalled(upload: TrusteeUpload, now: datetime | None = None) -> bool:
    age = ((now or utcnow()) - upload.uploaded_at).total_seconds()
    return upload.state == CHECKING and age > STALE_AFTER


def last_upload(trustee: Trustee | None) -> UploadStatus | None:
    """The trustee's last upload and its outcome (None for no upload, or no trustee)."""
    if trustee is None:
        return None
    upload = _last(trustee.id)
    if upload is None:
        return None
    return UploadStatus(
        upload.part, upload.state, upload.message, upload.uploaded_at, _stalled(upload)
    )


def receive_upload(
    actor: Actor, trustee: Trustee, part: str, document: Any, *, institution: Any
) -> TrusteeUpload:
    """Keep a trustee's file to be checked (``start_check``, once this is committed).

    :raises Conflict: their last file is still being checked.
    """
    last = _last(trustee.id)
    if last is not None and last.state == CHECKING and not _stalled(last):
        raise Conflict(
            f"Your {PARTS.get(last.part, last.part)} file is still being checked: wait for its "
            "result on this page before you upload another."
        )
    upload = TrusteeUpload(
        trustee_id=trustee.id,
        part=part,
        state=CHECKING,
        content=json.dumps(document, separators=(",", ":")),
    )
    db.session.add(upload)
    db.session.flush()
    record_event(
        actor,
        "e2e.upload_received",
        institution=institution,
        subject=Ref("trustee_upload", upload.id),
        data={"trustee": trustee.number, "part": part},
    )
    return upload


def _finish(upload_id: int, state: str, message: str) -> None:
    upload = db.session.get(TrusteeUpload, upload_id)
    if upload is None:
        return
    upload.state, upload.message = state, message
    upload.content = ""
    upload.finished_at = utcnow()


def start_check(
    upload_id: int,
    check: Callable[[Any], Any],
    store: Callable[[Any], object],
    kept: str,
    refused: Callable[[str], None],
) -> None:
    """Check a kept upload in the background (it must be committed first): ``check`` reads
    the file and checks its proofs without writing; ``store`` keeps what ``check`` gave under
    the poll's lock; ``refused`` records a refusal's audit event. Each runs in the thread, so
    each must load what it needs by id (nothing of the request's session)."""

    def work() -> None:
        upload = db.session.get(TrusteeUpload, upload_id)
        if upload is None or upload.state != CHECKING:
            return
        document = json.loads(upload.content)
        db.session.rollback()  # the check holds no transaction open but a reading one
        try:
            checked = check(document)
            begin_writing()
            store(checked)
            _finish(upload_id, KEPT, kept)
            db.session.commit()
        except DomainError as problem:
            _refuse(upload_id, f"Your file was not taken: {problem.message}", refused)
        except Exception as error:
            log.error("checking trustee upload %s failed: %s", upload_id, failure(error))
            _refuse(upload_id, UNEXPECTED, refused)

    background.start(work, "trustee-upload")


def _refuse(upload_id: int, message: str, refused: Callable[[str], None]) -> None:
    db.session.rollback()
    begin_writing()
    _finish(upload_id, REFUSED, message)
    refused(message)
    db.session.commit()
