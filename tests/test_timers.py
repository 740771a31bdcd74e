"""`assembly timers run`: the systemd timers' jobs in one process, for containers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from assembly.extensions import db
from assembly.notices.models import OutboxMessage, OutboxStatus
from assembly.notices.operations import queue_notice
from assembly.ops.timers import JOBS, Job
from tests.conftest import free_port, make_institution
from tests.servers import development_environment

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


def _environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    return development_environment(
        database_url, tmp_path, MAIL_BACKEND="file", OUTBOX_DIR=str(tmp_path / "outbox")
    )


def _timers(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assembly.cli", "timers", "run", *args],
        cwd=ROOT,
        env=_environment(tmp_path, database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_schedule_is_the_systemd_timers(tmp_path: Path) -> None:
    """Each job runs the command its systemd unit starts, as often as its timer says."""
    units = ROOT / "deploy" / "systemd"
    for job in JOBS:
        service = (units / f"assembly-{job.name}.service").read_text()
        assert f"assembly {' '.join(job.args)}\n" in service, job.name
        timer = (units / f"assembly-{job.name}.timer").read_text()
        if job.every is not None:
            assert f"OnUnitActiveSec={int(job.every.total_seconds() // 60)}min" in timer
        else:
            assert job.daily_at is not None
            assert f"OnCalendar=*-*-* {job.daily_at:%H:%M:%S}" in timer


def test_next_times() -> None:
    """Interval jobs run that long after the last; nightly jobs at their London time, the
    next day once it has passed (across the clocks going back, too)."""
    every = Job("x", ("x",), every=timedelta(minutes=5))
    moment = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON)
    assert every.next_after(moment) == moment + timedelta(minutes=5)
    nightly = Job("y", ("y",), daily_at=clock_time(3, 15))
    assert nightly.next_after(moment) == datetime(2026, 10, 25, 3, 15, tzinfo=LONDON)
    after = datetime(2026, 10, 25, 3, 15, tzinfo=LONDON)
    assert nightly.next_after(after) == datetime(2026, 10, 26, 3, 15, tzinfo=LONDON)


def test_once_runs_every_job(app: Flask, database_url: str, tmp_path: Path) -> None:
    """`--once` delivers the outbox, ticks, checks the audit chain and purges: exit 0."""
    queue_notice(
        "sign_in",
        "reader@example.org",
        "Your sign-in link",
        "sign_in",
        institution=make_institution(name="Timer School"),
        link="http://localhost/x",
        minutes=15,
    )
    db.session.commit()
    result = _timers(tmp_path, database_url, "--once")
    assert result.returncode == 0, result.stderr
    for job in JOBS:
        assert f"timer {job.name}: done" in result.stderr
    db.session.rollback()
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status == OutboxStatus.sent
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_once_names_the_jobs_that_failed(tmp_path: Path) -> None:
    """With the database unreachable every job fails; each is named, and the exit is 1."""
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/assembly"
    result = _timers(tmp_path, url, "--once")
    assert result.returncode == 1
    assert "failed: notices, elections-tick, audit-verify, retention" in result.stderr
    assert "timer audit-verify: failed with exit status 2" in result.stderr


def test_the_loop_stops_on_sigterm(app: Flask, database_url: str, tmp_path: Path) -> None:
    """As a container's main process: it runs until told to stop, then exits cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assembly.cli", "timers", "run"],
        cwd=ROOT,
        env=_environment(tmp_path, database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Signalled once it says it is running (its handler is set by then), however slowly a
    # busy machine starts it.
    assert process.stderr is not None
    for line in process.stderr:
        if "until SIGTERM" in line:
            break
    else:
        raise AssertionError("the loop ended before it started")
    time.sleep(1)
    assert process.poll() is None, "the loop ended by itself"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    process.stderr.close()
