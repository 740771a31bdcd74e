"""Step 1, Schema: the file is a record of format 1, matches the schema
(``record-v1.schema.json``), and keeps the rules of its kind, which the schema (with no
conditionals) leaves to the verifier: a board election has an ``election`` (with both or
neither of ``seed_sha256`` and ``seed``), at least one contest, contests by ``stv`` or
``fptp`` and ballots of exactly ``tracker``, ``ranking`` and ``channel``; an assembly's
votes have the constituency, weight, seats, methods and ballots of an assembly. A record
that fails this step is not checked further.

Pure: standard library and the pure modules.
"""

from __future__ import annotations

from itertools import pairwise
from operator import itemgetter
from typing import Any

from assembly.records.record import (
    ASSEMBLY_METHODS,
    FORMAT,
    PRESENT,
    RECEIPT_FORMAT,
    SIGNATURE_FORMAT,
)
from assembly.records.schema import SCHEMA_FILE, validate_record
from assembly.records.verify.report import (
    PROBLEMS_PER_CONTEST,
    Outcome,
    Verification,
    as_json,
    is_assembly,
    json_kind,
    same_json,
)

__all__ = ["BOARD_METHODS", "check_schema"]

#: How a board election's contests are counted.
BOARD_METHODS = ("stv", "fptp")
#: The keys of every ballot of a board election.
_RANKED_BALLOT = frozenset({"tracker", "ranking", "channel"})


def check_schema(state: Verification) -> Outcome:
    """Step 1: the file is a record of format 1, matching the schema and the rules of its
    kind; its body is kept for the later steps."""
    record = state.record
    if not isinstance(record, dict):
        return False, [f"the file holds {json_kind(record)}, not a record (a JSON object)"]
    form = record.get("format")
    other = {
        RECEIPT_FORMAT: ("a receipt", "--receipt"),
        SIGNATURE_FORMAT: ("a detached signature", "--signature"),
    }
    if isinstance(form, str) and form in other:
        what, option = other[form]
        return False, [
            f"this is {what} ({form}), not a record: give the record first, and this file "
            f"with {option}"
        ]
    if form != FORMAT:
        return False, [
            f"format is {as_json(form)}, not {as_json(FORMAT)}: not a record of format 1"
        ]
    problems = validate_record(record, limit=10)
    if not problems:
        problems = _kind_problems(record["body"], state.rankings)[:10]
    if problems:
        if len(problems) == 10:
            problems.append("… checking stopped after 10 problems")
        return False, problems
    ids = [contest["id"] for contest in record["body"]["contests"]]
    if any(a >= b for a, b in pairwise(ids)):
        return False, [
            f"body.contests: the contests' ids {ids} are not each once in increasing order"
        ]
    for index, contest in enumerate(record["body"]["contests"]):
        found = _first_float(contest["count"], f"body.contests[{index}].count")
        if found:
            return False, [
                f"{found}: a number with a fraction; canonical JSON has none (integers, "
                "and exact fractions as 'n/d')"
            ]
    state.body = body = record["body"]
    contests = body["contests"]
    ballots = sum(len(c["ballots"]["items"]) for c in contests)
    if is_assembly(body):
        assembly = body["assembly"]
        return True, [
            f'a record of format 1, matching {SCHEMA_FILE}, of kind "assembly"',
            f"{body['institution']['name']}: assembly {assembly['id']} "
            f"{as_json(assembly['title'])}, held on {assembly['held_on']}, issued "
            f"{body['issued_at']}; {len(contests)} vote(s), {ballots:,} ballot(s)",
        ]
    election = body["election"]
    return True, [
        f"a record of format 1, matching {SCHEMA_FILE}",
        f"{body['institution']['name']}: election {election['id']} "
        f"{as_json(election['title'])}, issued {body['issued_at']}; "
        f"{len(contests)} contest(s), {ballots:,} ballot(s)",
    ]


