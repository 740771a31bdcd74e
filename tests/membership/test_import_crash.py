"""Killing an import half way leaves the database exactly as it was before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from assembly.extensions import db
from tests.conftest import make_institution
from tests.membership.test_imports import database_fingerprint
from tests.servers import development_environment

ROWS = 150_000


def _big_roster(path: Path) -> None:
    with path.open("w") as out:
        out.write("external_id,given_name,family_name,email,date_of_birth,postcode\n")
        for n in range(ROWS):
            out.write(f"E{n},Given{n % 97},Family{n % 89},p{n}@example.org,1980-01-01,BS1 4AB\n")


def _writing(database_url: str, sqlite_wal: Path | None) -> bool:
    """Whether the import has started its bulk writes (and has not finished)."""
    if sqlite_wal is not None:
        return sqlite_wal.exists() and sqlite_wal.stat().st_size > 2_000_000
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
                        "(query LIKE 'COPY%' OR query LIKE 'INSERT INTO memberships%')"
                    )
                ).scalar()
            )
    finally:
        engine.dispose()


def test_killing_an_import_half_way_changes_nothing(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL during the bulk writes: after it, every table is byte-for-byte as before."""
    make_institution(slug="crash-school")
    db.session.commit()
    before = database_fingerprint()
    db.session.remove()
    roster = tmp_path / "big.csv"
    _big_roster(roster)
    sqlite_wal = None
    if database_url.startswith("sqlite"):
        sqlite_wal = Path(make_url(database_url).database + "-wal")
    environment = development_environment(database_url, tmp_path / "instance")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assembly.cli",
            "roster",
            "import",
            "--institution",
            "crash-school",
            "--constituency",
            "workers",
            str(roster),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if _writing(database_url, sqlite_wal):
            os.kill(process.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    process.wait(timeout=30)
    assert killed, "the import finished before it could be killed; make ROWS larger"
    assert process.returncode == -signal.SIGKILL
    db.session.remove()
    assert database_fingerprint() == before
