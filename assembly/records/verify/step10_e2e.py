"""Step 10, End-to-end proofs: every contest polled end-to-end verifiably (its ``e2e``
object) checked part by part: the trustees' key ceremony, the public credentials, every cast
ballot's proofs and credential signature, the audited ballots, the shuffles, the threshold
decryption, and that the encrypted ballots the record counts (channel ``encrypted``) are
exactly the rankings the opened rows read. The first part that fails is named.

Large polls check their ballots and shuffles in a process pool of one worker per core.

Pure: standard library and the pure modules (``assembly.crypto``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from assembly.crypto import poll
from assembly.crypto.group import GroupError
from assembly.records.record import CHOICES
from assembly.records.verify.report import Outcome, Verification, contest_label

__all__ = ["check_e2e", "has_e2e", "mapper_for"]

#: Below this many ballots a pool costs more than it saves.
POOL_FROM = 400


def has_e2e(body: Any) -> bool:
    """Whether any contest of a body was polled end-to-end verifiably, or counts ballots it
    says were encrypted (which then need the proofs)."""
    try:
        return any(
            contest.get("e2e") is not None
            or any(item.get("channel") == "encrypted" for item in contest["ballots"]["items"])
            for contest in body["contests"]
        )
    except (KeyError, TypeError, AttributeError):
        return False


def _stated(contest: dict[str, Any], ids: Sequence[str], grouped: bool) -> list[tuple[Any, ...]]:
    """The ballots the record counts as encrypted: tracker and ranking (candidate indexes;
    a confirmation's choice as the index of its word), and with groups the constituency."""
    index = {candidate: i for i, candidate in enumerate(ids)}
    stated: list[tuple[Any, ...]] = []
    for item in contest["ballots"]["items"]:
        if item.get("channel") != "encrypted":
            continue
        if contest["method"] == "confirmation":
            ranking: tuple[int, ...] = (index.get(item.get("choice"), -1),)
        else:
            ranking = tuple(index.get(c, -1) for c in item["ranking"])
        if grouped:
            stated.append((item["tracker"], item.get("constituency", ""), ranking))
        else:
            stated.append((item["tracker"], ranking))
    return sorted(stated)


def _first(ranking: tuple[int, ...]) -> tuple[int, ...]:
    return ranking[:1]


def _reader(contest: dict[str, Any], ids: Sequence[Any]) -> poll.Reader:
    """How the contest reads an opened ranking: first past the post its first ``seats``
    choices; an assembly's confirmation or round its first; a ranked contest all of it."""
    method = contest["method"]
    if method == "fptp":
        return poll.choice_reader(contest["seats"], ids)
    if method in ("confirmation", "round"):
        return _first
    return poll.as_ranked


def mapper_for(section: poll.Section) -> poll.Mapper:
    """``map``, or for a large poll on more than one core a process pool's ``map`` (the
    ballots in chunks, the shuffles one to a worker)."""
    workers = os.cpu_count() or 1
    if len(section.cast) < POOL_FROM or workers < 2:
        return map

    def pooled(check: Callable[[Any], bool], items: Sequence[Any]) -> Iterator[bool]:
        chunk = max(1, len(items) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(check, items, chunksize=chunk)

    return pooled


def check_e2e(state: Verification) -> Outcome:
    """Step 10: each end-to-end contest, part by part."""
    passed = True
    details: list[str] = []
    for contest in state.body["contests"]:
        document = contest.get("e2e")
        if document is None:
            if any(i.get("channel") == "encrypted" for i in contest["ballots"]["items"]):
                passed = False
                details.append(f"{contest_label(contest)}: encrypted ballots but no e2e proofs")
            continue
        label = contest_label(contest)
        ids = (
            list(CHOICES)
            if contest.get("method") == "confirmation"
            else [c["id"] for c in contest["candidates"]]
        )
        try:
            section = poll.Section.from_json(document, ids)
        except GroupError as error:
            passed = False
            details.append(f"{label}: the e2e proofs cannot be read: {error}")
            continue
        findings = poll.check_section(
            section,
            roll=contest["roll"]["voters"],
            stated=_stated(contest, ids, bool(section.groups)),
            map_=mapper_for(section),
            read=_reader(contest, ids),
        )
        for part, (ok, text) in findings:
            details.append(f"{label}: {part}: {text}")
            passed = passed and ok
    return passed, details
