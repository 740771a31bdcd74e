"""The trustees' key and its threshold decryption.

Key ceremony (Pedersen's distributed key generation with Feldman's verifiable sharing):
each of the ``n`` trustees chooses a random polynomial ``f_i`` of degree ``k − 1`` and publishes
``A_i,t = a_i,t·G`` for its coefficients, with a Schnorr proof that it knows ``a_i,0``; it
gives trustee ``j`` the share ``f_i(j)``, which ``j`` checks against the commitments
(``f_i(j)·G = Σ_t j^t·A_i,t``). The election key is ``Y = Σ_i A_i,0``; trustee ``j``'s secret
is ``x_j = Σ_i f_i(j)`` and everyone can compute its public part ``X_j = Σ_i Σ_t j^t·A_i,t``.
Nobody ever holds the whole secret ``Σ_i a_i,0``.

Decryption: for a ciphertext ``(a, b)`` trustee ``j`` publishes ``D_j = x_j·a`` with a
Chaum–Pedersen proof that it used ``x_j``; any ``k`` shares give ``x·a = Σ λ_j·D_j`` (Lagrange
coefficients at 0), so ``m·G = b − x·a``, and trustees missing beyond the threshold do not stop
the count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assembly.crypto.elgamal import Ciphertext
from assembly.crypto.group import IDENTITY, G, L, Point, random_scalar
from assembly.crypto.proofs import Dleq, Schnorr

__all__ = [
    "Dealing",
    "combine",
    "deal",
    "decryption_share",
    "election_key",
    "lagrange_at_zero",
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
