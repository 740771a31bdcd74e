"""Non-interactive zero-knowledge proofs (Fiat–Shamir, ``group.challenge``), each bound to a
``context`` (the election, the poll, the prover) so that it cannot be replayed elsewhere.

- ``Schnorr``: knowledge of ``x`` with ``X = x·G`` (a trustee's coefficient, a credential);
  with a message in the context it is a Schnorr signature.
- ``Dleq`` (Chaum–Pedersen): ``log_G X = log_A D``: a decryption share ``D = x·a`` made with
  the key whose public part is ``X``.
- ``OneOf`` (Cramer–Damgård–Schoenmakers disjunction): a ciphertext encrypts one of a few
  values (a bit of a ranking), without saying which.

Every proof is kept in its compact form, challenges and responses, and checked by recomputing
the commitments and then the challenge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from assembly.crypto.elgamal import Ciphertext
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

__all__ = ["Dleq", "OneOf", "Schnorr"]


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


@dataclass(frozen=True, slots=True)
class OneOf:
    """A ciphertext ``(a, b)`` under ``Y`` encrypts one of ``values``. For each value ``v``
    a challenge ``c_v`` and a response ``s_v`` give the commitments ``s_v·G − c_v·a`` and
    ``s_v·Y − c_v·(b − v·G)``; the challenges add up to
    ``H(context, Y, a, b, values, every commitment in order of values)``. All but the true
    value's are simulated, so the proof does not say which value it is."""

    challenges: tuple[int, ...]
    responses: tuple[int, ...]

    @classmethod
    def prove(
        cls, key: Point, c: Ciphertext, value: int, r: int, values: Sequence[int], context: str
    ) -> OneOf:
        real = values.index(value)
        challenges = [0] * len(values)
        responses = [0] * len(values)
        commitments: list[Point] = []
        k = random_scalar()
        for index, v in enumerate(values):
            if index == real:
                commitments += [G * k, key * k]
                continue
            challenges[index], responses[index] = random_scalar(), random_scalar()
            commitments += [
                G * responses[index] - c.a * challenges[index],
                key * responses[index] - (c.b - G * v) * challenges[index],
            ]
        total = challenge("one-of", context, key, c.a, c.b, values, commitments)
        challenges[real] = (total - sum(challenges)) % L
        responses[real] = (k + challenges[real] * r) % L
        return cls(tuple(challenges), tuple(responses))

    def verify(self, key: Point, c: Ciphertext, values: Sequence[int], context: str) -> bool:
        if len(self.challenges) != len(values) or len(self.responses) != len(values):
            return False
        commitments: list[Point] = []
        for v, cv, sv in zip(values, self.challenges, self.responses, strict=True):
            commitments += [G * sv - c.a * cv, key * sv - (c.b - G * v) * cv]
        total = challenge("one-of", context, key, c.a, c.b, values, commitments)
        return total == sum(self.challenges) % L

    def to_json(self) -> dict[str, list[str]]:
        return {
            "c": [scalar_hex(c) for c in self.challenges],
            "s": [scalar_hex(s) for s in self.responses],
        }

    @classmethod
    def from_json(cls, value: object) -> OneOf:
        if not isinstance(value, dict):
            raise GroupError("a proof is an object")
        cs, ss = value.get("c"), value.get("s")
        if not isinstance(cs, list) or not isinstance(ss, list):
            raise GroupError("a disjunctive proof has lists of challenges and responses")
        return cls(tuple(scalar_from_hex(c) for c in cs), tuple(scalar_from_hex(s) for s in ss))
