"""Canonical JSON for records: the same rules as the counting core's, re-exported here.

Pure: standard library only (through ``assembly.counting.canonical``).
"""

from assembly.counting.canonical import (
    CanonicalError,
    canonical_bytes,
    canonical_text,
    rational,
    sha256_hex,
)

__all__ = ["CanonicalError", "canonical_bytes", "canonical_text", "rational", "sha256_hex"]
