"""Merkle trees (RFC 9162 §2.1): roots and inclusion proofs against a direct implementation
of the RFC's definitions, and against Certificate Transparency's reference vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assembly.records.merkle import (
    EMPTY_ROOT,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_inclusion,
)


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 defines it."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def distinct(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


#: Certificate Transparency's reference leaves and the roots of their first 0..8.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_one_empty_leaf_is_the_hash_of_a_zero_byte() -> None:
    """The root of one leaf b"" is SHA-256(0x00 ‖ b"")."""
    assert merkle_root([b""]) == hashlib.sha256(b"\x00" + b"").hexdigest()
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    """The empty tree's root is SHA-256 of the empty string."""
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_roots_match_certificate_transparency(size: int) -> None:
    """The roots of CT's reference leaves are the published ones, for every size 0..8."""
    assert merkle_root(CT_LEAVES[:size]) == CT_ROOTS[size]


@pytest.mark.parametrize(
    ("index", "proof"),
    [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ],
)
def test_inclusion_proofs_match_certificate_transparency(index: int, proof: list[str]) -> None:
    """The audit paths of CT's reference tree of 8 are the published ones, and verify."""
    assert inclusion_proof(CT_LEAVES, index) == proof
    assert verify_inclusion(CT_LEAVES[index], index, 8, proof, CT_ROOTS[8])


@pytest.mark.parametrize("size", range(201))
def test_root_equals_the_recursive_definition_for_every_size(size: int) -> None:
    """merkle_root (level by level) equals MTH (recursive) for every size 0..200."""
    assert merkle_root(distinct(size)) == mth(distinct(size)).hex()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=200))
def test_root_equals_the_recursive_definition_for_any_leaves(leaves: list[bytes]) -> None:
    """For any leaves (repeated or empty ones too) merkle_root equals MTH."""
    assert merkle_root(leaves) == mth(leaves).hex()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=200).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1))
    )
)
def test_every_proof_is_the_rfc_audit_path_and_verifies(case: tuple[int, int]) -> None:
    """inclusion_proof gives PATH(m, D[n]) of the RFC, and it verifies against the root."""
    size, index = case
    leaves = distinct(size)
    proof = inclusion_proof(leaves, index)
    assert proof == [h.hex() for h in path(index, leaves)]
    assert verify_inclusion(leaves[index], index, size, proof, merkle_root(leaves))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 64, 65])
def test_every_leaf_of_a_tree_verifies(size: int) -> None:
    """Every leaf's proof verifies in trees of assorted shapes (full and ragged)."""
    leaves = distinct(size)
    root = merkle_root(leaves)
    for index, data in enumerate(leaves):
        assert verify_inclusion(data, index, size, inclusion_proof(leaves, index), root)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=2, max_value=200).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, n - 1))
    )
)
def test_a_wrong_index_fails(case: tuple[int, int, int]) -> None:
    """A proof does not verify the leaf at another index of the same tree."""
    size, index, other = case
    assume(other != index)
    leaves = distinct(size)
    proof = inclusion_proof(leaves, index)
    assert not verify_inclusion(leaves[index], other, size, proof, merkle_root(leaves))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=200).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 400))
    )
)
def test_a_wrong_size_fails_when_its_path_has_another_length(case: tuple[int, int, int]) -> None:
    """A proof fails for a size the leaf is not in, or whose audit path is longer or
    shorter. (An RFC 9162 proof does not bind the size by itself: a signed tree head does,
    so sizes with paths of the same shape may pass.)"""
    size, index, wrong = case
    assume(wrong != size)
    leaves = distinct(size)
    proof = inclusion_proof(leaves, index)
    if index < wrong and len(path(index, distinct(wrong))) == len(proof):
        return
    assert not verify_inclusion(leaves[index], index, wrong, proof, merkle_root(leaves))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=2, max_value=200).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.data())
    )
)
def test_a_wrong_root_data_or_path_fails(case: tuple[int, int, st.DataObject]) -> None:
    """Another root, other leaf data, a changed, missing or extra hash in the path: each
    fails."""
    size, index, data = case
    leaves = distinct(size)
    root = merkle_root(leaves)
    proof = inclusion_proof(leaves, index)
    assert not verify_inclusion(leaves[index], index, size, proof, merkle_root(leaves[:-1]))
    assert not verify_inclusion(b"another ballot", index, size, proof, root)
    position = data.draw(st.integers(0, len(proof) - 1))
    changed = list(proof)
    changed[position] = hashlib.sha256(b"forged").hexdigest()
    assert not verify_inclusion(leaves[index], index, size, changed, root)
    assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
    assert not verify_inclusion(leaves[index], index, size, [*proof, proof[0]], root)
    assert not verify_inclusion(leaves[index], index, size, ["not hex"], root)


def test_an_index_outside_the_tree_fails() -> None:
    """A negative index, or one at or beyond the size, never verifies."""
    leaves = distinct(4)
    proof = inclusion_proof(leaves, 3)
    root = merkle_root(leaves)
    assert not verify_inclusion(leaves[3], -1, 4, proof, root)
    assert not verify_inclusion(leaves[3], 4, 4, proof, root)
    with pytest.raises(IndexError):
        inclusion_proof(leaves, 4)
