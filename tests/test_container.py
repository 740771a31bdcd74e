"""The container image and compose file hang together. No Docker engine runs here, so nothing
is built: these tests check what a build would read, and `make smoke` (CI) runs the same
entrypoint, gunicorn settings and nginx template on this machine's own programs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from assembly.config import ENV_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "nginx" / "assembly.conf.template"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_file_the_image_copies_exists() -> None:
    """Each COPY source is in the repository (or made by an earlier stage)."""
    dockerfile = (DEPLOY / "container" / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, re.M)
    assert copies
    for sources in copies:
        for source in sources.split():
            assert list(ROOT.glob(source)), source
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.M)
    assert stages[-1] == "app", "the application is the default (last) target"
    for stage in re.findall(r"^COPY --from=(\w+)", dockerfile, re.M):
        assert stage in stages


def test_compose_runs_the_stack_the_issue_lists() -> None:
    """PostgreSQL, the app, its timers, nginx, a mail relay and the limits' shared store; the
    app and timers run the image's entrypoint commands."""
    services = _compose()["services"]
    assert set(services) == {"db", "memcached", "mail", "app", "timers", "web"}
    assert services["app"]["command"] == ["serve"]
    assert services["timers"]["command"] == ["timers"]
    entrypoint = (DEPLOY / "container" / "entrypoint").read_text()
    assert "serve)" in entrypoint and "timers)" in entrypoint
    environment = services["app"]["environment"]
    assert environment["ASSEMBLY_RATELIMIT_STORAGE_URI"].startswith("memcached://memcached:")
    assert "@db/" in environment["ASSEMBLY_DATABASE_URL"]
    assert services["app"]["env_file"] == "assembly.env"


def test_the_settings_production_needs_are_given() -> None:
    """Every setting production refuses to start without is in the example environment file
    or in compose's own environment."""
    example = (DEPLOY / "assembly.env.example").read_text()
    given = set(re.findall(r"^#? ?(ASSEMBLY_\w+)=", example, re.M))
    given |= set(_compose()["services"]["app"]["environment"])
    required = {
        "ASSEMBLY_SECRET_KEY",
        "ASSEMBLY_KEY_PASSPHRASE",
        "ASSEMBLY_DATABASE_URL",
        "ASSEMBLY_RATELIMIT_STORAGE_URI",
    }
    assert required <= given
    known = {f"ASSEMBLY_{name}" for name in ENV_SETTINGS}
    known |= {"ASSEMBLY_WORKERS", "ASSEMBLY_BIND", "ASSEMBLY_INSTANCE_PATH"}  # gunicorn, app
    assert given <= known, given - known


def test_the_nginx_template_is_filled_by_compose_and_documented() -> None:
    """Each of the template's variables is set for the web container and described in the
    template's header; nginx's own variables are left for nginx."""
    text = TEMPLATE.read_text()
    header = text.split("\n\n", 1)[0] + text.split("\n\n", 2)[1]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    variables = set(re.findall(r"\$\{(ASSEMBLY_\w+)\}", body))
    assert variables == set(_compose()["services"]["web"]["environment"])
    for name in variables:
        assert f"#   {name} " in header, name
    assert "$http_host" in body and "$proxy_add_x_forwarded_for" in body


def test_the_entrypoint_is_a_valid_shell_script() -> None:
    """sh parses it (-n), and it is executable."""
    entrypoint = DEPLOY / "container" / "entrypoint"
    assert entrypoint.stat().st_mode & 0o111
    result = subprocess.run(["sh", "-n", str(entrypoint)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
