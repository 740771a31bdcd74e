"""Step 2, Body hash: ``body_sha256`` is the SHA-256 of the body's canonical bytes. The
digest is kept for the signatures (steps 3 and 4).

Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import json

from assembly.records.verify.report import Outcome, Verification

__all__ = ["check_body_hash"]


def check_body_hash(state: Verification) -> Outcome:
    """Step 2: hash the body's canonical bytes and compare the hash with ``body_sha256``."""
    try:
        # The canonical bytes (canonical.canonical_bytes) without its walk for floats,
        # which step 1 has done: the schema leaves room for them only in counts.
        text = json.dumps(state.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        state.digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        return False, [
            "the body holds text that is not valid Unicode (a lone surrogate), so it has no "
            "canonical bytes to hash"
        ]
    claimed = state.record["body_sha256"]
    if claimed != state.digest:
        return False, [
            f"the body hashes to {state.digest}, but body_sha256 is {claimed}: the body was "
            "changed after it was hashed"
        ]
    return True, [f"body_sha256 {state.digest} is the SHA-256 of the body's canonical bytes"]
