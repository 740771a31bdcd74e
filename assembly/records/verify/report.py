"""What every step of the verifier shares: the report (``Step``, ``Report``), the record
being verified with what the steps learn on the way (``Verification``), and the small
helpers that write the report's details the same way in every step.

Pure: standard library only.
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = [
    "PROBLEMS_PER_CONTEST",
    "STEPS",
    "Ballots",
    "Outcome",
    "Report",
    "Step",
    "Verification",
    "as_json",
    "cast_ballots",
    "contest_label",
    "event_of",
    "is_assembly",
    "json_kind",
    "limited",
    "normalise_fingerprint",
    "read_json",
    "same_json",
    "short",
]

#: The steps of docs/record-format.md, by number.
STEPS = {
    1: "Schema",
    2: "Body hash",
    3: "Election signature",
    4: "Returning officer's signature",
    5: "Ballots",
    6: "Roll",
    7: "Recount",
    8: "Receipt",
    9: "Roll proof",
    10: "End-to-end proofs",
}
#: How many problems one contest reports in a step before it only counts the rest.
PROBLEMS_PER_CONTEST = 5
#: What a step gives: whether it passed, and its details.
Outcome = tuple[bool, list[str]]


@dataclass
class Step:
    """One numbered check and its outcome."""

    number: int
    name: str
    passed: bool
    details: list[str] = field(default_factory=list)
    #: How long the step took (not part of ``to_dict``: the report stays reproducible).
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "passed": self.passed,
            "details": list(self.details),
        }


@dataclass
class Report:
    """Every step run on a record; ``ok`` when all of them passed."""

    steps: list[Step]
    #: Steps left out, each with why (its ``details``): only where the caller asked for a
    #: step to be left out (the web page leaves out step 10 on a large poll). Not passed.
    not_run: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.steps)

    @property
    def complete(self) -> bool:
        """Every step run, and every one passed."""
        return self.ok and not self.not_run

    def step(self, number: int) -> Step:
        """The step with this number.

        :raises KeyError: no such step in this report.
        """
        for step in self.steps:
            if step.number == number:
                return step
        raise KeyError(number)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ok": self.ok,
            "steps": [step.to_dict() for step in self.steps],
        }
        if self.not_run:
            document["not_run"] = [step.to_dict() for step in self.not_run]
        return document


def cast_ballots(contest: Any) -> list[dict[str, Any]]:
    """A contest's cast encrypted ballots as the record lists them (``e2e.cast``; none when
    it was not polled end-to-end, or when that part is not a list of objects)."""
    section = contest.get("e2e") if isinstance(contest, dict) else None
    cast = section.get("cast") if isinstance(section, dict) else None
    return [c for c in cast if isinstance(c, dict)] if isinstance(cast, list) else []


def read_json(file: BinaryIO) -> Any:
    """Parse a (large) JSON file opened in binary mode.

    The cyclic garbage collector is paused meanwhile: a record of a million ballots is
    millions of new containers, none of them garbage, and collecting as they appear makes
    reading it four times slower.

    :raises ValueError: the file is not JSON (or not UTF-8).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.load(file)
    finally:
        if enabled:
            gc.enable()


@dataclass
class Ballots:
    """What step 5 learned about one contest's ballots, for the recount (step 7)."""

    #: Each distinct ranking (candidate ids) with how many ballots have it.
    rankings: Counter[tuple[int, ...]]
    #: Whether every ranking names only this contest's candidates, once each.
    countable: bool


@dataclass
class Verification:
    """A record being verified, the files and values given with it, and what the steps learn
    on the way for the steps after them."""

    record: Any
    #: The returning officer's detached signature file (step 4), if given.
    signature: Any = None
    #: A voter's receipt (step 8), if given.
    receipt: Any = None
    #: A tracker to look up (step 8), if given.
    tracker: str | None = None
    #: A member's roll proof (step 9), if given.
    roll_proof: Any = None
    #: The fingerprints of keys the reader trusts, normalised (``normalise_fingerprint``).
    fingerprints: set[str] = field(default_factory=set)
    #: The record's body, once step 1 found it well formed.
    body: dict[str, Any] = field(default_factory=dict)
    #: The SHA-256 of the body's canonical bytes (step 2), or None if it has none.
    digest: str | None = None
    #: Each contest's ballots as step 5 found them, by contest id.
    ballots: dict[int, Ballots] = field(default_factory=dict)
    #: Each board contest's rankings, in ballot order (step 1 reads them; step 5 counts).
    rankings: dict[int, list[Any]] = field(default_factory=dict)


# -- writing the details -------------------------------------------------------------------------


def normalise_fingerprint(text: str) -> str:
    return re.sub(r"[\s:]", "", text).lower()


def short(digest: str) -> str:
    return digest[:16] + "…" if len(digest) > 16 else digest


def as_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def same_json(a: Any, b: Any) -> bool:
    """JSON equality (``true`` is not ``1``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def json_kind(value: Any) -> str:
    return {list: "a JSON array", str: "a JSON string", type(None): "null"}.get(
        type(value), f"a JSON {type(value).__name__}"
    )


def contest_label(contest: dict[str, Any]) -> str:
    return f"contest {contest['id']} ({contest['constituency']['name']})"


def limited(problems: list[str], label: str) -> list[str]:
    if len(problems) <= PROBLEMS_PER_CONTEST:
        return problems
    more = len(problems) - PROBLEMS_PER_CONTEST
    return [*problems[:PROBLEMS_PER_CONTEST], f"{label}: … and {more} more problem(s)"]


def is_assembly(body: dict[str, Any]) -> bool:
    """Whether the body is an assembly's (``kind`` is ``"board-election"`` when absent)."""
    return body.get("kind") == "assembly"


def event_of(body: dict[str, Any]) -> tuple[str, int]:
    """What the record is of, and its id: ``("election", 12)`` or ``("assembly", 3)``. A
    receipt's or roll proof's ``election`` field holds either."""
    if is_assembly(body):
        return "assembly", body["assembly"]["id"]
    return "election", body["election"]["id"]
