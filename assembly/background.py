"""Work a request hands to a thread of its own process: roster imports, and the checks of the
trustees' uploads. The thread runs in an application context with its own database session;
``wait_for_jobs`` lets tests and a shutdown wait for every one of them.

A job's outcome is written to the database (or beside the upload) for the page that asked for
it to read; if the process dies half way, its transaction is lost and the page says the work
stopped after a while (each feature's ``STALE_AFTER``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import current_app

from assembly.extensions import db

__all__ = ["start", "wait_for_jobs"]

_threads: list[threading.Thread] = []
_lock = threading.Lock()


def start(work: Callable[[], None], name: str) -> None:
    """Run ``work`` in a new thread, in this application's context; its session is removed
    when it ends."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def target() -> None:
        with app.app_context():
            try:
                work()
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=name)
    with _lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()


def wait_for_jobs(timeout: float = 120.0) -> bool:
    """Wait for every background job to finish (tests, shutdown); True if they all did."""
    deadline = time.monotonic() + timeout
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)
