"""Verifying a million-ballot election record end to end, against a budget of 30 seconds.

``make bench-verify`` runs it. A child process builds a record of 1,000,000 ballots in three
STV contests (15 candidates each, 3 seats): realistic rankings drawn as ``bench_count.py``
draws them (a seeded Plackett–Luce pool of 50,000 distinct rankings with truncation, each
ballot picked with Zipf-like frequencies), random trackers, the counting core's counts,
Merkle roots, and both signatures, by keys made for the run. It writes the record to a
temporary file as compact JSON. A second child, which has not built anything, then times
``assembly verify``'s work: reading the file (``verify.read_json``: ``json.load`` on the
binary file, with the garbage collector paused) and each step
of ``verify_record`` — schema, body hash, signatures, ballots and Merkle roots, roll, recount —
with the peak memory of each phase (the high-water mark is reset between phases). The record
must pass every step.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_count import generate
from memory import reset_peak, rss_kib
from run import machine

ROOT = Path(__file__).resolve().parent.parent
BALLOTS = 1_000_000
#: Ballots per contest: three contests of different sizes, a million in all.
CONTESTS = (450_000, 350_000, 200_000)
CANDIDATES = 15
SEATS = 3
BUDGET = 30.0
TIME_LIMIT = 600
#: The tracker alphabet in base32's order (A–Z, 2–7 become these 32 symbols).
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TRACKER = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_TO_TRACKER = str.maketrans(_BASE32, _TRACKER)


# -- building the record (child 1) ---------------------------------------------------------------


def rankings(size: int, seed: int) -> list[tuple[int, ...]]:
    """``size`` rankings of candidate positions, as bench_count.generate makes them."""
    return generate(size, seed, candidates=CANDIDATES, shuffle=True)


def trackers(size: int, rng: random.Random, taken: set[str]) -> list[str]:
    """``size`` new random trackers (80 bits each), sorted."""
    made: set[str] = set()
    while len(made) < size:
        letters = base64.b32encode(rng.getrandbits(80).to_bytes(10, "big")).decode()
        tracker = "-".join(letters[i : i + 4] for i in range(0, 16, 4)).translate(_TO_TRACKER)
        if tracker not in taken:
            made.add(tracker)
    taken |= made
    return sorted(made)


def contest(contest_id: int, size: int, rng: random.Random, taken: set[str]) -> dict[str, Any]:
    from assembly.counting import Candidate, build_profile, count
    from assembly.records.merkle import merkle_root
    from assembly.records.record import ballot_leaf

    ids = [contest_id * 100 + k for k in range(1, CANDIDATES + 1)]
    raw = rankings(size, seed=contest_id)
    items = [
        {
            "tracker": tracker,
            "ranking": [ids[p] for p in ranking],
            "channel": "paper" if n % 10 == 0 else "online",
        }
        for n, (tracker, ranking) in enumerate(zip(trackers(size, rng, taken), raw, strict=True))
    ]
    seed = f"{rng.getrandbits(256):064x}"
    candidates = [{"id": i, "ballot_name": f"Candidate {i}"} for i in ids]
    result = count(
        build_profile(
            [Candidate(f"c{c['id']}", c["ballot_name"]) for c in candidates], dict(Counter(raw))
        ),
        "stv",
        SEATS,
        seed=seed,
    )
    return {
        "id": contest_id,
        "constituency": {"key": f"area-{contest_id}", "name": f"Area {contest_id}"},
        "weight": "1/3",
        "seats": SEATS,
        "method": "stv",
        "seed": seed,
        "uncontested": False,
        "candidates": candidates,
        "roll": {"voters": size * 3 // 2, "merkle_root": f"{rng.getrandbits(256):064x}"},
        "ballots": {
            "count": size,
            "merkle_root": merkle_root(
                ballot_leaf(contest_id, i["tracker"], i["ranking"]) for i in items
            ),
            "items": items,
        },
        "count": result.to_dict(),
        "elected": [int(c[1:]) for c in result.elected],
    }


def build(path: str) -> None:
    from assembly.records.record import key_entry, sign_record, signature_file
    from assembly.records.signing import generate_private_key, public_key_text

    start = time.perf_counter()
    rng = random.Random(2026)
    taken: set[str] = set()
    election_key, officer_key = generate_private_key(), generate_private_key()
    body = {
        "software": {"name": "assembly", "version": "0.1.0"},
        "issued_at": "2026-11-27T10:15:00Z",
        "institution": {"slug": "bench", "name": "Benchmark Hospital", "kind": "hospital"},
        "election": {
            "id": 1,
            "title": "A million ballots",
            "seats": SEATS * len(CONTESTS),
            "apportionment": "largest-remainder",
            "candidate_order": "alphabetical",
            "timetable": {
                "notice_of_election_on": "2026-09-28",
                "nominations_close_on": "2026-10-19",
                "withdrawals_close_on": "2026-10-26",
                "poll_opens_on": "2026-11-09",
                "poll_closes_on": "2026-11-26",
            },
        },
        "contests": [contest(n, size, rng, taken) for n, size in enumerate(CONTESTS, start=1)],
        "audit": {"seq": 1, "head_hash": "0" * 64},
        "keys": {
            "election": key_entry(public_key_text(election_key)),
            "returning_officer": key_entry(public_key_text(officer_key)),
        },
    }
    record = sign_record(body, election_key)
    officer = signature_file("returning_officer", record["body_sha256"], officer_key)
    record["signatures"].append({k: officer[k] for k in ("role", "fingerprint", "signature")})
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, separators=(",", ":"), ensure_ascii=False)
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": os.path.getsize(path)}))


# -- verifying it (child 2) ----------------------------------------------------------------------


def verify(path: str) -> None:
    sys.path.insert(0, str(ROOT))
    from assembly.records.verify import Step, read_json, verify_record

    phases: list[dict[str, Any]] = []
    baseline = reset_peak()
    start = time.perf_counter()
    with open(path, "rb") as file:
        record = read_json(file)  # as `assembly verify` reads it
    phases.append(
        {
            "phase": "load",
            "seconds": time.perf_counter() - start,
            "peak_mib": rss_kib("VmHWM") / 1024,
        }
    )
    reset_peak()

    def finished(step: Step) -> None:
        phases.append(
            {
                "phase": f"{step.number}. {step.name}",
                "seconds": step.seconds,
                "peak_mib": rss_kib("VmHWM") / 1024,
                "passed": step.passed,
                "details": step.details if not step.passed else [],
            }
        )
        reset_peak()

    report = verify_record(record, on_step=finished)
    total = time.perf_counter() - start
    print(
        json.dumps(
            {"phases": phases, "total": total, "ok": report.ok, "baseline_mib": baseline / 1024}
        )
    )


# -- the parent ----------------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        sys.exit(f"bench-verify: the {args[0]} child failed:\n{done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PATH"))
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        {"build": build, "verify": verify}[args.child[0]](args.child[1])
        return
    print(f"machine: {machine()}")
    print(
        f"verify a record of {BALLOTS:,} ballots: {len(CONTESTS)} STV contests "
        f"({', '.join(f'{n:,}' for n in CONTESTS)}), {CANDIDATES} candidates, {SEATS} seats"
    )
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        path = os.path.join(folder, "record.json")
        built = _child("build", path)
        print(f"built in {built['seconds']:.1f} s: {built['bytes'] / 1e6:.0f} MB of JSON")
        result = _child("verify", path)
    print(f"{'phase':<36} {'seconds':>8} {'peak MiB':>9}")
    for phase in result["phases"]:
        verdict = "" if phase.get("passed", True) else "  FAIL " + "; ".join(phase["details"])
        print(f"{phase['phase']:<36} {phase['seconds']:>8.2f} {phase['peak_mib']:>9.0f}{verdict}")
    within = "within" if result["total"] <= BUDGET else "OVER"
    total = "total (load and every step)"
    print(f"{total:<36} {result['total']:>8.2f}  {within} the {BUDGET:.0f} s budget")
    if not result["ok"]:
        sys.exit("bench-verify: the record did not pass every step")


if __name__ == "__main__":
    main()
