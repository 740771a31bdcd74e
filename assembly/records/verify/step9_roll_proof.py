"""Step 9, Roll proof (shown only when one is given, ``--roll-proof``): the proof is for this
record's institution, election (or assembly) and contest and for a roll of its size, and
the member's roll commitment, made from its contest, number, email address and salt, is
included under the roll's Merkle root (an RFC 9162 audit path).

Pure: standard library and the pure modules.
"""

from __future__ import annotations

from assembly.records.merkle import verify_inclusion
from assembly.records.record import ROLL_PROOF_FORMAT, roll_leaf
from assembly.records.verify.report import (
    Outcome,
    Verification,
    as_json,
    contest_label,
    event_of,
    short,
)

__all__ = ["check_roll_proof"]


def check_roll_proof(state: Verification) -> Outcome:
    """Step 9: the roll proof given includes the member's commitment under the roll's root."""
    document = state.roll_proof
    body = state.body
    shape = {
        "institution": str,
        "election": int,
        "contest": int,
        "number": int,
        "email": str,
        "salt": str,
        "index": int,
        "size": int,
        "path": list,
    }
    if (
        not isinstance(document, dict)
        or document.get("format") != ROLL_PROOF_FORMAT
        or not all(type(document.get(k)) is t for k, t in shape.items())
        or not all(isinstance(h, str) for h in document["path"])
    ):
        return False, [
            f"the roll proof is not of format {as_json(ROLL_PROOF_FORMAT)}: it needs "
            f"{', '.join(shape)}"
        ]
    institution = body["institution"]["slug"]
    what, election = event_of(body)
    if document["institution"] != institution or document["election"] != election:
        return False, [
            f"the roll proof is for {document['institution']} {what} "
            f"{document['election']}, this record for {institution} {what} {election}"
        ]
    contest = next((c for c in body["contests"] if c["id"] == document["contest"]), None)
    if contest is None:
        return False, [
            f"the roll proof names contest {document['contest']}, which is not in the record"
        ]
    label = contest_label(contest)
    voters, root = contest["roll"]["voters"], contest["roll"]["merkle_root"]
    if document["size"] != voters:
        return False, [
            f"{label}: the roll proof is for a roll of {document['size']:,}, the record's "
            f"roll has {voters:,}"
        ]
    leaf = roll_leaf(document["contest"], document["number"], document["email"], document["salt"])
    if not verify_inclusion(leaf, document["index"], voters, document["path"], root):
        return False, [
            f"{label}: elector {document['number']} ({document['email']}) with this salt is "
            f"not entry {document['index'] + 1:,} of the roll whose Merkle root is "
            f"{short(root)}: the proof or the record was altered"
        ]
    return True, [
        f"{label}: elector {document['number']} ({document['email']}) is entry "
        f"{document['index'] + 1:,} of {voters:,} on the roll whose Merkle root is "
        f"{short(root)}"
    ]
