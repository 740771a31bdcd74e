"""deploy/ runs: gunicorn with our config serves the app, refuses bad settings in one line,
and never writes sign-in tokens to its access log."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from assembly.redact import failure, redact_paths
from tests.conftest import TEST_SECRET, free_port
from tests.servers import child_environment

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return child_environment(INSTANCE_PATH=str(tmp_path), **extra)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_serves_health_and_readiness(tmp_path: Path, database_url: str) -> None:
    """gunicorn with deploy/gunicorn.conf.py answers /healthz and /readyz, and redacts tokens."""
    port = free_port()
    environment = _environment(
        tmp_path,
        ENV="development",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        WORKERS="1",
    )
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", "assembly.wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status = _get(f"http://127.0.0.1:{port}/healthz")
                    break
                except urllib.error.URLError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            assert status == 200
            assert _get(f"http://127.0.0.1:{port}/readyz") == 200
            assert _get(f"http://127.0.0.1:{port}/sign-in/link/SECRET-TOKEN-VALUE") == 400
            pass_url = f"http://127.0.0.1:{port}/institutions/x/assemblies/1/pass/SECRET-PASS"
            assert _get(pass_url) == 404
        finally:
            process.terminate()
            process.wait(timeout=30)
    text = log.read_text()
    assert "/sign-in/link/[redacted]" in text
    assert "SECRET-TOKEN-VALUE" not in text
    assert "/assemblies/1/pass/[redacted]" in text and "SECRET-PASS" not in text


def test_tokens_in_paths_are_redacted() -> None:
    """Sign-in links and assembly passes are credentials; nothing else is touched."""
    line = (
        'GET /sign-in/link/abc.DEF-1 200 "GET /institutions/oak/assemblies/12/pass/eyJ.x_y?z=1" '
        "/institutions/oak/assemblies/12/screen"
    )
    assert redact_paths(line) == (
        'GET /sign-in/link/[redacted] 200 "GET /institutions/oak/assemblies/12/pass/[redacted]'
        '?z=1" /institutions/oak/assemblies/12/screen'
    )


def test_gunicorn_refuses_missing_production_settings_in_one_line(tmp_path: Path) -> None:
    """In production without a secret, gunicorn stops at once with our one-line reason."""
    result = subprocess.run(
        [*GUNICORN, "--bind", f"127.0.0.1:{free_port()}", "assembly.wsgi:app"],
        cwd=ROOT,
        env=_environment(tmp_path, ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    ours = [line for line in result.stderr.splitlines() if line.startswith("assembly:")]
    assert ours == [
        "assembly: configuration error: production needs ASSEMBLY_SECRET_KEY (a long random string)"
    ]
    assert "Traceback" not in result.stderr


def test_an_unexpected_error_is_logged_without_its_message() -> None:
    """A database error quotes the row it refused; the log gets its type and place only."""

    def insert_member() -> None:
        raise ValueError("duplicate key (email)=(ann.smith@example.org) for Ann Smith")

    try:
        insert_member()
    except ValueError as error:
        line = failure(error)
    assert line.startswith("builtins.ValueError at test_deploy.py:")
    assert "insert_member" in line
    assert "ann.smith" not in line and "Ann Smith" not in line
