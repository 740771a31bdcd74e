"""An encrypted ranking, its proofs, its tracker, and the rows that are shuffled and opened.

A ranking of ``n`` candidates is ``n`` preferences, ``v_1 … v_n``: ``v_p`` is the number
(1 … n) of the candidate ranked ``p``-th, 0 where the ranking has ended. Each ``v_p`` is
written in ``bits = n.bit_length()`` bits and each bit is encrypted under the election key
with a proof that it encrypts 0 or 1 (``OneOf``), bound to the poll and the voter's
credential so the ciphertexts cannot be cast again by anyone else.

After the close anyone can combine a ballot's bit ciphertexts into its *row*: the
preferences packed, ``per = 16 // bits`` to a ciphertext, ``Σ_q 2^(bits·q)·v_p+q``, each below
2¹⁶ so a table opens it. The rows are what the trustees shuffle and decrypt; ``read_row``
turns the opened numbers back into a ranking.

A ranking is read from its preferences up to the first 0: a preference above ``n`` or for a
candidate already ranked ends it there too (the browser never writes one; only a hand-made
ballot could, and it spoils nothing but itself).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from assembly.crypto.elgamal import Ciphertext, encrypt
from assembly.crypto.group import GroupError, L, Point
from assembly.crypto.proofs import OneOf, Schnorr
from assembly.records.record import TRACKER_ALPHABET

__all__ = [
    "CREDENTIAL_LENGTH",
    "EncryptedBallot",
    "Layout",
    "ballot_is_valid",
    "credential_secret",
    "encrypt_ranking",
    "encrypt_ranking_opened",
    "new_credential_code",
    "opens_to",
    "read_row",
    "row_of",
    "row_tracker",
    "sign",
    "signature_is_valid",
    "tracker",
    "tracker_of",
]

_BITS = (0, 1)


@dataclass(frozen=True)
class Layout:
    """How a poll of ``candidates`` candidates writes a ranking."""

    candidates: int

    @property
    def bits(self) -> int:
        return self.candidates.bit_length()

    @property
    def per(self) -> int:
        """Preferences packed into one ciphertext of a row."""
        return max(1, 16 // self.bits)

    @property
    def width(self) -> int:
        """Ciphertexts in a row."""
        return -(-self.candidates // self.per)

    @property
    def largest(self) -> int:
        """The largest number a row's ciphertext can hold."""
        return (1 << (self.bits * self.per)) - 1

    def preferences(self, ranking: Sequence[int]) -> list[int]:
        """``v_1 … v_n`` of a ranking of candidate indexes (0-based, no repeats)."""
        if len(ranking) > self.candidates or len(set(ranking)) != len(ranking):
            raise ValueError("a ranking names each candidate at most once")
        if any(not 0 <= c < self.candidates for c in ranking):
            raise ValueError("a ranking names only the poll's candidates")
        return [c + 1 for c in ranking] + [0] * (self.candidates - len(ranking))


@dataclass(frozen=True)
class EncryptedBallot:
    """``bits[p][j]`` encrypts bit ``j`` of preference ``p``; ``proofs`` alike."""

    bits: tuple[tuple[Ciphertext, ...], ...]
    proofs: tuple[tuple[OneOf, ...], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "bits": [[c.to_json() for c in row] for row in self.bits],
            "proofs": [[p.to_json() for p in row] for row in self.proofs],
        }

    @classmethod
    def from_json(cls, value: object) -> EncryptedBallot:
        """Read a ballot as published (and as the browser sends it).

        :raises GroupError: anything that is not a ballot of canonical points and scalars.
        """
        if not isinstance(value, dict) or set(value) != {"bits", "proofs"}:
            raise GroupError("a ballot is an object of 'bits' and 'proofs'")
        bits, proofs = value["bits"], value["proofs"]
        if not isinstance(bits, list) or not isinstance(proofs, list):
            raise GroupError("a ballot's bits and proofs are lists")
        if not all(isinstance(row, list) for row in [*bits, *proofs]):
            raise GroupError("a ballot's bits and proofs are lists of lists")
        return cls(
            tuple(tuple(Ciphertext.from_json(c) for c in row) for row in bits),
            tuple(tuple(OneOf.from_json(p) for p in row) for row in proofs),
        )

    def canonical(self) -> bytes:
        """The bytes a tracker hashes: every ciphertext's two points, in order."""
        return b"".join(c.a.data + c.b.data for row in self.bits for c in row)


