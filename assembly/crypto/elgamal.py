"""Exponential ElGamal over ristretto255: a ciphertext of a small whole number ``m`` under
the election key ``Y`` is ``(a, b) = (r·G, m·G + r·Y)``.

Ciphertexts add (the plaintexts add) and re-encrypt (a fresh ``r`` hides the link); the
plaintext is recovered as ``m·G = b − x·a`` and then ``m`` by looking it up in a table of
small multiples of ``G``, which is why only small numbers are encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from assembly.crypto.group import IDENTITY, G, GroupError, Point, random_scalar

__all__ = ["Ciphertext", "SmallLog", "decrypt_point", "encrypt", "reencrypt"]


@dataclass(frozen=True, slots=True)
class Ciphertext:
    a: Point
    b: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.a + other.a, self.b + other.b)

    def times(self, k: int) -> Ciphertext:
        return Ciphertext(self.a * k, self.b * k)

    def to_json(self) -> list[str]:
        return [self.a.hex(), self.b.hex()]

    @classmethod
    def from_json(cls, value: object) -> Ciphertext:
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            raise GroupError("a ciphertext is a list of two points")
        return cls(Point.from_hex(value[0]), Point.from_hex(value[1]))


ZERO = Ciphertext(IDENTITY, IDENTITY)


def encrypt(key: Point, m: int, r: int | None = None) -> tuple[Ciphertext, int]:
    """Encrypt ``m`` under ``key``; return the ciphertext and the randomness used."""
    r = random_scalar() if r is None else r
    return Ciphertext(G * r, G * m + key * r), r


def reencrypt(key: Point, c: Ciphertext, r: int | None = None) -> tuple[Ciphertext, int]:
    """The same plaintext under fresh randomness: ``(a + r·G, b + r·Y)``."""
    r = random_scalar() if r is None else r
    return Ciphertext(c.a + G * r, c.b + key * r), r


def decrypt_point(secret: int, c: Ciphertext) -> Point:
    """``m·G`` from the whole secret key (tests; a real key is never whole)."""
    return c.b - c.a * secret


class SmallLog:
    """Discrete logarithms of ``0·G … limit·G``: a table built once by repeated addition."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        table: dict[bytes, int] = {}
        point = IDENTITY
        for m in range(limit + 1):
            table[point.data] = m
            point = point + G
        self._table = table

    def __call__(self, point: Point) -> int | None:
        """``m`` with ``point = m·G`` and ``0 ≤ m ≤ limit``, or None."""
        return self._table.get(point.data)
