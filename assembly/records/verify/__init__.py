"""The verifier: every check of ``docs/record-format.md`` ("What a verifier checks") on an
election record, offline, with the counting core to recount it. Records of a board election
and of an assembly (``body.kind``) go through the same steps; an assembly's votes are
recounted with ``record.count_assembly_vote``, and step 7 also checks its seeds, the order of
its rounds and its declared result.

``verify_record`` runs the steps in order and returns a ``Report`` of numbered steps, each
passed or failed with details that say what was checked, or what failed and where (contest,
tracker, stage, expected against found). A record that does not match the schema (step 1)
is not checked further: the later steps are reported as not run. Nothing in a record, however
malformed, ends in a traceback: a step that cannot be checked fails and says why.

One module per step (``step1_schema`` … ``step9_roll_proof``), each a function of the
``report.Verification`` it is given; ``report`` holds the report's types and the helpers
every step writes its details with, and ``run`` the order of the steps.

Pure: standard library, ``cryptography`` and the pure modules (``assembly.records.*``,
``assembly.counting.*``), so anyone can verify a record without the application.
"""

from __future__ import annotations

from assembly.records.verify.report import STEPS, Report, Step, cast_ballots, read_json
from assembly.records.verify.run import verify_record
from assembly.records.verify.step5_ballots import ballot_leaf_fast
from assembly.records.verify.step8_receipt import normalise_tracker

__all__ = [
    "STEPS",
    "Report",
    "Step",
    "ballot_leaf_fast",
    "cast_ballots",
    "normalise_tracker",
    "read_json",
    "verify_record",
]
