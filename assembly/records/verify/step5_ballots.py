"""Step 5, Ballots: in every contest the ballots are sorted by tracker, each tracker once,
each ballot ranking only the contest's candidates at most once (a round's ballot chooses
one; a first-past-the-post ballot at most the seats, in increasing order; a confirmation
vote has one candidate), each weighted ballot from a constituency its vote's weighting
lists, ``count`` equals the items, and the Merkle root over their hashes is the recorded
one. Each contest's rankings are kept, counted, for the recount (step 7).

Pure: standard library and the pure modules.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from operator import itemgetter
from typing import Any

from assembly.records.merkle import merkle_root
from assembly.records.verify.report import (
    PROBLEMS_PER_CONTEST,
    Ballots,
    Outcome,
    Verification,
    as_json,
    contest_label,
    is_assembly,
    limited,
    short,
)

__all__ = ["ballot_leaf_fast", "check_ballots"]


def ballot_leaf_fast(
    contest_id: int,
    tracker: str,
    ranking: Sequence[int] | None = None,
    *,
    choice: str | None = None,
    constituency: str | None = None,
) -> bytes:
    """``record.ballot_leaf`` without the general canonical encoder: the canonical JSON of a
    ballot written directly. Equal to it whenever the ballot matches the schema (an integer
    contest, a ranking of integers, a tracker of the tracker alphabet, which JSON never
    escapes, a choice of yes, no or abstain, a constituency of any text).

    :raises ValueError: neither or both of a ranking and a choice.
    """
    if (ranking is None) == (choice is None):
        raise ValueError("a ballot has either a ranking or a choice")
    if ranking is not None and constituency is None:
        ranking_text = str(list(ranking)).replace(" ", "")
        text = f'{{"contest":{contest_id},"ranking":{ranking_text},"tracker":"{tracker}"}}'
        return hashlib.sha256(text.encode("ascii")).digest()
    # Keys in code-point order: choice, constituency, contest, ranking, tracker.
    parts = []
    if choice is not None:
        parts.append(f'"choice":{json.dumps(choice, ensure_ascii=False)}')
    if constituency is not None:
        parts.append(f'"constituency":{json.dumps(constituency, ensure_ascii=False)}')
    parts.append(f'"contest":{contest_id}')
    if ranking is not None:
        parts.append(f'"ranking":{str(list(ranking)).replace(" ", "")}')
    parts.append(f'"tracker":"{tracker}"')
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode("utf-8")).digest()


def _item_leaves(contest_id: int, items: list[dict[str, Any]]) -> list[bytes]:
    """Every ballot's hash, in order, whatever its kind (an assembly's votes: few ballots)."""
    return [
        ballot_leaf_fast(
            contest_id,
            item["tracker"],
            item.get("ranking"),
            choice=item.get("choice"),
            constituency=item.get("constituency"),
        )
        for item in items
    ]


def _leaves(contest_id: int, items: list[dict[str, Any]]) -> list[bytes]:
    """Every ballot's hash, in order: ``ballot_leaf_fast`` unrolled, as the million-ballot
    case spends its time here."""
    template = f'{{"contest":{contest_id},"ranking":%s,"tracker":"%s"}}'
    sha256 = hashlib.sha256
    return [
        sha256(
            (template % (str(item["ranking"]).replace(" ", ""), item["tracker"])).encode("ascii")
        ).digest()
        for item in items
    ]


def check_ballots(state: Verification) -> Outcome:
    """Step 5: every contest's ballots, and the Merkle root over their hashes; what they
    rank is kept for the recount (step 7)."""
    passed = True
    details: list[str] = []
    for contest in state.body["contests"]:
        problems = _contest_ballots(state, contest)
        if problems:
            passed = False
            details += limited(problems, contest_label(contest))
        else:
            ballots = contest["ballots"]
            details.append(
                f"{contest_label(contest)}: {ballots['count']:,} ballot(s), sorted by tracker, "
                f"each once, {_marks(contest)}; Merkle root "
                f"{short(ballots['merkle_root'])} matches"
            )
    return passed, details


def _contest_ballots(state: Verification, contest: dict[str, Any]) -> list[str]:
    """What is wrong with one contest's ballots."""
    label = contest_label(contest)
    ballots = contest["ballots"]
    items: list[dict[str, Any]] = ballots["items"]
    problems: list[str] = []
    ids = [c["id"] for c in contest["candidates"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"{label}: candidate id(s) {duplicates} listed more than once")
    problems += _order(label, list(map(itemgetter("tracker"), items)))
    countable = not duplicates
    if contest["method"] == "confirmation":
        rankings: Counter[tuple[int, ...]] = Counter()
        if len(ids) != 1:
            problems.append(
                f"{label}: a confirmation vote has exactly one candidate, not {len(ids)}"
            )
            countable = False
    else:
        ranked = state.rankings.pop(contest["id"], None)
        rankings = Counter(map(tuple, ranked or map(itemgetter("ranking"), items)))
        del ranked
        candidates = set(ids)
        bad = {
            ranking: why
            for ranking in rankings
            if (why := _ranking_problem(ranking, candidates, contest)) is not None
        }
        if bad:
            countable = False
            for index, item in enumerate(items):
                why = bad.get(tuple(item["ranking"]))
                if why is not None:
                    problems.append(f"{label}: ballot {item['tracker']} (items[{index}]) {why}")
    weighting = contest.get("weighting")
    if weighting is not None:
        weighting_problems = _weighting_problems(label, weighting, items)
        problems += weighting_problems
        countable = countable and not weighting_problems
    state.ballots[contest["id"]] = Ballots(rankings, countable=countable)
    if ballots["count"] != len(items):
        problems.append(
            f"{label}: ballots.count is {ballots['count']:,}, but there are "
            f"{len(items):,} ballot(s)"
        )
    if is_assembly(state.body):
        try:
            leaves = _item_leaves(contest["id"], items)
        except UnicodeEncodeError:
            problems.append(
                f"{label}: a ballot's constituency is not valid Unicode (a lone surrogate), "
                "so the ballot has no hash"
            )
            state.ballots[contest["id"]].countable = False
            return problems
    else:
        leaves = _leaves(contest["id"], items)
    root = merkle_root(leaves)
    if root != ballots["merkle_root"]:
        problems.append(
            f"{label}: the ballots' Merkle root is {root}, but the record says "
            f"{ballots['merkle_root']}: a ballot was changed, added or removed"
        )
    return problems


def _order(label: str, trackers: list[str]) -> list[str]:
    """Where trackers are out of order or repeated."""
    if all(a < b for a, b in pairwise(trackers)):
        return []
    problems = []
    for index in range(1, len(trackers)):
        before, after = trackers[index - 1], trackers[index]
        if after == before:
            problems.append(f"{label}: tracker {after} appears twice (items[{index}])")
        elif after < before:
            problems.append(
                f"{label}: tracker {after} (items[{index}]) comes after {before}: ballots must "
                "be sorted by tracker"
            )
        if len(problems) > PROBLEMS_PER_CONTEST:
            break
    return problems


def _ranking_problem(
    ranking: tuple[int, ...], ids: set[int], contest: dict[str, Any]
) -> str | None:
    """What is wrong with a ranking of candidate ids in this contest, if anything."""
    unknown = sorted(set(ranking) - ids)
    if unknown:
        return f"ranks {unknown}, not candidates in this contest"
    if len(set(ranking)) != len(ranking):
        twice = sorted({i for i in ranking if ranking.count(i) > 1})
        return f"ranks {twice} more than once"
    if contest["method"] == "round" and len(ranking) != 1:
        return f"chooses {len(ranking)} candidates; a round's ballot chooses one"
    if contest["method"] == "fptp":
        if len(ranking) > contest["seats"]:
            return f"chooses {len(ranking)} candidates for {contest['seats']} seat(s)"
        if list(ranking) != sorted(ranking):
            return f"lists its choices {list(ranking)} out of increasing order"
    return None


def _marks(contest: dict[str, Any]) -> str:
    """What step 5 found each ballot marks, in words."""
    weighted = " from a constituency of its weighting" if contest.get("weighting") else ""
    if contest["method"] == "confirmation":
        return f"each yes, no or abstain{weighted}"
    if contest["method"] == "round":
        return f"each choosing one of its candidates{weighted}"
    return f"ranking only its candidates{weighted}"


def _weighting_problems(
    label: str, weighting: dict[str, Any], items: list[dict[str, Any]]
) -> list[str]:
    """Constituencies listed twice in a vote's weighting, and ballots from one it lacks."""
    keys = [entry["key"] for entry in weighting["constituencies"]]
    problems = [
        f"{label}: its weighting lists constituency {as_json(key)} more than once"
        for key in sorted({k for k in keys if keys.count(k) > 1})
    ]
    listed = set(keys)
    for index, item in enumerate(items):
        if item["constituency"] not in listed:
            problems.append(
                f"{label}: ballot {item['tracker']} (items[{index}]) is from constituency "
                f"{as_json(item['constituency'])}, which the vote's weighting does not list "
                f"({', '.join(map(as_json, keys))})"
            )
            if len(problems) > PROBLEMS_PER_CONTEST:
                break
    return problems
