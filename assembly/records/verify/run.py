"""The verifier's steps in order: ``verify_record`` runs each on a record and returns the
``Report``. A record that fails step 1 is not checked further (the later steps are reported
as not run), and a step that raises fails with what it could not check: nothing in a
record, however malformed, ends in a traceback.

Pure: standard library and the pure modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from assembly.records.verify.report import (
    STEPS,
    Outcome,
    Report,
    Step,
    Verification,
    cast_ballots,
    normalise_fingerprint,
)
from assembly.records.verify.step1_schema import check_schema
from assembly.records.verify.step2_body_hash import check_body_hash
from assembly.records.verify.step3_election_signature import check_election_signature
from assembly.records.verify.step4_officer_signature import check_officer_signature
from assembly.records.verify.step5_ballots import check_ballots
from assembly.records.verify.step6_roll import check_roll
from assembly.records.verify.step7_recount import check_recount
from assembly.records.verify.step8_receipt import check_receipt
from assembly.records.verify.step9_roll_proof import check_roll_proof
from assembly.records.verify.step10_e2e import check_e2e, has_e2e

__all__ = ["verify_record"]

#: A step's check: it reads the record (and what earlier steps kept) and gives its outcome.
Check = Callable[[Verification], Outcome]


def verify_record(
    record: Any,
    *,
    signature: dict[str, Any] | None = None,
    receipt: dict[str, Any] | None = None,
    tracker: str | None = None,
    fingerprints: Sequence[str] = (),
    roll_proof: dict[str, Any] | None = None,
    on_step: Callable[[Step], None] | None = None,
    e2e_ballots_limit: int | None = None,
) -> Report:
    """Run every check of the record format on ``record`` (a loaded record file).

    :param signature: the returning officer's detached signature file, if given.
    :param receipt: a voter's receipt to find in the record (step 8).
    :param tracker: a tracker to look up (step 8).
    :param roll_proof: a member's roll proof to check against the roll's root (step 9).
    :param fingerprints: fingerprints of keys the reader trusts (hex; spaces allowed): the
        election key's must be one of them, and the returning officer's too when two or more
        are given.
    :param on_step: called with each step as it finishes (for progress on large records).
    :param e2e_ballots_limit: leave step 10 out (``Report.not_run``, saying why) when the
        record's end-to-end contests hold more cast ballots than this (a web page's
        request cannot wait the minutes they take); None runs it always.
    """
    state = Verification(
        record,
        signature=signature,
        receipt=receipt,
        tracker=tracker,
        roll_proof=roll_proof,
        fingerprints={normalise_fingerprint(f) for f in fingerprints},
    )
    runs: list[tuple[int, Check]] = [
        (1, check_schema),
        (2, check_body_hash),
        (3, check_election_signature),
        (4, check_officer_signature),
        (5, check_ballots),
        (6, check_roll),
        (7, check_recount),
    ]
    if receipt is not None or tracker is not None:
        runs.append((8, check_receipt))
    if roll_proof is not None:
        runs.append((9, check_roll_proof))
    not_run: list[Step] = []
    if _body_has_e2e(record):
        cast = _cast_count(record)
        if e2e_ballots_limit is not None and cast > e2e_ballots_limit:
            not_run.append(
                Step(
                    10,
                    STEPS[10],
                    False,
                    [
                        f"not run here: the record holds {cast:,} encrypted ballots, whose "
                        "proofs take minutes to check; run `assembly verify RECORD` on your "
                        "own computer to check them"
                    ],
                )
            )
        else:
            runs.append((10, check_e2e))
    steps: list[Step] = []
    for number, run in runs:
        name = _name(number, receipt, tracker)
        if steps and not steps[0].passed:
            step = Step(
                number, name, False, ["not run: the file is not a record of format 1 (step 1)"]
            )
        else:
            step = _timed(number, name, run, state)
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return Report(steps, not_run)


def _cast_count(record: Any) -> int:
    """How many encrypted ballots the record's contests say were cast."""
    body = record.get("body")
    contests = body.get("contests") if isinstance(body, dict) else None
    return sum(len(cast_ballots(c)) for c in contests) if isinstance(contests, list) else 0


def _body_has_e2e(record: Any) -> bool:
    """Step 10 is run for a record with an end-to-end contest (or one that claims to be)."""
    return isinstance(record, dict) and has_e2e(record.get("body"))


def _name(number: int, receipt: Any, tracker: str | None) -> str:
    if number != 8:
        return STEPS[number]
    if receipt is not None and tracker is not None:
        return "Receipt and tracker"
    return "Receipt" if receipt is not None else "Tracker"


def _timed(number: int, name: str, run: Check, state: Verification) -> Step:
    start = time.perf_counter()
    try:
        passed, details = run(state)
    except Exception as error:  # a verifier reports what it could not check; it never crashes
        passed, details = False, [f"could not be checked: {type(error).__name__}: {error}"]
    return Step(number, name, passed, [d for d in details if d], time.perf_counter() - start)
