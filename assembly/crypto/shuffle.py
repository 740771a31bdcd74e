"""A verifiable re-encryption shuffle: Terelius and Wikström's proof of a shuffle ("Proofs of
Restricted Shuffles", AFRICACRYPT 2010), in the non-interactive form of the CHVote protocol
specification (Haenni et al., algorithms GenShuffleProof and CheckShuffleProof), for ballots
that are rows of ``w`` ciphertexts moved together.

The shuffler permutes the ``N`` rows by a secret ``ψ`` and re-encrypts every ciphertext:
``e'_i = reencrypt(e_ψ(i))``. The proof commits to the permutation matrix with Pedersen
commitments on independent generators ``H, H_1 … H_N`` (``c_ψ(i) = r_ψ(i)·G + H_i``), takes
challenges ``u_i`` from a hash of the input, the output and those commitments, and shows in
one Schnorr-like protocol that (1) the commitments are to a permutation matrix (the sums and
the product of the ``u_i``, through a chain of commitments ``ĉ_i``), and (2) the output,
weighted by the permuted ``u``, is the input weighted by ``u``, re-encrypted. Nothing links an
output row to an input row.

The names follow CHVote (``r̄ r̂ r̃ r'``, ``ω``, ``s``); points are added where CHVote
multiplies, and a ciphertext is ``(a, b) = (r·G, m·G + r·Y)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from assembly.crypto.elgamal import Ciphertext, reencrypt
from assembly.crypto.group import IDENTITY, G, L, Point, challenge, generator, random_scalar

__all__ = ["ShuffleProof", "shuffle", "verify_shuffle"]

Rows = Sequence[Sequence[Ciphertext]]


@dataclass(frozen=True)
class ShuffleProof:
    """The challenge ``c``, the responses and the two vectors of commitments."""

    c: int
    s1: int
    s2: int
    s3: int
    s4: tuple[int, ...]  # one per ciphertext of a row
    s_hat: tuple[int, ...]
    s_prime: tuple[int, ...]
    commitments: tuple[Point, ...]  # c_1 … c_N, to the permutation
    chain: tuple[Point, ...]  # ĉ_1 … ĉ_N


def _generators(label: str, n: int) -> tuple[Point, list[Point]]:
    return generator(f"{label}/h"), [generator(f"{label}/h/{i}") for i in range(1, n + 1)]


def _flat(rows: Rows) -> list[Point]:
    return [p for row in rows for c in row for p in (c.a, c.b)]


def _challenges(
    label: str, key: Point, rows: Rows, out: Rows, commitments: Sequence[Point]
) -> list[int]:
    seed = challenge("shuffle/u", label, key, _flat(rows), _flat(out), commitments)
    return [challenge("shuffle/u/i", seed, i) for i in range(1, len(rows) + 1)]


def _sum(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    total = IDENTITY
    for point, k in zip(points, scalars, strict=True):
        total = total + point * k
    return total


def _width(rows: Rows) -> int:
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError("every row of a shuffle has the same number of ciphertexts")
    return widths.pop()


def shuffle(key: Point, rows: Rows, label: str) -> tuple[list[list[Ciphertext]], ShuffleProof]:
    """Shuffle and re-encrypt ``rows`` under ``key``; return the new rows and the proof.

    ``label`` names the shuffle (the poll and the shuffler): its generators and its
    challenges, so a proof made for one poll proves nothing for another."""
    n = len(rows)
    if n == 0:
        raise ValueError("nothing to shuffle")
    w = _width(rows)
    psi = list(range(n))
    for i in range(n - 1, 0, -1):  # Fisher–Yates with the operating system's randomness
        j = secrets.randbelow(i + 1)
        psi[i], psi[j] = psi[j], psi[i]
    out: list[list[Ciphertext]] = []
    r_prime: list[list[int]] = []
    for i in range(n):
        row, rs = [], []
        for cipher in rows[psi[i]]:
            new, randomness = reencrypt(key, cipher)
            row.append(new)
            rs.append(randomness)
        out.append(row)
        r_prime.append(rs)

    h, hs = _generators(label, n)
    r = [0] * n
    commitments: list[Point] = [IDENTITY] * n
    for i in range(n):
        r[psi[i]] = random_scalar()
        commitments[psi[i]] = G * r[psi[i]] + hs[i]
    u = _challenges(label, key, rows, out, commitments)
    u_prime = [u[psi[i]] for i in range(n)]

    r_hat = [random_scalar() for _ in range(n)]
    chain: list[Point] = []
    previous = h
    for i in range(n):
        previous = G * r_hat[i] + previous * u_prime[i]
        chain.append(previous)

    r_bar = sum(r) % L
    v = [0] * n
    v[n - 1] = 1
    for i in range(n - 1, 0, -1):
        v[i - 1] = u_prime[i] * v[i] % L
    r_hat_sum = sum(rh * vi for rh, vi in zip(r_hat, v, strict=True)) % L
    r_tilde = sum(ri * ui for ri, ui in zip(r, u, strict=True)) % L
    r_p = [sum(r_prime[i][k] * u_prime[i] for i in range(n)) % L for k in range(w)]

    w1, w2, w3 = random_scalar(), random_scalar(), random_scalar()
    w4 = [random_scalar() for _ in range(w)]
    w_hat = [random_scalar() for _ in range(n)]
    w_prime = [random_scalar() for _ in range(n)]
    t1 = G * w1
    t2 = G * w2
    t3 = G * w3 + _sum(hs, w_prime)
    t4 = []
    for k in range(w):
        t4 += [
            _sum([row[k].a for row in out], w_prime) - G * w4[k],
            _sum([row[k].b for row in out], w_prime) - key * w4[k],
        ]
    t_hat = []
    previous = h
    for i in range(n):
        t_hat.append(G * w_hat[i] + previous * w_prime[i])
        previous = chain[i]

    c = challenge(
        "shuffle", label, key, _flat(rows), _flat(out), commitments, chain, [t1, t2, t3], t4, t_hat
    )
    proof = ShuffleProof(
        c=c,
        s1=(w1 + c * r_bar) % L,
        s2=(w2 + c * r_hat_sum) % L,
        s3=(w3 + c * r_tilde) % L,
        s4=tuple((w4[k] + c * r_p[k]) % L for k in range(w)),
        s_hat=tuple((w_hat[i] + c * r_hat[i]) % L for i in range(n)),
        s_prime=tuple((w_prime[i] + c * u_prime[i]) % L for i in range(n)),
        commitments=tuple(commitments),
        chain=tuple(chain),
    )
    return out, proof


def verify_shuffle(key: Point, rows: Rows, out: Rows, proof: ShuffleProof, label: str) -> bool:
    """Whether ``out`` is ``rows`` permuted and re-encrypted under ``key``, by ``proof``."""
    n = len(rows)
    if n == 0 or len(out) != n:
        return False
    try:
        w = _width(rows)
        if _width(out) != w:
            return False
    except ValueError:
        return False
    p = proof
    if not (
        len(p.s4) == w and len(p.s_hat) == len(p.s_prime) == len(p.commitments) == len(p.chain) == n
    ):
        return False
    h, hs = _generators(label, n)
    u = _challenges(label, key, rows, out, p.commitments)
    c = p.c

    c_bar = IDENTITY
    for commitment, hi in zip(p.commitments, hs, strict=True):
        c_bar = c_bar + commitment - hi
    u_product = 1
    for ui in u:
        u_product = u_product * ui % L
    c_hat = p.chain[-1] - h * u_product
    c_tilde = _sum(p.commitments, u)

    t1 = G * p.s1 - c_bar * c
    t2 = G * p.s2 - c_hat * c
    t3 = G * p.s3 + _sum(hs, p.s_prime) - c_tilde * c
    t4 = []
    for k in range(w):
        a_tilde = _sum([row[k].a for row in rows], u)
        b_tilde = _sum([row[k].b for row in rows], u)
        t4 += [
            _sum([row[k].a for row in out], p.s_prime) - G * p.s4[k] - a_tilde * c,
            _sum([row[k].b for row in out], p.s_prime) - key * p.s4[k] - b_tilde * c,
        ]
    t_hat = []
    previous = h
    for i in range(n):
        t_hat.append(G * p.s_hat[i] + previous * p.s_prime[i] - p.chain[i] * c)
        previous = p.chain[i]
    expected = challenge(
        "shuffle",
        label,
        key,
        _flat(rows),
        _flat(out),
        p.commitments,
        p.chain,
        [t1, t2, t3],
        t4,
        t_hat,
    )
    return expected == c