def _kind_problems(body: dict[str, Any], rankings: dict[int, list[Any]]) -> list[str]:
    """What breaks the rules of the body's kind, which the schema (with no conditionals)
    leaves to the verifier: the fields of each kind, the methods of its contests, and the
    shape of their ballots. A board election's rankings are kept in ``rankings`` (by contest
    id) on the way, for step 5."""
    if is_assembly(body):
        problems = []
        if "election" in body:
            problems.append(
                "body: has 'election', but a record of kind \"assembly\" has 'assembly' instead"
            )
        if "assembly" not in body:
            problems.append("body: lacks 'assembly' (a record of kind \"assembly\" has one)")
        for index, contest in enumerate(body["contests"]):
            problems += _vote_problems(body.get("assembly"), contest, f"body.contests[{index}]")
        return problems
    problems = []
    if "election" not in body:
        problems.append("body: lacks 'election' (a board election's record has one)")
    else:
        problems += _seed_problems(body["election"])
    if "assembly" in body:
        problems.append(
            "body: has 'assembly', which only a record of kind \"assembly\" has; this one is "
            "a board election's"
        )
    if not body["contests"]:
        problems.append("body.contests: must have at least 1 item(s), not 0")
    for index, contest in enumerate(body["contests"]):
        path = f"body.contests[{index}]"
        if contest["method"] not in BOARD_METHODS:
            problems.append(
                f'{path}.method: must be one of "stv", "fptp" in a board election, not '
                f"{as_json(contest['method'])} (irv, round and confirmation are an assembly's)"
            )
        if contest.get("weighting") is not None:
            problems.append(
                f"{path}.weighting: a board election's contest has none (its constituency's "
                "weight is its 'weight'); only an assembly's votes are weighted by constituency"
            )
        items = contest["ballots"]["items"]
        # A board election may have a million ballots: every one has a tracker and a channel
        # (the schema), so with a ranking and three keys in all it has nothing else; both
        # checked at C speed, and the rankings kept for step 5.
        try:
            rankings[contest["id"]] = list(map(itemgetter("ranking"), items))
            shaped = sum(map(len, items)) == len(_RANKED_BALLOT) * len(items)
        except KeyError:
            shaped = False
        if not shaped:
            problems += _ballot_shape(items, f"{path}.ballots", "ranking", weighted=False)
    return problems


def _seed_problems(election: dict[str, Any]) -> list[str]:
    """A board election's record carries its seed and the commitment to it together, or (made
    before they were added) neither."""
    for has, lacks in (("seed", "seed_sha256"), ("seed_sha256", "seed")):
        if has in election and lacks not in election:
            return [
                f"body.election: has {has!r} but not {lacks!r}: a record carries the election's "
                "seed and the commitment to it together, or neither"
            ]
    return []


def _vote_problems(
    assembly: dict[str, Any] | None, contest: dict[str, Any], path: str
) -> list[str]:
    """What breaks the rules of one vote of an assembly."""
    problems = []
    method = contest["method"]
    if method not in ASSEMBLY_METHODS:
        problems.append(
            f"{path}.method: must be one of {', '.join(map(as_json, ASSEMBLY_METHODS))} in an "
            f"assembly, not {as_json(method)}"
        )
    elif assembly is not None:
        allowed = {"irv": "irv", "rounds": "round"}[assembly["method"]]
        if method not in (allowed, "confirmation"):
            problems.append(
                f"{path}.method: the assembly votes by {assembly['method']} (assembly.method), "
                f"so each vote is {allowed} or confirmation, not {method}"
            )
    fixed = (
        ("constituency", PRESENT),
        ("weight", "1/1"),
        ("seats", 1),
        ("uncontested", False),
    )
    for key, value in fixed:
        if not same_json(contest[key], value):
            problems.append(
                f"{path}.{key}: must be {as_json(value)} in an assembly's vote, not "
                f"{as_json(contest[key])}"
            )
    weighted = contest.get("weighting") is not None
    if assembly is not None and weighted != assembly["weighting"]:
        problems.append(
            f"{path}.weighting: assembly.weighting is {as_json(assembly['weighting'])}, but this "
            f"vote is {'weighted' if weighted else 'not weighted'} by constituency"
        )
    marks = "choice" if method == "confirmation" else "ranking"
    problems += _ballot_shape(contest["ballots"]["items"], f"{path}.ballots", marks, weighted)
    return problems


def _ballot_shape(items: list[dict[str, Any]], path: str, marks: str, weighted: bool) -> list[str]:
    """Ballots without their ``marks`` (ranking or choice), with the other, or with a
    constituency where the vote is not weighted (or without one where it is)."""
    other = "choice" if marks == "ranking" else "ranking"
    why = {
        "choice": "only a confirmation vote's ballot has a choice",
        "ranking": "a confirmation vote's ballot has a choice instead",
    }
    problems = []
    for index, item in enumerate(items):
        where = f"{path}.items[{index}]"
        if marks not in item:
            problems.append(f"{where}: lacks {marks!r}")
        if other in item:
            problems.append(f"{where}: has {other!r}; {why[other]}")
        if weighted and "constituency" not in item:
            problems.append(f"{where}: lacks 'constituency' (the vote is weighted)")
        if not weighted and "constituency" in item:
            problems.append(
                f"{where}: has 'constituency', which only a ballot of a weighted assembly vote has"
            )
        if len(problems) >= PROBLEMS_PER_CONTEST:
            break
    return problems


def _first_float(value: Any, path: str) -> str | None:
    """The path of the first float in ``value``: canonical JSON has none."""
    if type(value) is float:
        return path
    if type(value) is dict:
        for key, item in value.items():
            found = _first_float(item, f"{path}.{key}")
            if found:
                return found
    elif type(value) is list:
        for index, item in enumerate(value):
            found = _first_float(item, f"{path}[{index}]")
            if found:
                return found
    return None
