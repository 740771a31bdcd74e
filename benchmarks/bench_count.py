"""Counting speed: our Scottish STV against the STV packages on PyPI, side by side.

``make bench-count`` runs it. Synthetic profiles of 10k, 100k and 1M ballots (10 candidates,
3 seats) are generated once from a seeded Plackett–Luce model with truncation: a pool of
50,000 distinct rankings, from which each ballot is drawn with Zipf-like frequencies, so the
profile has the heavy head and long tail of real preference profiles. Every library counts the
same raw rankings, each in its own subprocess, timed from the list of raw rankings to the
result (its own input conversion included; best of up to three runs), with its peak memory.

Then a BLT file of 1,000,000 unaggregated ballot lines (``1 c1 c2 … 0``, one per paper, 10
candidates, 3 seats; independent random rankings, seed 2027, and the pooled profile): reading
it alone (``read_ballot_file`` in one process, best of three), and ``assembly count FILE`` as a
whole process against pyrankvote as a whole process on the same file (interpreter start,
imports, reading, counting, printing; its own plain BLT reader, as a pyrankvote user would
write it), each the best of up to three runs, with the peak memory of each process.

Peers (installed into ``.venv-bench`` by the make target, where they install):
pyrankvote, pref_voting (``stv_scottish``), votekit (``STV``), dividebatur (Australian Senate
rules; it needs AEC-format files, so it is reported but not run on these profiles).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from memory import reset_peak, rss_kib

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "results"
CANDIDATES = 10
SEATS = 3
SIZES = (10_000, 100_000, 1_000_000)
POOL = 50_000
TIME_LIMIT = 300


def generate(
    size: int, seed: int = 2026, *, candidates: int = CANDIDATES, shuffle: bool = False
) -> list[tuple[int, ...]]:
    """Return ``size`` raw rankings of ``candidates`` candidates (deterministic for a seed);
    with ``shuffle`` the strongest candidate is not always the first."""
    rng = random.Random(seed)
    strength = [1.0 / (k + 1) ** 0.8 for k in range(candidates)]
    if shuffle:
        rng.shuffle(strength)
    pool = []
    for _ in range(POOL):
        remaining = list(range(candidates))
        weights = list(strength)
        length = min(candidates, 1 + int(rng.expovariate(1 / 3)))
        ranking = []
        for _ in range(length):
            pick = rng.choices(range(len(remaining)), weights)[0]
            ranking.append(remaining.pop(pick))
            weights.pop(pick)
        pool.append(tuple(ranking))
    frequency = [1.0 / (k + 1) ** 1.1 for k in range(POOL)]
    return rng.choices(pool, frequency, k=size)


def generate_independent(size: int, seed: int = 2027) -> list[tuple[int, ...]]:
    """Return ``size`` rankings drawn each on its own, uniformly: the worst case for
    aggregation (a million ballots give about 210,000 distinct rankings)."""
    rng = random.Random(seed)
    raw = []
    for _ in range(size):
        order = list(range(CANDIDATES))
        rng.shuffle(order)
        raw.append(tuple(order[: 1 + int(rng.expovariate(1 / 3))]))
    return raw


def load(size: int, kind: str = "pooled") -> list[tuple[int, ...]]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"profile-{kind}-{size}.pickle"
    if not path.exists():
        make = generate if kind == "pooled" else generate_independent
        path.write_bytes(pickle.dumps(make(size)))
    return pickle.loads(path.read_bytes())


# -- one library, one size (run in a child process) ----------------------------------------------


def run_ours(raw: list[tuple[int, ...]]) -> list[str]:
    from assembly.counting import Candidate, build_profile, count_stv

    candidates = [Candidate(str(i), f"C{i}") for i in range(CANDIDATES)]
    result = count_stv(build_profile(candidates, raw), SEATS, seed="00")
    return sorted(result.elected)


def run_pyrankvote(raw: list[tuple[int, ...]]) -> list[str]:
    import pyrankvote
    from pyrankvote import Ballot, Candidate

    candidates = [Candidate(f"C{i}") for i in range(CANDIDATES)]
    ballots = [Ballot(ranked_candidates=[candidates[i] for i in ranking]) for ranking in raw]
    result = pyrankvote.single_transferable_vote(candidates, ballots, number_of_seats=SEATS)
    return sorted(c.name.removeprefix("C") for c in result.get_winners())


def run_pref_voting(raw: list[tuple[int, ...]]) -> list[str]:
    from pref_voting.profiles_with_ties import ProfileWithTies
    from pref_voting.proportional_methods import stv_scottish

    counts = Counter(raw)
    rankings = [{c: position for position, c in enumerate(r)} for r in counts]
    profile = ProfileWithTies(
        rankings, rcounts=list(counts.values()), candidates=list(range(CANDIDATES))
    )
    winners = stv_scottish(profile, num_seats=SEATS)
    first = winners[0] if winners and isinstance(winners[0], (list, tuple)) else winners
    return sorted(str(c) for c in first)


def run_votekit(raw: list[tuple[int, ...]]) -> list[str]:
    from votekit.ballot import RankBallot
    from votekit.elections import STV
    from votekit.pref_profile import RankProfile

    counts = Counter(raw)
    names = [f"C{i}" for i in range(CANDIDATES)]
    ballots = [RankBallot(ranking=[{names[c]} for c in r], weight=w) for r, w in counts.items()]
    profile = RankProfile(ballots=ballots, candidates=names)
    election = STV(profile, n_seats=SEATS)
    winners = [c for group in election.get_elected() for c in group]
    return sorted(c.removeprefix("C") for c in winners)


RUNNERS = {
    "assembly": run_ours,
    "pyrankvote": run_pyrankvote,
    "pref_voting": run_pref_voting,
    "votekit": run_votekit,
}


#: Modules each runner imports, loaded before the clock starts.
IMPORTS = {
    "assembly": ["assembly.counting"],
    "pyrankvote": ["pyrankvote"],
    "pref_voting": ["pref_voting.profiles_with_ties", "pref_voting.proportional_methods"],
    "votekit": ["votekit.ballot", "votekit.elections", "votekit.pref_profile"],
}


def child(library: str, size: int, kind: str) -> None:
    import importlib

    sys.path.insert(0, str(ROOT))
    for module in IMPORTS[library]:
        importlib.import_module(module)
    raw = load(size, kind)
    baseline = reset_peak()  # the peak a child inherits from its parent says nothing
    # Best of up to three runs (fewer for slow libraries), as timeit does: the minimum is the
    # least disturbed by whatever else the machine is doing.
    times = []
    elected: list[str] = []
    while len(times) < 3 and sum(times) < 10:
        start = time.perf_counter()
        elected = RUNNERS[library](raw)
        times.append(time.perf_counter() - start)
    seconds = min(times)
    peak = rss_kib("VmHWM")
    result = {"seconds": seconds, "peak_mib": peak / 1024, "extra_mib": (peak - baseline) / 1024}
    print(json.dumps({**result, "elected": elected}))


# -- a ballot file, read and counted by whole processes ------------------------------------------

FILE_LINES = 1_000_000


def write_ballot_file(path: Path, raw: list[tuple[int, ...]]) -> None:
    """Write ``raw`` as a BLT file with one line per paper (unaggregated), bare name lines and
    a quoted title."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(f"{CANDIDATES} {SEATS}\n")
        for start in range(0, len(raw), 100_000):
            out.write(
                "".join(
                    "1 " + " ".join(str(c + 1) for c in ranking) + " 0\n"
                    for ranking in raw[start : start + 100_000]
                )
            )
        out.write("0\n")
        out.write("".join(f"Candidate {i + 1} (Party {i % 3 + 1})\n" for i in range(CANDIDATES)))
        out.write(f'"{len(raw):,} ballots, {CANDIDATES} candidates, {SEATS} seats"\n')


