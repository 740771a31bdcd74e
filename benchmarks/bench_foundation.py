"""Foundation figures: audit chain append and verify, and page latency in-process.

Run: ``python benchmarks/bench_foundation.py [--database-url postgresql://…/postgres]``.
SQLite by default, in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from assembly import create_app
from assembly.audit.operations import record_event, verify_chain
from assembly.auth.actors import CLI, SYSTEM
from assembly.auth.operations import issue_sign_in_link
from assembly.extensions import db
from assembly.membership.queries import get_institution
from assembly.ops.demo import SECRETARY, seed_demo

EVENTS = 20_000
REQUESTS = 300


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="assembly-bench-")
    url = f"sqlite:///{folder}/bench.sqlite3"
    scratch = None
    if args.database_url:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.conftest import make_pg_database

        scratch = f"assembly_bench_{os.getpid()}"
        url = make_pg_database(args.database_url, scratch)
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "b" * 40,
            "INSTANCE_PATH": folder,
            "DATABASE_URL": url,
            "WTF_CSRF_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        institution = get_institution("riverside-hospital")
        print(f"database: {db.engine.dialect.name}")

        start = time.perf_counter()
        for number in range(EVENTS):
            record_event(SYSTEM, "bench.event", institution=institution, data={"n": number})
            if number % 1000 == 999:
                db.session.commit()
        db.session.commit()
        append = time.perf_counter() - start
        print(
            f"audit append: {EVENTS:,} events in {append:.2f} s "
            f"({EVENTS / append:,.0f} events/s, committed every 1,000)"
        )

        start = time.perf_counter()
        report = verify_chain()
        verify = time.perf_counter() - start
        assert report.ok
        print(
            f"audit verify: {report.checked:,} events in {verify:.2f} s "
            f"({report.checked / verify:,.0f} events/s)"
        )

        client = app.test_client()
        link = issue_sign_in_link(CLI, SECRETARY)
        db.session.commit()
        client.post(link.split("127.0.0.1:5000", 1)[-1].replace("http://localhost", ""))
        for path in ("/institutions/riverside-hospital", "/institutions/riverside-hospital/audit"):
            samples = []
            for _ in range(REQUESTS):
                begin = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200, response.status_code
            print(
                f"page {path}: p50 {statistics.median(samples):.1f} ms, "
                f"p95 {_percentile(samples, 0.95):.1f} ms over {REQUESTS} requests (in-process)"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {rss:.0f} MiB")
        db.session.remove()
        db.engine.dispose()
    if scratch and args.database_url:
        from tests.conftest import drop_pg_database

        drop_pg_database(args.database_url, scratch)


if __name__ == "__main__":
    main()
