"""The kinds of record the service keeps, each registered by the feature that makes it.

The service knows no feature: a feature tells it, once, how to load the subject of one of its
records, who may see it now, and which section of a record's body names it. The public verify
page lists and checks every kind through these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["RecordKind", "Subject", "kinds", "record_kind", "register_kind"]


class Subject(Protocol):
    """What a record is of (an election, an assembly), as the verify page names it."""

    id: int
    title: str
    signing_key_id: int | None
    officer_fingerprint: str

    @property
    def institution(self) -> Any: ...


@dataclass(frozen=True)
class RecordKind:
    """How the records service serves one kind of record."""

    #: The kind stored with each record (``records.kind``).
    name: str
    #: The section of a record's body that names its subject by ``id``.
    section: str
    #: The subject with this id, or None.
    load: Callable[[int], Subject | None]
    #: Whether this user (signed in or not) may see the subject's record now.
    visible: Callable[[Any, Any], bool]
    #: Whether the subject's result is declared (else only its officers see the record).
    declared: Callable[[Any], bool]


_KINDS: dict[str, RecordKind] = {}


def register_kind(kind: RecordKind) -> None:
    """Serve records of ``kind`` (the app factory registers each feature's, once)."""
    _KINDS[kind.name] = kind


def record_kind(name: str) -> RecordKind | None:
    """The registered kind called ``name``, if any."""
    return _KINDS.get(name)


def kinds() -> list[RecordKind]:
    """Every registered kind."""
    return list(_KINDS.values())
