"""End-to-end verifiable polls: encrypting a ranking in Chromium, and shuffling, decrypting
and verifying 10,000 ballots, against the budgets of issue 17 (0.5 s; 5 minutes each on 2
cores).

``make bench-e2e`` runs it. A 15-candidate contest, three trustees (any two decrypt), 10,000
voters with credentials. Casting (each ballot's four ciphertexts encrypted with their
proofs and signed, as the voters' browsers would) is set-up, done on every core and not part
of the budgets; then, timed: each trustee's shuffle of the 10,000 rows (4 ciphertexts
each) with its proof,
two trustees' decryption shares with their proofs and the opening of every row, and
``check_section`` (what step 10 of ``assembly verify`` runs) with a process pool on every
core. The browser row is ``encryptRanking`` of a full 15-candidate ranking in Debian's
Chromium, best and median of 12 after two warm-ups.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from run import machine  # noqa: E402

from assembly.crypto import ballot as ballots  # noqa: E402
from assembly.crypto import poll  # noqa: E402
from assembly.crypto.elgamal import Ciphertext  # noqa: E402
from assembly.crypto.group import G, random_scalar  # noqa: E402
from assembly.crypto.shuffle import verify_shuffle  # noqa: E402
from assembly.crypto.trustees import deal, election_key, trustee_secret  # noqa: E402
from assembly.records.verify.step10_e2e import mapper_for  # noqa: E402

CANDIDATES = 15
LABEL = "bench/e2e/contest/1"


def _cast(args: tuple[str, int, list[int], int]) -> poll.Cast:
    key_hex, candidates, ranking, secret = args
    from assembly.crypto.group import Point

    return poll.cast(Point.from_hex(key_hex), ballots.Layout(candidates), ranking, LABEL, secret)


def browser_row() -> str:
    try:
        from playwright.sync_api import sync_playwright

        sys.path.insert(0, str(ROOT / "tests"))
        from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    except ImportError as error:
        return f"browser: not measured ({error})"
    bundle = ROOT / "assembly" / "static" / "e2e.js"
    if not bundle.exists():
        return "browser: not measured (make assets builds assembly/static/e2e.js)"
    key = (G * random_scalar()).hex()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto("about:blank")
        page.add_script_tag(content=bundle.read_text(encoding="utf-8"), type="module")
        page.wait_for_function("() => globalThis.assemblyE2E !== undefined")
        times = page.evaluate(
            """(key) => { const e = globalThis.assemblyE2E; const out = [];
                 const ranking = [...Array(15).keys()];
                 for (let i = 0; i < 14; i++) {
                   const t = performance.now();
                   e.encryptRanking(key, 15, ranking, 'bench', 'credential');
                   out.push(performance.now() - t);
                 }
                 return out.slice(2); }""",
            key,
        )
        version = browser.version
        browser.close()
    return (
        "browser: a 15-candidate ranking encrypted (4 ciphertexts and their proofs) in "
        f"Chromium {version}: "
        f"best {min(times) / 1000:.3f} s, median {statistics.median(times) / 1000:.3f} s "
        "(budget 0.5 s)"
    )


def assembly_row(count: int) -> str:
    """An assembly's weighted vote in the room: ``count`` phone ballots of three candidates
    cast with cards of three constituencies; what the trustees and the chair wait for after
    the close (two shuffles, two trustees' shares, the opening), and step 10's check."""
    keys = ("community", "service-users", "workers")
    label = "bench/assembly/1/poll/1"
    rng = random.Random(2028)
    rankings = [rng.sample(range(3), rng.randint(1, 3)) for _ in range(count)]
    made, secrets_ = poll.simulate(
        label, 3, rankings, audits=0, groups=keys, cards=True, shufflers=(), openers=()
    )
    rows: list[list[Ciphertext]] | tuple[tuple[Ciphertext, ...], ...]
    rows = poll.first_rows(made.layout, made.cast, made.group_of())
    start = time.perf_counter()
    shuffles = []
    for trustee in (1, 2):
        shuffled = poll.mix(made.key, rows, label, trustee)
        shuffles.append(shuffled)
        rows = shuffled.rows
    shuffled_in = time.perf_counter() - start
    start = time.perf_counter()
    openings = [poll.open_rows(secrets_[t - 1], t, rows, label) for t in (1, 2)]
    numbers = poll.opened_numbers(made.layout, rows, openings, len(keys))
    opened_in = time.perf_counter() - start
    section = replace(
        made,
        shuffles=tuple(shuffles),
        openings=tuple(openings),
        opened=tuple(tuple(row) for row in numbers),
    )
    stated = poll.counted_by_group(section)
    assert sorted(r for _, _, r in stated) == sorted(tuple(r) for r in rankings)
    start = time.perf_counter()
    findings = poll.check_section(section, roll=count, stated=stated, map_=mapper_for(section))
    checked_in = time.perf_counter() - start
    assert all(ok for _, (ok, _) in findings), findings
    return (
        f"assembly vote ({count:,} phone ballots, 3 candidates, 3 constituencies, cards): "
        f"two trustees' shuffles {shuffled_in:.1f} s, their shares and the opening "
        f"{opened_in:.1f} s, step 10 {checked_in:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ballots", type=int, default=10_000)
    parser.add_argument("--assembly-ballots", type=int, default=500)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if not args.no_browser:
        print(browser_row())
    print(assembly_row(args.assembly_ballots))
    n = args.ballots
    rng = random.Random(2027)
    dealings = [deal(LABEL, i, 2, 3) for i in range(1, 4)]
    secrets_ = [trustee_secret([d.shares[j - 1] for d in dealings]) for j in range(1, 4)]
    key = election_key([d.commitments for d in dealings])
    layout = ballots.Layout(CANDIDATES)
    voters = [random_scalar() for _ in range(n)]
    rankings = []
    for _ in range(n):
        order = list(range(CANDIDATES))
        rng.shuffle(order)
        rankings.append(order[: rng.randint(1, CANDIDATES)])
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        casts = list(
            pool.map(
                _cast,
                [(key.hex(), CANDIDATES, r, x) for r, x in zip(rankings, voters, strict=True)],
                chunksize=200,
            )
        )
    casts.sort(key=lambda c: c.tracker)
    print(
        f"set-up: {n:,} ballots cast (encrypted, proved, signed) in "
        f"{time.perf_counter() - start:.1f} s on {os.cpu_count()} cores"
    )

    start = time.perf_counter()
    rows = poll.first_rows(layout, casts)
    print(
        f"rows of the {n:,} cast ballots (each kept when it is cast): "
        f"{time.perf_counter() - start:.1f} s, {1000 * (time.perf_counter() - start) / n:.1f} ms "
        "a ballot"
    )
    shuffles = []
    for trustee in (1, 2, 3):
        start = time.perf_counter()
        shuffled = poll.mix(key, rows, LABEL, trustee)
        print(
            f"shuffle by trustee {trustee}: {n:,} rows of {layout.width} in "
            f"{time.perf_counter() - start:.1f} s (one core)"
        )
        # What the server does in the request that uploads it (one gunicorn worker).
        start = time.perf_counter()
        document = json.dumps(shuffled.to_json())
        kept = poll.Shuffled.from_json(json.loads(document))
        assert verify_shuffle(key, rows, kept.rows, kept.proof, f"{LABEL}/shuffle/{trustee}")
        print(
            f"  the server's check of its upload ({len(document) / 1e6:.1f} MB: read, proof "
            f"checked): {time.perf_counter() - start:.1f} s (one core; gunicorn's timeout 30 s)"
        )
        shuffles.append(shuffled)
        rows = shuffled.rows
    openings = []
    publics = {t: G * secrets_[t - 1] for t in (1, 2, 3)}
    for trustee in (2, 3):
        start = time.perf_counter()
        opening = poll.open_rows(secrets_[trustee - 1], trustee, rows, LABEL)
        print(
            f"decryption shares of trustee {trustee}: {n * layout.width:,} with proofs in "
            f"{time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        document = json.dumps(opening.to_json())
        kept_opening = poll.Opening.from_json(json.loads(document))
        assert poll.opening_problem(kept_opening, publics[trustee], rows, LABEL) is None
        print(
            f"  the server's check of its upload ({len(document) / 1e6:.1f} MB): "
            f"{time.perf_counter() - start:.1f} s (one core)"
        )
        openings.append(opening)
    start = time.perf_counter()
    numbers = poll.opened_numbers(layout, rows, openings)
    print(f"opening {n:,} rows from two trustees' shares: {time.perf_counter() - start:.1f} s")
    section = poll.Section(
        label=LABEL,
        ceremony=LABEL,
        candidates=CANDIDATES,
        threshold=2,
        trustees=tuple(poll.Trustee.of(d) for d in dealings),
        key=key,
        credentials=tuple(sorted((G * x for x in voters), key=lambda p: p.data)),
        cast=tuple(casts),
        audited=(),
        shuffles=tuple(shuffles),
        openings=tuple(openings),
        opened=tuple(tuple(row) for row in numbers),
    )
    assert sorted(r for _, r in poll.counted(section)) == sorted(tuple(r) for r in rankings)
    start = time.perf_counter()
    findings = poll.check_section(
        section, roll=n, stated=poll.counted(section), map_=mapper_for(section)
    )
    total = time.perf_counter() - start
    assert all(ok for _, (ok, _) in findings), findings
    print(
        f"verifying every proof (step 10): {total:.1f} s on {os.cpu_count()} cores (budget 300 s)"
    )


if __name__ == "__main__":
    main()
