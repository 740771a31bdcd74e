"""Drawing lots from a seed fixed before the count, so that anyone can repeat every draw.

A draw never uses ``random``. Given the seed (bytes, written in hex), a context string that
says what the draw decides, and the options in a canonical order, it computes

    digest = SHA-256( "assembly-lot-v1" 0x00 seed 0x00 context 0x00
                      option_1 0x1f option_2 0x1f … option_n 0x00 counter as 4 bytes, big-endian )

reads the digest as a big-endian integer ``v`` and, if ``v`` is below the largest multiple of
``n`` that fits in 256 bits, picks option ``v mod n``; otherwise it adds one to the counter
and tries again (rejection sampling: every option is exactly equally likely). The seed, the
context, the options, the counter and the digest of every draw are kept in the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Draw", "LotNeeded", "Lots", "draw"]

DOMAIN = b"assembly-lot-v1"
_SPACE = 1 << 256


class LotNeeded(ValueError):
    """A tie can only be broken by lot, and no seed was given before the count."""


@dataclass(frozen=True)
class Draw:
    """One draw: what it decided, among which options, and how (so it can be repeated)."""

    context: str
    options: tuple[str, ...]
    chosen: str
    counter: int
    digest: str


def draw(seed: bytes, context: str, options: Sequence[str]) -> Draw:
    """Pick one of ``options`` by the documented SHA-256 draw."""
    if not options:
        raise ValueError("a draw needs at least one option")
    n = len(options)
    limit = _SPACE - (_SPACE % n)
    payload = (
        DOMAIN
        + b"\x00"
        + seed
        + b"\x00"
        + context.encode("utf-8")
        + b"\x00"
        + "\x1f".join(options).encode("utf-8")
        + b"\x00"
    )
    counter = 0
    while True:
        digest = hashlib.sha256(payload + counter.to_bytes(4, "big")).digest()
        value = int.from_bytes(digest, "big")
        if value < limit:
            return Draw(context, tuple(options), options[value % n], counter, digest.hex())
        counter += 1


@dataclass
class Lots:
    """The seed of one count and the draws made with it, in order."""

    seed: bytes | None
    draws: list[Draw] = field(default_factory=list)

    @classmethod
    def from_hex(cls, seed: str | None) -> Lots:
        if seed is None:
            return cls(None)
        try:
            return cls(bytes.fromhex(seed))
        except ValueError:
            raise ValueError(f"the seed must be hexadecimal, not {seed!r}") from None

    def choose(self, context: str, options: Sequence[str]) -> str:
        """Draw one of ``options``; options are put in sorted order first.

        :raises LotNeeded: no seed was given.
        """
        ordered = sorted(options)
        if self.seed is None:
            raise LotNeeded(
                f"{context} is tied between {', '.join(ordered)} and must be decided by lot: "
                "give a seed fixed before the count"
            )
        result = draw(self.seed, context, ordered)
        self.draws.append(result)
        return result.chosen

    def to_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed.hex() if self.seed is not None else None,
            "method": "sha256-rejection-v1",
            "draws": [
                {
                    "context": d.context,
                    "options": list(d.options),
                    "chosen": d.chosen,
                    "counter": d.counter,
                    "digest": d.digest,
                }
                for d in self.draws
            ],
        }
