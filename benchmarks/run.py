"""Run every benchmark and print the figures (``make bench``)."""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL of a server where a scratch database may be made",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    command = [sys.executable, str(HERE / "bench_foundation.py")]
    if args.database_url:
        command += ["--database-url", args.database_url]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
