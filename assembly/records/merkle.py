"""Merkle trees as Certificate Transparency defines them (RFC 9162 §2.1), over SHA-256.

A leaf's hash is ``SHA-256(0x00 ‖ data)`` and a node's ``SHA-256(0x01 ‖ left ‖ right)``; the
tree over n leaves splits at the largest power of two below n, so a tree need not be full.
Computed level by level (an odd node at the end of a level moves up unchanged), which gives
the same root. An inclusion proof is the audit path of RFC 9162 §2.1.3, checked by its
algorithm in §2.1.3.2. The empty tree's root is ``SHA-256()`` of nothing.

Pure: standard library only. Any RFC 9162 implementation checks these roots and proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = ["EMPTY_ROOT", "inclusion_proof", "leaf_hash", "merkle_root", "verify_inclusion"]

_LEAF = b"\x00"
_NODE = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(_LEAF + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _levels_up(level: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    paired = [sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        paired.append(level[-1])
    return paired


def merkle_root(leaves: Iterable[bytes]) -> str:
    """The root (hex) of the tree whose leaves' data are ``leaves``, in order."""
    sha256 = hashlib.sha256
    level = [sha256(_LEAF + data).digest() for data in leaves]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _levels_up(level)
    return level[0].hex()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[str]:
    """The audit path (hex hashes, leaf to root) proving leaf ``index`` is in the tree."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    level = [leaf_hash(data) for data in leaves]
    path: list[str] = []
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):
            path.append(level[sibling].hex())
        level = _levels_up(level)
        position //= 2
    return path


def verify_inclusion(data: bytes, index: int, size: int, path: Sequence[str], root: str) -> bool:
    """Whether ``path`` proves that ``data`` is leaf ``index`` of a tree of ``size`` leaves
    with this ``root`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    try:
        hashes = [bytes.fromhex(h) for h in path]
    except ValueError:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(data)
    for p in hashes:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r.hex() == root
