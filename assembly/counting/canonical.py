"""Canonical JSON: the one byte string a value has, so that its hash is stable everywhere.

Rules (record format v1): UTF-8; object keys sorted by code point; no insignificant
whitespace; no floats (integers, and exact rationals as ``"n/d"`` strings); strings as
``json`` escapes them with ``ensure_ascii=False``. Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from typing import Any

__all__ = ["CanonicalError", "canonical_bytes", "canonical_text", "rational", "sha256_hex"]


class CanonicalError(ValueError):
    """The value has no canonical form (a float, a non-string key, an unknown type)."""


def rational(value: Fraction | int) -> str:
    """Return an exact rational as its canonical ``"n/d"`` string (``"1/3"``, ``"2/1"``)."""
    value = Fraction(value)
    return f"{value.numerator}/{value.denominator}"


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        raise CanonicalError(f"{path or 'value'} is a float; use an integer or an 'n/d' string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"{path or 'value'} has a non-string key {key!r}")
            _check(item, f"{path}.{key}" if path else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalError(f"{path or 'value'} has type {type(value).__name__}, not JSON")


def canonical_text(value: Any) -> str:
    """Return the canonical JSON text of ``value``.

    :raises CanonicalError: ``value`` holds a float or anything JSON cannot express exactly.
    """
    _check(value, "")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical JSON of ``value`` as UTF-8 bytes."""
    return canonical_text(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 digest of ``data`` as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()
