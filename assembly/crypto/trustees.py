"""The trustees' key and its threshold decryption.

Key ceremony (Pedersen's distributed key generation with Feldman's verifiable sharing):
each of the ``n`` trustees chooses a random polynomial ``f_i`` of degree ``k − 1`` and publishes
``A_i,t = a_i,t·G`` for its coefficients, with a Schnorr proof that it knows ``a_i,0``; it
gives trustee ``j`` the share ``f_i(j)``, which ``j`` checks against the commitments
(``f_i(j)·G = Σ_t j^t·A_i,t``). The election key is ``Y = Σ_i A_i,0``; trustee ``j``'s secret
is ``x_j = Σ_i f_i(j)`` and everyone can compute its public part ``X_j = Σ_i Σ_t j^t·A_i,t``.
Nobody ever holds the whole secret ``Σ_i a_i,0``.

The shares travel through the server sealed to each recipient's *transport key* (a key the
trustee's browser makes first and keeps): ``seal_share`` and ``open_share``.

Decryption: for a ciphertext ``(a, b)`` trustee ``j`` publishes ``D_j = x_j·a`` with a
Chaum–Pedersen proof that it used ``x_j``; any ``k`` shares give ``x·a = Σ λ_j·D_j`` (Lagrange
coefficients at 0), so ``m·G = b − x·a``, and trustees missing beyond the threshold do not stop
the count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import (
    IDENTITY,
    G,
    GroupError,
    L,
    Point,
    encode_parts,
    random_scalar,
    scalar_to_bytes,
)
from assembly.crypto.proofs import Dleq, Schnorr

__all__ = [
    "Dealing",
    "combine",
    "deal",
    "decryption_share",
    "election_key",
    "lagrange_at_zero",
    "open_share",
    "seal_share",
    "share_is_valid",
    "trustee_public",
    "trustee_secret",
]


def _context(election: str, trustee: int) -> str:
    return f"{election}/trustee/{trustee}"


@dataclass(frozen=True)
class Dealing:
    """What trustee ``dealer`` publishes: the commitments to its polynomial's coefficients and
    the proof of knowledge of the constant term; ``shares[j − 1]`` goes privately to ``j``."""

    dealer: int
    commitments: tuple[Point, ...]
    proof: Schnorr
    shares: tuple[int, ...]

    def proof_is_valid(self, election: str) -> bool:
        return bool(self.commitments) and self.proof.verify(
            self.commitments[0], _context(election, self.dealer)
        )


def deal(election: str, dealer: int, threshold: int, trustees: int) -> Dealing:
    """Trustee ``dealer`` (1 … trustees) shares a fresh secret, ``threshold`` of ``trustees``."""
    if not 1 <= threshold <= trustees:
        raise ValueError("the threshold must be between 1 and the number of trustees")
    coefficients = [random_scalar() for _ in range(threshold)]
    commitments = tuple(G * a for a in coefficients)
    proof = Schnorr.prove(coefficients[0], _context(election, dealer))
    shares = tuple(_evaluate(coefficients, j) for j in range(1, trustees + 1))
    return Dealing(dealer, commitments, proof, shares)


def _pad(label: str, dealer: int, recipient: int, ephemeral: Point, shared: Point) -> bytes:
    data = encode_parts(
        "assembly/e2e/v1/share", label, str(dealer), str(recipient), ephemeral, shared
    )
    return hashlib.sha512(data).digest()[:32]


def seal_share(
    label: str, dealer: int, recipient: int, transport: Point, share: int
) -> dict[str, str]:
    """Encrypt ``share`` for trustee ``recipient``'s transport key ``T``: an ephemeral
    ``E = e·G``, and the share's 32 bytes XOR the first 32 bytes of
    ``SHA-512(labelled E and e·T)``. No MAC: the recipient checks the share against the
    dealer's public commitments, which a changed box fails."""
    e = random_scalar()
    ephemeral = G * e
    pad = _pad(label, dealer, recipient, ephemeral, transport * e)
    box = bytes(x ^ y for x, y in zip(scalar_to_bytes(share), pad, strict=True))
    return {"ephemeral": ephemeral.hex(), "box": box.hex()}


def open_share(
    label: str, dealer: int, recipient: int, transport_secret: int, sealed: dict[str, str]
) -> int:
    """The share a dealer sealed for this trustee.

    :raises GroupError: the sealed share is not well formed.
    """
    ephemeral = Point.from_hex(sealed["ephemeral"])
    try:
        box = bytes.fromhex(sealed["box"])
    except (ValueError, TypeError) as error:
        raise GroupError("a sealed share's box is 64 hex digits") from error
    if len(box) != 32:
        raise GroupError("a sealed share's box is 64 hex digits")
    pad = _pad(label, dealer, recipient, ephemeral, ephemeral * transport_secret)
    return int.from_bytes(bytes(x ^ y for x, y in zip(box, pad, strict=True)), "little") % L


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    value = 0
    for a in reversed(coefficients):
        value = (value * x + a) % L
    return value


def _committed(commitments: Sequence[Point], j: int) -> Point:
    """``Σ_t j^t·A_t``: what ``f(j)·G`` must be."""
    total = IDENTITY
    power = 1
    for commitment in commitments:
        total = total + commitment * power
        power = power * j % L
    return total


def share_is_valid(commitments: Sequence[Point], j: int, share: int) -> bool:
    """Trustee ``j`` checks the share a dealer gave it against the dealer's commitments."""
    return G * share == _committed(commitments, j)


def election_key(dealings: Sequence[Sequence[Point]]) -> Point:
    """``Y = Σ_i A_i,0`` from every dealer's commitments."""
    total = IDENTITY
    for commitments in dealings:
        total = total + commitments[0]
    return total


def trustee_secret(shares: Sequence[int]) -> int:
    """Trustee ``j``'s decryption key: the sum of the shares every dealer gave it."""
    return sum(shares) % L


def trustee_public(dealings: Sequence[Sequence[Point]], j: int) -> Point:
    """``X_j = Σ_i Σ_t j^t·A_i,t``: trustee ``j``'s public key, from the commitments alone."""
    total = IDENTITY
    for commitments in dealings:
        total = total + _committed(commitments, j)
    return total


def decryption_share(secret: int, c: Ciphertext, context: str) -> tuple[Point, Dleq]:
    """Trustee's ``x_j·a`` and its proof."""
    return c.a * secret, Dleq.prove(secret, c.a, context)


def lagrange_at_zero(indices: Sequence[int]) -> dict[int, int]:
    """``λ_j = Π_{m ≠ j} m ÷ (m − j)`` modulo ``L`` for the trustees who took part."""
    if len(set(indices)) != len(indices) or any(not 0 < j < L for j in indices):
        raise ValueError("trustee numbers must be distinct and positive")
    coefficients = {}
    for j in indices:
        numerator, denominator = 1, 1
        for m in indices:
            if m != j:
                numerator = numerator * m % L
                denominator = denominator * (m - j) % L
        coefficients[j] = numerator * pow(denominator, -1, L) % L
    return coefficients


def combine(c: Ciphertext, shares: Mapping[int, Point]) -> Point:
    """``m·G = b − Σ λ_j·D_j`` from the shares of exactly ``threshold`` trustees (or more:
    any set at least the threshold gives the same point)."""
    weights = lagrange_at_zero(sorted(shares))
    total = IDENTITY
    for j, share in shares.items():
        total = total + share * weights[j]
    return c.b - total