def _context(poll: str, credential: str, position: int, bit: int) -> str:
    return f"{poll}/ballot/{credential}/{position}/{bit}"


def encrypt_ranking(
    key: Point, layout: Layout, ranking: Sequence[int], poll: str, credential: str
) -> EncryptedBallot:
    """Encrypt ``ranking`` (0-based candidate indexes, first preference first) for ``poll``."""
    return encrypt_ranking_opened(key, layout, ranking, poll, credential)[0]


def encrypt_ranking_opened(
    key: Point, layout: Layout, ranking: Sequence[int], poll: str, credential: str
) -> tuple[EncryptedBallot, tuple[tuple[int, ...], ...]]:
    """``encrypt_ranking`` and the randomness of every bit: what a Benaloh audit reveals."""
    bits: list[tuple[Ciphertext, ...]] = []
    proofs: list[tuple[OneOf, ...]] = []
    randomness: list[tuple[int, ...]] = []
    for position, value in enumerate(layout.preferences(ranking), start=1):
        row, row_proofs, row_randomness = [], [], []
        for j in range(layout.bits):
            bit = (value >> j) & 1
            c, r = encrypt(key, bit)
            row.append(c)
            row_randomness.append(r)
            context = _context(poll, credential, position, j)
            row_proofs.append(OneOf.prove(key, c, bit, r, _BITS, context))
        bits.append(tuple(row))
        proofs.append(tuple(row_proofs))
        randomness.append(tuple(row_randomness))
    return EncryptedBallot(tuple(bits), tuple(proofs)), tuple(randomness)


def opens_to(
    key: Point,
    layout: Layout,
    ballot: EncryptedBallot,
    randomness: Sequence[Sequence[int]],
    ranking: Sequence[int],
) -> bool:
    """A Benaloh audit: with the randomness revealed, the ballot's ciphertexts are exactly
    the encryptions of ``ranking`` (so the browser encrypted what the voter chose)."""
    try:
        values = layout.preferences(ranking)
    except ValueError:
        return False
    if len(randomness) != len(ballot.bits) or len(ballot.bits) != layout.candidates:
        return False
    for value, row, rs in zip(values, ballot.bits, randomness, strict=True):
        if len(row) != layout.bits or len(rs) != layout.bits:
            return False
        for j, (c, r) in enumerate(zip(row, rs, strict=True)):
            if encrypt(key, (value >> j) & 1, r)[0] != c:
                return False
    return True


def ballot_is_valid(
    key: Point, layout: Layout, ballot: EncryptedBallot, poll: str, credential: str
) -> bool:
    """The ballot has the layout's shape and every bit's proof holds."""
    if len(ballot.bits) != layout.candidates or len(ballot.proofs) != layout.candidates:
        return False
    for position, (row, row_proofs) in enumerate(
        zip(ballot.bits, ballot.proofs, strict=True), start=1
    ):
        if len(row) != layout.bits or len(row_proofs) != layout.bits:
            return False
        for j, (c, proof) in enumerate(zip(row, row_proofs, strict=True)):
            if not proof.verify(key, c, _BITS, _context(poll, credential, position, j)):
                return False
    return True


def tracker_of(data: bytes) -> str:
    """A tracker for ``data``: the first 80 bits of SHA-256 of it, five bits to a character of
    the tracker alphabet, most significant first, in four groups of four."""
    number = int.from_bytes(hashlib.sha256(data).digest()[:10], "big")
    characters = "".join(TRACKER_ALPHABET[(number >> (75 - 5 * i)) & 31] for i in range(16))
    return "-".join(characters[i : i + 4] for i in range(0, 16, 4))


