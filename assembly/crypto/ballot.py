"""An encrypted ranking, its proofs, its tracker, and the row that is shuffled and opened.

A ranking of ``n`` candidates is ``n`` preferences, ``v_1 … v_n``: ``v_p`` is the number
(1 … n) of the candidate ranked ``p``-th, 0 where the ranking has ended. Each ``v_p`` takes
``bits = n.bit_length()`` bits, and the preferences are packed ``per = 16 // bits`` to a
number, ``Σ_q 2^(bits·q)·v_(p+q)``, below 2¹⁶ so a table opens it. The ballot is its *row*:
each packed number encrypted under the election key, with a proof that the voter knows the
encryption's randomness (a Schnorr proof of ``a = r·G``) bound to the poll, the voter's
credential, the ciphertext's position and its second point — so nobody else can cast a copy
of it, or of any ciphertext made from it, under their own credential. This is how Belenios
casts the ballots of its non-homomorphic (shuffled) questions: the rows are what the trustees
shuffle and decrypt, and ``read_row`` turns the opened numbers back into a ranking.

What the proof does not say is that the packed number is one the browser would write; it
need not, since every row is opened one by one after the shuffles. A ranking is read from its
preferences up to the first 0: a preference above ``n`` or for a candidate already ranked ends
it there, and a row whose numbers are not all below 2¹⁶ opens to no small number and is read
as a spoilt paper. The browser never writes either; only a hand-made ballot could, and it
spoils nothing but itself. (Version 1 of the section proved each of the ``n·bits`` bits 0 or
1 instead: sixty disjunctive proofs a 15-candidate ballot, which made checking a large poll
slower than its budget for no protection a shuffled poll needs.)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from assembly.crypto.elgamal import Ciphertext, encrypt
from assembly.crypto.group import GroupError, L, Point
from assembly.crypto.proofs import Schnorr
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

    def packed(self, ranking: Sequence[int]) -> list[int]:
        """The numbers a ranking's row encrypts: its preferences, ``per`` to a number, the
        first of them in the lowest bits."""
        values = self.preferences(ranking)
        return [
            sum(v << (self.bits * q) for q, v in enumerate(values[start : start + self.per]))
            for start in range(0, self.candidates, self.per)
        ]


@dataclass(frozen=True)
class EncryptedBallot:
    """``row[k]`` encrypts the ranking's ``k``-th packed number; ``proofs[k]`` proves that the
    voter knows its randomness."""

    row: tuple[Ciphertext, ...]
    proofs: tuple[Schnorr, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "row": [c.to_json() for c in self.row],
            "proofs": [p.to_json() for p in self.proofs],
        }

    @classmethod
    def from_json(cls, value: object) -> EncryptedBallot:
        """Read a ballot as published (and as the browser sends it).

        :raises GroupError: anything that is not a ballot of canonical points and scalars.
        """
        if not isinstance(value, dict) or set(value) != {"row", "proofs"}:
            raise GroupError("a ballot is an object of 'row' and 'proofs'")
        row, proofs = value["row"], value["proofs"]
        if not isinstance(row, list) or not isinstance(proofs, list):
            raise GroupError("a ballot's row and proofs are lists")
        return cls(
            tuple(Ciphertext.from_json(c) for c in row),
            tuple(Schnorr.from_json(p) for p in proofs),
        )

    def canonical(self) -> bytes:
        """The bytes a tracker hashes: every ciphertext's two points, in order."""
        return b"".join(c.a.data + c.b.data for c in self.row)


def _context(poll: str, credential: str, position: int, c: Ciphertext) -> str:
    return f"{poll}/ballot/{credential}/{position}/{c.b.hex()}"


def encrypt_ranking(
    key: Point, layout: Layout, ranking: Sequence[int], poll: str, credential: str
) -> EncryptedBallot:
    """Encrypt ``ranking`` (0-based candidate indexes, first preference first) for ``poll``."""
    return encrypt_ranking_opened(key, layout, ranking, poll, credential)[0]


def encrypt_ranking_opened(
    key: Point, layout: Layout, ranking: Sequence[int], poll: str, credential: str
) -> tuple[EncryptedBallot, tuple[int, ...]]:
    """``encrypt_ranking`` and the randomness of every ciphertext: what a Benaloh audit
    reveals."""
    row, proofs, randomness = [], [], []
    for position, number in enumerate(layout.packed(ranking), start=1):
        c, r = encrypt(key, number)
        row.append(c)
        randomness.append(r)
        proofs.append(Schnorr.prove(r, _context(poll, credential, position, c)))
    return EncryptedBallot(tuple(row), tuple(proofs)), tuple(randomness)


def opens_to(
    key: Point,
    layout: Layout,
    ballot: EncryptedBallot,
    randomness: Sequence[int],
    ranking: Sequence[int],
) -> bool:
    """A Benaloh audit: with the randomness revealed, the ballot's ciphertexts are exactly
    the encryptions of ``ranking`` (so the browser encrypted what the voter chose)."""
    try:
        numbers = layout.packed(ranking)
    except ValueError:
        return False
    if len(randomness) != len(ballot.row) or len(ballot.row) != layout.width:
        return False
    return all(
        encrypt(key, number, r)[0] == c
        for number, c, r in zip(numbers, ballot.row, randomness, strict=True)
    )


def ballot_is_valid(
    key: Point, layout: Layout, ballot: EncryptedBallot, poll: str, credential: str
) -> bool:
    """The ballot is a row of the layout's width and every ciphertext's proof holds (``key``
    is the election key: the row is encrypted under it, which the proofs need not name)."""
    del key
    if len(ballot.row) != layout.width or len(ballot.proofs) != layout.width:
        return False
    return all(
        proof.verify(c.a, _context(poll, credential, position, c))
        for position, (c, proof) in enumerate(zip(ballot.row, ballot.proofs, strict=True), 1)
    )


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
    """The ballot's row: its ciphertexts, as the first shuffle takes them."""
    del layout
    return list(ballot.row)


def read_row(layout: Layout, numbers: Sequence[int]) -> tuple[int, ...]:
    """The ranking (0-based candidate indexes) from a row's opened numbers; none (a spoilt
    paper) where a number is not one a row can hold (``-1``: no small number)."""
    if any(not 0 <= number <= layout.largest for number in numbers):
        return ()
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
