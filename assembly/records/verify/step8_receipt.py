"""Step 8, Receipt and tracker (shown only when a receipt or a tracker is given): a voter's
receipt (``--receipt``) is signed by the record's election key, is for this institution and
election (or assembly), and its ballot is in the record with the same hash; a tracker
(``--tracker``) is found, and in which contest, with what its ballot marks.

Pure: standard library, ``cryptography`` (through ``record``) and the pure modules.
"""

from __future__ import annotations

import re
from typing import Any

from assembly.records.record import (
    RECEIPT_FORMAT,
    ballot_hash,
    encrypted_ballot_hash,
    receipt_signed_by,
)
from assembly.records.verify.report import (
    Outcome,
    Verification,
    as_json,
    cast_ballots,
    contest_label,
    event_of,
    short,
)

__all__ = ["check_receipt", "normalise_tracker"]

_TRACKER = re.compile(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}\Z")


def normalise_tracker(text: str) -> str:
    """A tracker as a person might type it (lower case, spaces, no dashes) in its written
    form, ``K7QM-2XHD-9PLA-4RTE``; text that cannot be a tracker is returned stripped."""
    letters = re.sub(r"[\s-]", "", text).upper()
    if len(letters) == 16:
        return "-".join(letters[i : i + 4] for i in range(0, 16, 4))
    return text.strip()


def check_receipt(state: Verification) -> Outcome:
    """Step 8: the receipt given is signed by the record's election key and its ballot is in
    the record with the same hash; the tracker given is in the record, and where."""
    passed = True
    details: list[str] = []
    if state.receipt is not None:
        problems, notes = _receipt(state.body, state.receipt)
        passed = not problems
        details += problems or notes
    if state.tracker is not None:
        found, lines = _find_tracker(state.body, normalise_tracker(state.tracker))
        passed = passed and found
        details += lines
    return passed, details


def _receipt(body: dict[str, Any], document: Any) -> tuple[list[str], list[str]]:
    """Problems with the receipt, or notes of what it proves."""
    shape = {
        "institution": str,
        "election": int,
        "contest": int,
        "tracker": str,
        "ballot_hash": str,
        "cast_on": str,
    }
    inner = document.get("receipt") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("format") != RECEIPT_FORMAT
        or not isinstance(inner, dict)
        or not all(type(inner.get(k)) is t for k, t in shape.items())
        or not isinstance(document.get("signature"), str)
    ):
        return [
            f"the receipt is not a receipt of format {as_json(RECEIPT_FORMAT)}: it needs a "
            f"'receipt' with {', '.join(shape)}, and a 'signature'"
        ], []
    key = body["keys"]["election"]
    problems = []
    if document.get("fingerprint") != key["fingerprint"]:
        problems.append(
            f"the receipt names the key {short(str(document.get('fingerprint')))}, not this "
            f"record's election key {short(key['fingerprint'])}"
        )
    try:
        signed = receipt_signed_by(document, key["public_key"])
    except ValueError:
        signed = False
    if not signed:
        problems.append(
            "the receipt's signature does not verify with this record's election key: the "
            "receipt was altered, or is not from this election"
        )
    institution = body["institution"]["slug"]
    what, election = event_of(body)
    if inner["institution"] != institution or inner["election"] != election:
        problems.append(
            f"the receipt is for {inner['institution']} {what} {inner['election']}, "
            f"this record for {institution} {what} {election}"
        )
    problems += _receipt_ballot(body, inner)
    if problems:
        return problems, []
    return [], [
        f"the receipt is signed by the election key; cast on {inner['cast_on']}",
        f"its {'encrypted ' if inner.get('encrypted') is True else ''}ballot (tracker "
        f"{inner['tracker']}) is in contest {inner['contest']} with the same hash "
        f"{short(inner['ballot_hash'])}",
    ]


