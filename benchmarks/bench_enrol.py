"""Enrolment speed and memory: a generated roster imported, then re-imported with 1% changed.

``make bench-enrol`` runs it on SQLite, and on PostgreSQL with ``--database-url``. Each
measurement runs in its own process on a fresh database (built by the migrations): the first
import of N rows (everyone new: people, source records, memberships, welcome notices, one
transaction), then the same roster with 1% of rows changed (new surnames and addresses) and
0.5% gone (leavers). Times are from the file's bytes to the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from memory import reset_peak, rss_kib

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000)
GIVEN = ["Amara", "Ben", "Chloe", "Dev", "Eilidh", "Farah", "George", "Hana", "Isaac", "Jade"]
FAMILY = ["Adeyemi", "Brown", "Campbell", "Davies", "Evans", "Fraser", "Green", "Hughes"]


def roster_csv(
    path: Path, size: int, *, changed: float = 0.0, gone: float = 0.0, seed: int = 1
) -> int:
    """Write a roster of ``size`` rows to ``path``; ``changed``/``gone`` shares differ from
    the base. Return its size in bytes."""
    rng = random.Random(seed)
    change_rng = random.Random(seed + 1)
    out = path.open("w", encoding="utf-8", newline="")
    out.write("external_id,given_name,family_name,email,date_of_birth,postcode\n")
    for number in range(size):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = date(1950 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28))
        postcode = f"BS{1 + rng.randrange(9)} {1 + rng.randrange(9)}AB"
        roll = change_rng.random()
        if roll < gone:
            continue
        if roll < gone + changed:
            family, postcode = family + "-Changed", "LS1 1AA"
        out.write(
            f"E{number:07d},{given},{family},person{number}@example.org,"
            f"{born.isoformat()},{postcode}\n"
        )
    out.close()
    return path.stat().st_size


def child(size: int, database_url: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from assembly import create_app
    from assembly.auth.actors import CLI
    from assembly.extensions import db
    from assembly.membership.models import InstitutionKind
    from assembly.membership.operations import create_institution, ensure_csv_source, import_roster
    from assembly.membership.queries import get_constituency

    folder = tempfile.mkdtemp(prefix="assembly-enrol-")
    scratch = None
    url = f"sqlite:///{folder}/enrol.sqlite3"
    if database_url:
        from tests.conftest import make_pg_database

        scratch = f"assembly_enrol_{os.getpid()}"
        url = make_pg_database(database_url, scratch)
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "e" * 40,
            "INSTANCE_PATH": folder,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
    )
    first, second = Path(folder, "first.csv"), Path(folder, "again.csv")
    size_bytes = roster_csv(first, size)
    roster_csv(second, size, changed=0.01, gone=0.005)
    result: dict[str, object] = {"size": size, "mb": round(size_bytes / 1_048_576, 1)}
    with app.app_context():
        upgrade()
        school = create_institution(CLI, slug="bench", name="Bench", kind=InstitutionKind.school)
        source = ensure_csv_source(CLI, get_constituency(school, "workers"))
        db.session.commit()
        baseline = reset_peak()
        for label, path, day in (
            ("first", first, date(2026, 9, 1)),
            ("again", second, date(2026, 10, 1)),
        ):
            start = time.perf_counter()
            with path.open("rb") as handle:
                plan, _ = import_roster(CLI, source, handle, effective_on=day)
            db.session.commit()
            result[f"{label}_s"] = round(time.perf_counter() - start, 2)
            result[f"{label}_counts"] = plan.counts()
        result["peak_extra_mib"] = round((rss_kib("VmHWM") - baseline) / 1024)
        result["database"] = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()
    if scratch and database_url:
        from tests.conftest import drop_pg_database

        drop_pg_database(database_url, scratch)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database_url)
        return
    where = "PostgreSQL" if args.database_url else "SQLite"
    print(f"roster import on {where}: first import (all new), then 1% changed and 0.5% gone")
    print(f"{'rows':>10} {'file MB':>8} {'first s':>8} {'again s':>8} {'peak +MiB':>10}  counts")
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(size)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if done.returncode != 0:
            print(f"{size:>10,} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        again = r["again_counts"]
        print(
            f"{size:>10,} {r['mb']:>8} {r['first_s']:>8} {r['again_s']:>8} "
            f"{r['peak_extra_mib']:>10}  again: {again['changed']:,} changed, "
            f"{again['leaving']:,} leaving, {again['unchanged']:,} unchanged"
        )


if __name__ == "__main__":
    main()
