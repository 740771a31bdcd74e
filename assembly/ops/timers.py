"""``assembly timers run``: the systemd timers' jobs, for a host or container without systemd.

Each job is the same ``assembly`` command its systemd timer starts (deploy/systemd), run as a
child process so that one failing or leaking job cannot take the others down: the outbox every
minute, the elections' dated steps every five minutes, and at night the audit chain's check
and the retention purge. A job that fails is logged with its exit status and tried again at its
next time; the loop itself never stops for it. ``--once`` runs every job once, in order, and
exits non-zero if any failed (for a smoke test, or a cron line).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from types import FrameType

import click
from flask.cli import ScriptInfo, pass_script_info

from assembly.clock import LONDON

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One timer: its command, and either an interval or a time of day (Europe/London)."""

    name: str
    args: tuple[str, ...]
    every: timedelta | None = None
    daily_at: clock_time | None = None

    def next_after(self, moment: datetime) -> datetime:
        """When the job runs next after ``moment`` (timezone-aware)."""
        if self.every is not None:
            return moment + self.every
        assert self.daily_at is not None
        local = moment.astimezone(LONDON)
        day = local.date()
        at = datetime.combine(day, self.daily_at, tzinfo=LONDON)
        if at <= local:
            at = datetime.combine(day + timedelta(days=1), self.daily_at, tzinfo=LONDON)
        return at


#: The same schedule as deploy/systemd/*.timer.
JOBS = (
    Job("notices", ("notices", "send"), every=timedelta(minutes=1)),
    Job("elections-tick", ("elections", "tick"), every=timedelta(minutes=5)),
    Job("audit-verify", ("audit", "verify"), daily_at=clock_time(3, 15)),
    Job("retention", ("privacy", "purge"), daily_at=clock_time(3, 45)),
)


def run_job(job: Job) -> int:
    """Run one job's command to the end; log and return its exit status."""
    began = time.monotonic()
    result = subprocess.run(  # noqa: S603 (our own command, no shell)
        [sys.executable, "-m", "assembly.cli", *job.args], check=False
    )
    seconds = time.monotonic() - began
    if result.returncode == 0:
        log.info("timer %s: done in %.1f s", job.name, seconds)
    else:
        log.error("timer %s: failed with exit status %d", job.name, result.returncode)
    return result.returncode


def run_forever(jobs: tuple[Job, ...] = JOBS) -> None:
    """Run each job at its times until SIGTERM or SIGINT (after the job in hand ends)."""
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("timers: running %d jobs on their schedule until SIGTERM", len(jobs))
    now = datetime.now(LONDON)
    # Interval jobs start a minute or two after start-up, as the systemd timers' OnBootSec.
    due = {job: (now + job.every if job.every else job.next_after(now)) for job in jobs}
    while not stopping:
        job = min(due, key=due.__getitem__)
        wait = (due[job] - datetime.now(LONDON)).total_seconds()
        if wait > 0:
            time.sleep(min(wait, 1.0))
            continue
        run_job(job)
        due[job] = job.next_after(datetime.now(LONDON))


@click.group("timers")
def timers_group() -> None:
    """The scheduled jobs, where systemd's timers are not available (containers)."""


@timers_group.command("run")
@click.option(
    "--once", is_flag=True, help="Run every job once, then exit (non-zero if any failed)."
)
@pass_script_info
def run_command(info: ScriptInfo, once: bool) -> None:
    """Run the outbox, the elections' dated steps, the audit check and the retention purge on
    the systemd timers' schedule, each as its own `assembly` command."""
    # Every job is an app command: settings that cannot make the app stop here, once, in one
    # line with exit 2 (assembly.cli.main), rather than fail every job at every tick.
    info.load_app()
    # force: the app configured the root logger as it was made; the timers log with the time.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    if once:
        failed = [job.name for job in JOBS if run_job(job) != 0]
        if failed:
            raise click.ClickException(f"failed: {', '.join(failed)}")
        return
    run_forever()