def ballot_file(kind: str) -> Path:
    path = CACHE / f"ballots-{kind}-{FILE_LINES}.blt"
    if not path.exists():
        write_ballot_file(path, load(FILE_LINES, kind))
    return path


def read_child(path: str) -> None:
    """Time reading ``path`` alone (best of three) and print the figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from assembly.counting import read_ballot_file

    times = []
    for _ in range(3):
        start = time.perf_counter()
        ballots = read_ballot_file(path)
        times.append(time.perf_counter() - start)
    profile = ballots.profile
    print(
        json.dumps(
            {"seconds": min(times), "valid": profile.valid, "distinct": len(profile.rankings)}
        )
    )


def pyrankvote_file_child(path: str) -> None:
    """Read a BLT file plainly and count it with pyrankvote; print the elected candidates."""
    import pyrankvote
    from pyrankvote import Ballot, Candidate

    with open(path, encoding="utf-8-sig") as lines:
        n, seats = (int(value) for value in next(lines).split())
        candidates = [Candidate(str(i + 1)) for i in range(n)]
        ballots = []
        for line in lines:
            values = line.split()
            if values == ["0"]:
                break
            ranked = [candidates[int(value) - 1] for value in values[1:-1]]
            ballots.extend(Ballot(ranked_candidates=ranked) for _ in range(int(values[0])))
    result = pyrankvote.single_transferable_vote(candidates, ballots, number_of_seats=seats)
    print(json.dumps(sorted(c.name for c in result.get_winners())))


def whole_process(command: list[str]) -> dict[str, Any]:
    """Run ``command`` to the end: wall-clock seconds, peak memory and its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            last = (err.read().decode().strip().splitlines() or ["failed"])[-1]
            return {"error": last[:120]}
        stdout = out.read().decode("utf-8")
        return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "stdout": stdout}


