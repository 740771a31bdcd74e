"""Non-interactive zero-knowledge proofs (Fiat–Shamir, ``group.challenge``), each bound to a
``context`` (the election, the poll, the prover) so that it cannot be replayed elsewhere.

- ``Schnorr``: knowledge of ``x`` with ``X = x·G`` (a trustee's coefficient, a credential,
  a ballot ciphertext's randomness); with a message in the context it is a Schnorr signature.
- ``Dleq`` (Chaum–Pedersen): ``log_G X = log_A D``: a decryption share ``D = x·a`` made with
  the key whose public part is ``X``.

Every proof is kept in its compact form, challenges and responses, and checked by recomputing
the commitments and then the challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from assembly.crypto.group import (
    G,
    GroupError,
    L,
    Point,
    challenge,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
)

__all__ = ["Dleq", "Schnorr"]


@dataclass(frozen=True, slots=True)
class _Answer:
    """A proof kept as one challenge ``c`` and one response ``s``, published as
    ``{"c", "s"}`` in hex."""

    c: int
    s: int

    def to_json(self) -> dict[str, str]:
        return {"c": scalar_hex(self.c), "s": scalar_hex(self.s)}

    @classmethod
    def from_json(cls, value: object) -> Self:
        if not isinstance(value, dict):
            raise GroupError("a proof is an object")
        return cls(scalar_from_hex(value.get("c")), scalar_from_hex(value.get("s")))


@dataclass(frozen=True, slots=True)
class Schnorr(_Answer):
    """``c = H(context, X, s·G − c·X)``."""

    @classmethod
    def prove(cls, x: int, context: str) -> Schnorr:
        k = random_scalar()
        public = G * x
        c = challenge("schnorr", context, public, G * k)
        return cls(c, (k + c * x) % L)

    def verify(self, public: Point, context: str) -> bool:
        commitment = G * self.s - public * self.c
        return challenge("schnorr", context, public, commitment) == self.c


@dataclass(frozen=True, slots=True)
class Dleq(_Answer):
    """``log_G X = log_A D``: ``c = H(context, X, A, D, s·G − c·X, s·A − c·D)``."""

    @classmethod
    def prove(cls, x: int, base: Point, context: str) -> Dleq:
        k = random_scalar()
        public, shared = G * x, base * x
        c = challenge("dleq", context, public, base, shared, G * k, base * k)
        return cls(c, (k + c * x) % L)

    def verify(self, public: Point, base: Point, shared: Point, context: str) -> bool:
        first = G * self.s - public * self.c
        second = base * self.s - shared * self.c
        return challenge("dleq", context, public, base, shared, first, second) == self.c