def _receipt_ballot(body: dict[str, Any], inner: dict[str, Any]) -> list[str]:
    """What is wrong with the receipt's ballot in the record."""
    tracker = inner["tracker"]
    contests = [c for c in body["contests"] if c["id"] == inner["contest"]]
    if not contests:
        return [f"the receipt names contest {inner['contest']}, which is not in the record"]
    contest = contests[0]
    label = contest_label(contest)
    if inner.get("encrypted") is True:
        return _receipt_encrypted(contest, inner)
    item = next((i for i in contest["ballots"]["items"] if i["tracker"] == tracker), None)
    if item is None:
        elsewhere = [c["id"] for c, _ in _locate(body, tracker)]
        if elsewhere:
            return [
                f"the receipt's ballot (tracker {tracker}) is not in {label} but in contest "
                f"{elsewhere[0]}"
            ]
        return [
            f"the receipt's ballot (tracker {tracker}) is not in the record: the record "
            "lacks a ballot the server accepted"
        ]
    actual = ballot_hash(
        contest["id"],
        tracker,
        item.get("ranking"),
        choice=item.get("choice"),
        constituency=item.get("constituency"),
    )
    if actual != inner["ballot_hash"]:
        return [
            f"{label}: the ballot with tracker {tracker} hashes to {actual}, but the receipt "
            f"says {inner['ballot_hash']}: the record holds a different ballot from the one "
            "cast"
        ]
    return []


def _receipt_encrypted(contest: dict[str, Any], inner: dict[str, Any]) -> list[str]:
    """What is wrong with an encrypted ballot's receipt: its ballot must be among the
    contest's cast encrypted ballots, exactly (its hash is over the whole cast ballot)."""
    tracker, label = inner["tracker"], contest_label(contest)
    cast = next((c for c in cast_ballots(contest) if c.get("tracker") == tracker), None)
    if cast is None:
        return [
            f"the receipt's encrypted ballot (tracker {tracker}) is not among {label}'s cast "
            "encrypted ballots: the record lacks a ballot the server accepted"
        ]
    actual = encrypted_ballot_hash(contest["id"], cast)
    if actual != inner["ballot_hash"]:
        return [
            f"{label}: the encrypted ballot with tracker {tracker} hashes to {actual}, but the "
            f"receipt says {inner['ballot_hash']}: the record holds a different ballot from "
            "the one cast"
        ]
    return []


def _locate(body: dict[str, Any], tracker: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every contest and ballot with this tracker."""
    return [
        (contest, item)
        for contest in body["contests"]
        for item in contest["ballots"]["items"]
        if item["tracker"] == tracker
    ]


def _find_tracker(body: dict[str, Any], tracker: str) -> tuple[bool, list[str]]:
    """Whether the tracker is in the record, and lines saying where and what its ballot marks."""
    if not _TRACKER.match(tracker):
        return False, [
            f"{as_json(tracker)} is not a tracker: four groups of four letters and digits, "
            "like K7QM-2XHD-9PLA-4RTE"
        ]
    found = _locate(body, tracker)
    lines = [
        f"tracker {tracker} is an encrypted ballot cast in {contest_label(contest)}: its "
        "ranking stays secret, and is counted among the rankings opened after the shuffles"
        for contest in body["contests"]
        if any(c.get("tracker") == tracker for c in cast_ballots(contest))
    ]
    if not found and not lines:
        return False, [f"tracker {tracker} is not in the record"]
    for contest, item in found:
        names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
        if "choice" in item:
            on = ", ".join(names.values())
            leader = body.get("assembly", {}).get("leader_title", "")
            marks = f"its choice: {item['choice']} (on confirming {on} as {leader})"
        else:
            chosen = ", ".join(names.get(i, f"#{i}") for i in item["ranking"])
            what = "choice" if contest["method"] == "round" else "ranking"
            marks = f"its {what}: {chosen}"
        if "constituency" in item:
            marks += f"; its constituency: {item['constituency']}"
        lines.append(f"tracker {tracker} is in {contest_label(contest)}; {marks}")
    return True, lines