def launched(command: list[str]) -> dict[str, Any]:
    """Run ``command`` from a small launcher process: a child forked from this one would
    report this process's memory (the profiles above) as its own peak."""
    done = subprocess.run(
        [sys.executable, __file__, "--launch", json.dumps(command)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def best_process(command: list[str]) -> dict[str, Any]:
    """The fastest of up to three runs of ``command`` (fewer when a run takes long)."""
    runs: list[dict[str, Any]] = []
    while len(runs) < 3 and sum(float(r["seconds"]) for r in runs) < 20:
        run = launched(command)
        if "error" in run:
            return run
        runs.append(run)
    return min(runs, key=lambda run: float(run["seconds"]))


def measure_file(kind: str, peers_python: str) -> None:
    path = ballot_file(kind)
    read = launched([sys.executable, __file__, "--read-file", str(path)])
    ours = best_process([sys.executable, "-m", "assembly.cli", "count", str(path), "--json"])
    peer = best_process([peers_python, __file__, "--pyrankvote-file", str(path)])
    if "error" in read or "error" in ours:
        print(f"{kind:<12} {FILE_LINES:>10,} {'—':>9} {read.get('error') or ours.get('error')}")
        return
    figures = json.loads(read["stdout"])
    elected = sorted(json.loads(ours["stdout"])["elected_ids"])
    if "error" in peer:
        peer_text, ratio = f"{'—':>9} {'—':>9}", f"{'—':>7}  pyrankvote: {peer['error']}"
    else:
        agrees = json.loads(peer["stdout"]) == elected
        peer_text = f"{peer['seconds']:>9.3f} {peer['peak_mib']:>9.0f}"
        ratio = f"{float(peer['seconds']) / float(ours['seconds']):>6.1f}x"
        ratio += "" if agrees else f"  pyrankvote elects {','.join(json.loads(peer['stdout']))}"
    print(
        f"{kind:<12} {FILE_LINES:>10,} {figures['distinct']:>9,} {figures['seconds']:>8.3f} "
        f"{ours['seconds']:>9.3f} {ours['peak_mib']:>9.0f} {peer_text} {ratio}  {','.join(elected)}"
    )


# -- the parent: every library at every size ------------------------------------------------------


def measure(python: str, library: str, size: int, kind: str) -> dict[str, object]:
    try:
        done = subprocess.run(
            [python, __file__, "--child", library, str(size), kind],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {TIME_LIMIT} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("LIBRARY", "SIZE", "KIND"))
    parser.add_argument(
        "--peers-python",
        default=sys.executable,
        help="the Python that has the peer packages installed",
    )
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--read-file", help=argparse.SUPPRESS)
    parser.add_argument("--pyrankvote-file", help=argparse.SUPPRESS)
    parser.add_argument("--launch", help=argparse.SUPPRESS)
    parser.add_argument(
        "--files-only", action="store_true", help="only the BLT file rows, not the in-memory ones"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    if args.read_file:
        read_child(args.read_file)
        return
    if args.launch:
        print(json.dumps(whole_process(json.loads(args.launch))))
        return
    if args.pyrankvote_file:
        pyrankvote_file_child(args.pyrankvote_file)
        return
    if not args.files_only:
        count_profiles(args)
    print()
    print(
        f"BLT file of {FILE_LINES:,} unaggregated ballot lines ({CANDIDATES} candidates, {SEATS}"
        " seats): reading alone, then whole processes (start, imports, read, count, print)"
    )
    print(
        f"{'profile':<12} {'lines':>10} {'distinct':>9} {'read s':>8} {'count s':>9} "
        f"{'peak MiB':>9} {'pyrankv s':>9} {'peak MiB':>9} {'ratio':>7}  elected"
    )
    for kind in ("independent", "pooled"):
        measure_file(kind, args.peers_python)
    print(
        "count s: `assembly count FILE --json`; pyrankv s: the same file read line by line into"
        " pyrankvote Ballots and counted"
    )
    print()
    print("The same files counted by each STV rule set: `assembly count FILE --rules R --json`")
    print(f"{'profile':<12} {'rules':<14} {'seconds':>9} {'peak MiB':>9}  elected")
    for kind in ("independent", "pooled"):
        measure_rules(kind)


def measure_rules(kind: str) -> None:
    """Count one file by every rule set as whole processes (best of three each)."""
    sys.path.insert(0, str(ROOT))
    from assembly.counting.rulesets import RULE_SETS

    path = ballot_file(kind)
    for rules in sorted(RULE_SETS):
        command = [sys.executable, "-m", "assembly.cli", "count", str(path), "--rules", rules]
        run = best_process([*command, "--seed", "5eed", "--json"])
        if "error" in run:
            print(f"{kind:<12} {rules:<14} {'—':>9} {'—':>9}  {run['error']}")
            continue
        elected = ",".join(sorted(json.loads(run["stdout"])["elected_ids"]))
        print(f"{kind:<12} {rules:<14} {run['seconds']:>9.3f} {run['peak_mib']:>9.0f}  {elected}")


def count_profiles(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    scenarios = [("pooled", size) for size in sizes]
    if 1_000_000 in sizes:
        scenarios.append(("independent", 1_000_000))
    for kind, size in scenarios:
        load(size, kind)
    print(
        f"STV, {CANDIDATES} candidates, {SEATS} seats, synthetic profiles (pool {POOL:,});"
        " time from raw rankings to result, one process each"
    )
    print(
        f"{'profile':<12} {'ballots':>10} {'library':<12} {'seconds':>9} {'peak MiB':>9} "
        f"{'ratio':>7}  elected"
    )
    slow: set[str] = set()
    for kind, size in scenarios:
        rows = {}
        for library in RUNNERS:
            if library in slow:
                rows[library] = {"error": "skipped: over 60 s at the previous size"}
                continue
            python = sys.executable if library == "assembly" else args.peers_python
            rows[library] = measure(python, library, size, kind)
            seconds = rows[library].get("seconds")
            if (isinstance(seconds, float) and seconds * 10 > 600) or (
                "error" in rows[library] and "over" in str(rows[library]["error"])
            ):
                slow.add(library)
        ours = rows["assembly"].get("seconds")
        for library, row in rows.items():
            if "error" in row:
                print(
                    f"{kind:<12} {size:>10,} {library:<12} {'—':>9} {'—':>9} {'—':>7}  "
                    f"{row['error']}"
                )
                continue
            ratio = row["seconds"] / ours if isinstance(ours, float) else float("nan")
            print(
                f"{kind:<12} {size:>10,} {library:<12} {row['seconds']:>9.3f} "
                f"{row['peak_mib']:>9.0f} "
                f"{ratio:>6.1f}x  {','.join(row['elected'])}"
            )
    print(
        "pooled: 50,000 distinct rankings drawn with Zipf-like frequencies; independent: each"
        " ballot drawn on its own (worst case for aggregation)"
    )
    print("dividebatur: not run (it counts AEC Senate data files, not ranked profiles)")


if __name__ == "__main__":
    main()
