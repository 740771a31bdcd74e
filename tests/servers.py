"""Gunicorn as deployed, for tests that need the real web stack (two worker processes on
127.0.0.1), and a browser-like HTTP client with its own cookies."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import TEST_SECRET, free_port

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def child_environment(**settings: str) -> dict[str, str]:
    """The environment for a child ``assembly`` or gunicorn: this process's, without the
    caller's own ASSEMBLY_* settings, with ``settings`` as ASSEMBLY_<NAME>."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSEMBLY_")}
    environment.update({f"ASSEMBLY_{name}": value for name, value in settings.items()})
    return environment


def development_environment(database_url: str, instance: Path, **settings: str) -> dict[str, str]:
    """``child_environment`` for the tests' own database: development settings, the tests'
    secret, and ``instance`` as the instance folder."""
    return child_environment(
        ENV="development",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        INSTANCE_PATH=str(instance),
        **settings,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """One person's browser: its own cookies, redirects not followed, statuses returned."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    def csrf(self, path: str) -> str:
        status, page = self.request(path)
        found = CSRF.findall(page)
        assert status == 200 and found, (path, status)
        return str(found[-1])

    def sign_in(self, link: str) -> None:
        """Follow a sign-in link (its path) and confirm it."""
        status, _ = self.request(link, {"csrf_token": self.csrf(link)})
        assert status == 302, (link, status)


def _wait_until_up(base: str, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


@contextmanager
def gunicorn(
    database_url: str, folder: Path, port: int | None = None
) -> Iterator[tuple[str, Path]]:
    """Serve the app on ``database_url`` with gunicorn (2 workers); yield its base URL and
    the path of its log, and stop it afterwards."""
    with gunicorn_process(database_url, folder, port) as (base, log, _process):
        yield base, log


@contextmanager
def gunicorn_process(
    database_url: str, folder: Path, port: int | None = None
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """``gunicorn``, yielding its master process as well (for tests that kill it)."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    environment = development_environment(
        database_url, folder / "server-instance", BASE_URL=base, WORKERS="2", LOG_LEVEL="WARNING"
    )
    log = folder / "gunicorn.log"
    with log.open("a") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "assembly.wsgi:app",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(base, log, process)
            yield base, log, process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
