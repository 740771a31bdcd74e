"""Peak memory of the current process (Linux), for benchmarks run one per process."""

from __future__ import annotations

from pathlib import Path


def rss_kib(field: str) -> int:
    """Return a /proc/self/status figure in KiB: ``VmRSS`` now, ``VmHWM`` the peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> int:
    """Forget the peak a child inherited from its parent; return the resident KiB now."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_kib("VmRSS")
