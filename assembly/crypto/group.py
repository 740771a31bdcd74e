"""The ristretto255 group (RFC 9496): points, scalars, generators and challenges.

Points are ristretto255 elements, held and published as their canonical 32-byte encoding;
scalars are integers modulo the group order ``L``, published as 32 bytes little-endian. The
point arithmetic is libsodium's, through rbcl (the one group-arithmetic library the verifier
adds); everything else is the standard library, so anyone can check a record with these few
functions. docs/e2e.md specifies every encoding and hash so that another verifier can be written
from it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence

import rbcl

__all__ = [
    "IDENTITY",
    "G",
    "GroupError",
    "L",
    "Point",
    "challenge",
    "encode_parts",
    "generator",
    "generators",
    "random_scalar",
    "scalar_from_bytes",
    "scalar_from_hex",
    "scalar_hex",
    "scalar_to_bytes",
]

#: The order of the ristretto255 group: every scalar is taken modulo it.
L = 2**252 + 27742317777372353535851937790883648493

_DOMAIN = b"assembly/e2e/v1/"


class GroupError(ValueError):
    """Bytes that are not a canonical point or scalar."""


class Point:
    """A ristretto255 element. ``+``, ``-`` and multiplication by an ``int`` scalar."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def from_bytes(cls, data: bytes) -> Point:
        """Decode a canonical encoding, refusing anything else."""
        if len(data) != 32 or not rbcl.crypto_core_ristretto255_is_valid_point(data):
            raise GroupError("not a canonical ristretto255 point")
        return cls(bytes(data))

    @classmethod
    def from_hex(cls, text: str) -> Point:
        try:
            data = bytes.fromhex(text)
        except (ValueError, TypeError) as error:
            raise GroupError("a point is 64 hex digits") from error
        return cls.from_bytes(data)

    def hex(self) -> str:
        return self.data.hex()

    def __add__(self, other: Point) -> Point:
        return Point(rbcl.crypto_core_ristretto255_add(self.data, other.data))

    def __sub__(self, other: Point) -> Point:
        return Point(rbcl.crypto_core_ristretto255_sub(self.data, other.data))

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __mul__(self, scalar: int) -> Point:
        k = scalar % L
        if not k or self.data == _ZERO_BYTES:
            return IDENTITY
        if self.data == _BASE_BYTES:
            return Point(rbcl.crypto_scalarmult_ristretto255_base(k.to_bytes(32, "little")))
        return Point(rbcl.crypto_scalarmult_ristretto255(k.to_bytes(32, "little"), self.data))

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and secrets.compare_digest(self.data, other.data)

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"Point({self.data.hex()[:16]}…)"


_ZERO_BYTES = bytes(32)
IDENTITY = Point(_ZERO_BYTES)
#: The ristretto255 generator (RFC 9496 §4.4).
_BASE_BYTES = rbcl.crypto_scalarmult_ristretto255_base((1).to_bytes(32, "little"))
G = Point(_BASE_BYTES)


def scalar_to_bytes(k: int) -> bytes:
    return (k % L).to_bytes(32, "little")


def scalar_from_bytes(data: bytes) -> int:
    """Decode a canonical scalar (32 bytes little-endian, below ``L``)."""
    if len(data) != 32:
        raise GroupError("a scalar is 32 bytes")
    k = int.from_bytes(data, "little")
    if k >= L:
        raise GroupError("a scalar must be below the group order")
    return k


def scalar_hex(k: int) -> str:
    """A scalar as published: 64 hex digits of its 32 bytes little-endian."""
    return scalar_to_bytes(k).hex()


def scalar_from_hex(value: object) -> int:
    """Read a published scalar, refusing anything but 64 hex digits of a canonical one."""
    if not isinstance(value, str) or len(value) != 64:
        raise GroupError("a scalar is 64 hex digits")
    try:
        data = bytes.fromhex(value)
    except ValueError as error:
        raise GroupError("a scalar is 64 hex digits") from error
    return scalar_from_bytes(data)


def random_scalar() -> int:
    """A uniformly random non-zero scalar from the operating system's generator."""
    return 1 + secrets.randbelow(L - 1)


def generator(label: str) -> Point:
    """An independent generator nobody knows a discrete logarithm of: the hash of ``label``
    mapped to the group (RFC 9496 §4.3.4, one-way map of 64 bytes of SHA-512)."""
    digest = hashlib.sha512(_DOMAIN + b"generator/" + label.encode()).digest()
    return Point(rbcl.crypto_core_ristretto255_from_hash(digest))


def generators(label: str, count: int) -> list[Point]:
    """``count`` independent generators ``label/1`` … ``label/count``."""
    return [generator(f"{label}/{i}") for i in range(1, count + 1)]


Part = Point | int | bytes | str


def _encode(part: Part) -> bytes:
    if isinstance(part, Point):
        data = part.data
    elif isinstance(part, bool):
        raise TypeError("a challenge hashes points, scalars, bytes and text, not booleans")
    elif isinstance(part, int):
        data = scalar_to_bytes(part)
    elif isinstance(part, str):
        data = part.encode()
    else:
        data = bytes(part)
    return len(data).to_bytes(4, "big") + data


def encode_parts(*parts: Part) -> bytes:
    """The parts as a challenge hashes them: each length-prefixed, in order."""
    return b"".join(_encode(part) for part in parts)


def challenge(label: str, *parts: Part | Sequence[Part] | Iterable[Part]) -> int:
    """The Fiat–Shamir challenge: SHA-512 of the domain, the label and every part, each
    length-prefixed (4 bytes big-endian), taken modulo ``L`` as a little-endian integer.
    Sequences are flattened in order."""
    digest = hashlib.sha512()
    digest.update(_encode(_DOMAIN.decode() + label))
    for part in parts:
        if isinstance(part, (Point, int, bytes, str)):
            digest.update(_encode(part))
        else:
            for item in part:
                digest.update(_encode(item))
    return int.from_bytes(digest.digest(), "little") % L