def tracker(ballot: EncryptedBallot) -> str:
    """The ballot's tracker: the hash of its ciphertexts, so anyone can recompute it."""
    return tracker_of(b"assembly/e2e/v1/tracker\x00" + ballot.canonical())


def row_tracker(row: Sequence[Ciphertext]) -> str:
    """The tracker of a row opened after the shuffles: the hash of its ciphertexts."""
    return tracker_of(b"assembly/e2e/v1/row\x00" + b"".join(c.a.data + c.b.data for c in row))


#: A credential code's characters (the tracker alphabet), 5 bits each: 100 bits in all.
CREDENTIAL_LENGTH = 20


def new_credential_code() -> str:
    """A fresh credential code: 20 characters of the tracker alphabet in groups of five."""
    characters = "".join(secrets.choice(TRACKER_ALPHABET) for _ in range(CREDENTIAL_LENGTH))
    return "-".join(characters[i : i + 5] for i in range(0, CREDENTIAL_LENGTH, 5))


def credential_secret(code: str) -> int:
    """The credential secret a code stands for: SHA-512 of ``"assembly/e2e/v1/credential\\0"``
    and the code's 20 characters (upper case, without the dashes), as a little-endian integer
    modulo L.

    :raises GroupError: not 20 characters of the tracker alphabet.
    """
    characters = code.replace("-", "").replace(" ", "").upper()
    if len(characters) != CREDENTIAL_LENGTH or any(c not in TRACKER_ALPHABET for c in characters):
        raise GroupError(
            f"a credential is {CREDENTIAL_LENGTH} letters and digits (no 0, 1, I or O)"
        )
    digest = hashlib.sha512(b"assembly/e2e/v1/credential\x00" + characters.encode()).digest()
    return int.from_bytes(digest, "little") % L


def _signed(poll: str, ballot: EncryptedBallot) -> str:
    return f"{poll}/cast/{tracker(ballot)}"


def sign(credential_secret: int, poll: str, ballot: EncryptedBallot) -> Schnorr:
    """The voter's signature on the ballot with their credential: a Schnorr proof of the
    credential's secret whose context is the poll and the ballot's tracker."""
    return Schnorr.prove(credential_secret, _signed(poll, ballot))


def signature_is_valid(
    credential: Point, poll: str, ballot: EncryptedBallot, signature: Schnorr
) -> bool:
    return signature.verify(credential, _signed(poll, ballot))


def row_of(layout: Layout, ballot: EncryptedBallot) -> list[Ciphertext]:
    """The ballot's row: its bits combined into preferences, packed ``per`` to a ciphertext
    (homomorphically; anyone can recompute it from the published ballot).

    A packed ciphertext is ``Σ 2^(bits·q + j)·bit_(q, j)`` over its preferences ``q`` and
    their bits ``j``: one number whose binary digits are the bits in order, so it is found by
    Horner's rule, doubling and adding from the most significant bit (additions only: a
    multiplication by a scalar costs some forty additions)."""
    packed = []
    for start in range(0, layout.candidates, layout.per):
        digits = [c for row in ballot.bits[start : start + layout.per] for c in row]
        total = digits[-1]
        for c in reversed(digits[:-1]):
            total = total + total + c
        packed.append(total)
    return packed


def read_row(layout: Layout, numbers: Sequence[int]) -> tuple[int, ...]:
    """The ranking (0-based candidate indexes) from a row's opened numbers."""
    mask = (1 << layout.bits) - 1
    values = []
    for number in numbers:
        for q in range(layout.per):
            values.append((number >> (layout.bits * q)) & mask)
    ranking: list[int] = []
    for value in values[: layout.candidates]:
        if value == 0 or value > layout.candidates or value - 1 in ranking:
            break
        ranking.append(value - 1)
    return tuple(ranking)
