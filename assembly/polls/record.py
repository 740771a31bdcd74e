"""A poll's sections of the signed record, the same for a board election's contest and an
assembly's vote: the roll commitment and the ballots, each with its Merkle root, built with
the record format's own leaf functions (``records.record``), which the verifier recomputes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assembly.polls.queries import ballots_of
from assembly.records import merkle
from assembly.records.record import ballot_leaf, roll_leaf

__all__ = ["ballot_items", "ballot_section", "roll_section"]


def roll_section(record_id: int, entries: Iterable[tuple[int, str, str]]) -> dict[str, Any]:
    """The roll's commitment: how many voters, and the Merkle root of their leaves (elector
    number, email address, salt), in the order given (roll number, or order of arrival).

    :param record_id: the contest's id in the record (a contest's id, or a vote's).
    """
    leaves = [roll_leaf(record_id, number, email, salt) for number, email, salt in entries]
    return {"voters": len(leaves), "merkle_root": merkle.merkle_root(leaves)}


def ballot_items(
    poll_id: int, *, choices: bool = False, weighted: bool = False
) -> list[dict[str, Any]]:
    """The poll's ballots as the record lists them, sorted by tracker: each with its ranking,
    or its choice on a confirmation (``choices``), and its constituency where the poll weights
    constituencies (``weighted``)."""
    items = []
    for ballot in ballots_of(poll_id):
        item: dict[str, Any] = {"tracker": ballot.tracker, "channel": ballot.channel.value}
        if choices:
            item["choice"] = ballot.choice
        else:
            item["ranking"] = ballot.ranking
        if weighted:
            item["constituency"] = ballot.constituency
        items.append(item)
    return items


def ballot_section(record_id: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The record's ballots: their count, the Merkle root of their hashes, and the items."""
    root = merkle.merkle_root(
        ballot_leaf(
            record_id,
            item["tracker"],
            item.get("ranking"),
            choice=item.get("choice"),
            constituency=item.get("constituency"),
        )
        for item in items
    )
    return {"count": len(items), "merkle_root": root, "items": items}
