"""The deployment smoke test (``make smoke``; CI runs it): the production stack on this machine,
and a simulated board election through it.

It starts what deploy/ describes, with this machine's own programs, each on a free loopback
port and in a scratch folder:

- PostgreSQL (a new cluster, as ``initdb`` makes it);
- memcached, the rate limits' shared store;
- an SMTP server (aiosmtpd) standing in for the mail relay, keeping every message;
- the application as the container runs it: ``deploy/container/entrypoint serve`` (migrate,
  then gunicorn with ``deploy/gunicorn.conf.py``, two workers), in production settings;
- nginx with ``deploy/nginx/assembly.conf.template`` filled in (a self-signed certificate).

Then, as an institution would live through it:

1. health and readiness answer through nginx; plain HTTP is sent to HTTPS; pages carry the
   security headers (HSTS, CSP, frame-ancestors); nginx serves the stylesheet;
2. an election is set up by the simulation, with its poll open today
   (``open_simulated_poll``); ``assembly timers run --once`` (the timers container's jobs)
   delivers the voting information to the relay;
3. every voter follows the personal link in their email through nginx, ranks candidates on the
   ballot page, checks the vote and casts it, and downloads their signed receipt;
4. the sign-in limit is counted across both gunicorn workers (the shared store): the 21st
   request from one client in a quarter of an hour is refused whichever worker takes it;
5. the poll closes and the returning officer counts, countersigns and declares; the timers
   send the declaration; the results page through nginx names the winners, and
   ``assembly verify`` passes the published record with a voter's receipt;
6. nginx's access log holds no sign-in token.

Exit status 0 when every check passes, 1 otherwise (each check printed as ok / FAIL).
"""

from __future__ import annotations

import datetime as dt
import email
import http.client
import ipaddress
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from email import policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VOTERS = 24
SIGN_IN_LIMIT = 20  # SIGN_IN_PER_CLIENT's default: 20 per 15 minutes
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LINK = re.compile(r"https://[^\s\"<>]+/sign-in/link/[^\s\"<>]+")
failures: list[str] = []


def check(ok: bool, what: str, detail: object = "") -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, ready: Any, process: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"smoke: {what} did not start\n{tail}")
        time.sleep(0.2)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@contextmanager
def background(command: list[str], log: Path, **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **options)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgresql(folder: Path) -> Iterator[str]:
    """A new PostgreSQL cluster on loopback; yield its URL."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    pg_bin = found[-1].parent if found else Path(shutil.which("pg_ctl") or "pg_ctl").parent
    data, port = folder / "pg", free_port()
    folder.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run(
        [
            *as_postgres(
                [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w"]
            ),
            "-o",
            options,
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )


class Relay:
    """The mail relay's stand-in: an SMTP server that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def text_to(self, address: str) -> list[str]:
        return [
            message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            for message in self.messages
            if address in str(message["To"])
        ]


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as the client's only trusted root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "assembly smoke test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.pem", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def nginx_config(folder: Path, values: dict[str, str]) -> Path:
    """deploy/nginx's template filled in as envsubst would (only the ASSEMBLY_* names), in a
    main configuration that keeps every file in ``folder``."""
    template = (ROOT / "deploy" / "nginx" / "assembly.conf.template").read_text()
    site = string.Template(template).safe_substitute(values)
    left = sorted(set(re.findall(r"\$\{?(ASSEMBLY_\w+)", site)))
    if left:
        raise SystemExit(
            f"smoke: the nginx template names settings the smoke does not give: {left}"
        )
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\nevents {{ worker_connections 256; }}\n"
        "http {\n  include /etc/nginx/mime.types;\n"
        + "".join(
            f"  {kind}_temp_path {folder}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {folder}/site.conf;\n}}\n"
    )
    return main


class Browser:
    """One person's browser over HTTPS through nginx: cookies, and the Referer CSRF checks."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port, self.context = port, context
        self.cookies: dict[str, str] = {}
        self.page = "/"

    def request(
        self, method: str, target: str, form: dict[str, str] | list[tuple[str, str]] | None = None
    ) -> tuple[int, dict[str, str], str]:
        parts = urllib.parse.urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": "assembly-smoke/1", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://127.0.0.1:{self.port}{self.page}"
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.context, timeout=30
        )
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            pair = header.split(";", 1)[0].strip()
            name, _, value = pair.partition("=")
            self.cookies[name] = value
        if method == "GET" and response.status == 200:
            self.page = path
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def follow(self, target: str) -> tuple[int, str]:
        """GET, following redirects on this site."""
        for _ in range(5):
            status, headers, text = self.request("GET", target)
            if status not in (301, 302, 303):
                return status, text
            target = headers["location"]
        return status, text


def run_timers(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What the timers container does, once: ``assembly timers run --once``."""
    return subprocess.run(
        [str(BIN / "assembly"), "timers", "run", "--once"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def vote(browser: Browser, link: str, rng: Any) -> tuple[bool, str, dict[str, Any] | None]:
    """Follow the emailed link, rank on the ballot, check, cast; return the receipt file."""
    status, _, page = browser.request("GET", link)
    if status != 200 or not CSRF.search(page):
        return False, f"link page {status}", None
    status, headers, _ = browser.request("POST", link, {"csrf_token": CSRF.findall(page)[-1]})
    if status != 302:
        return False, f"sign-in {status}", None
    ballot_path = urllib.parse.urlsplit(headers["location"]).path
    status, page = browser.follow(ballot_path)
    fields = re.findall(r'name="(pref-\d+)"', page)
    if status != 200 or not fields:
        return False, f"ballot page {status} at {ballot_path}", None
    chosen = rng.sample(fields, rng.randint(1, len(fields)))
    marks = [(field, str(rank)) for rank, field in enumerate(chosen, 1)]
    form = [("csrf_token", CSRF.findall(page)[-1]), *marks]
    status, _, review = browser.request("POST", ballot_path, form)
    hidden = re.findall(r'type="hidden" name="(pref-\d+)" value="(\d+)"', review)
    if status != 200 or sorted(hidden) != sorted(marks):
        return False, f"review {status}", None
    browser.page = ballot_path
    cast = [("csrf_token", CSRF.findall(review)[-1]), *hidden]
    status, headers, _ = browser.request("POST", ballot_path + "/cast", cast)
    if status != 302 or not headers["location"].endswith("/vote/receipt"):
        return False, f"cast {status}", None
    status, _, receipt = browser.request("GET", ballot_path + "/receipt.json")
    if status != 200:
        return False, f"receipt {status}", None
    return True, "", json.loads(receipt)


def main() -> int:
    from aiosmtpd.controller import Controller

    rng = random.Random()  # noqa: S311 (synthetic ballots)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assembly-smoke.")))
        folder.chmod(0o755)
        print(f"smoke: everything in {folder}")
        database = stack.enter_context(postgresql(folder / "postgresql"))

        memcached_port = free_port()
        memcached = [shutil.which("memcached") or "memcached", "-l", "127.0.0.1"]
        memcached += ["-p", str(memcached_port), "-U", "0", "-m", "16"]
        if os.geteuid() == 0:
            memcached += ["-u", "nobody"]
        process = stack.enter_context(background(memcached, folder / "memcached.log"))
        wait_for("memcached", lambda: answers(memcached_port), process, folder / "memcached.log")

        relay = Relay()
        controller = Controller(relay, hostname="127.0.0.1", port=free_port())
        controller.start()
        stack.callback(controller.stop)

        app_port, https_port, http_port = free_port(), free_port(), free_port()
        base = f"https://127.0.0.1:{https_port}"
        settings = {
            "ASSEMBLY_ENV": "production",
            "ASSEMBLY_SECRET_KEY": secrets.token_urlsafe(48),
            "ASSEMBLY_KEY_PASSPHRASE": secrets.token_urlsafe(24),
            "ASSEMBLY_DATABASE_URL": database,
            "ASSEMBLY_BASE_URL": base,
            "ASSEMBLY_INSTANCE_PATH": str(folder / "instance"),
            "ASSEMBLY_MAIL_BACKEND": "smtp",
            "ASSEMBLY_MAIL_FROM": "assembly <no-reply@smoke.example.org>",
            "ASSEMBLY_SMTP_HOST": "127.0.0.1",
            "ASSEMBLY_SMTP_PORT": str(controller.port),
            "ASSEMBLY_SMTP_STARTTLS": "false",
            "ASSEMBLY_RATELIMIT_STORAGE_URI": f"memcached://127.0.0.1:{memcached_port}",
            "ASSEMBLY_BIND": f"127.0.0.1:{app_port}",
            "ASSEMBLY_WORKERS": "2",
        }
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSEMBLY_")}
        environment.update(settings, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        app_log = folder / "app.log"
        process = stack.enter_context(
            background(
                [str(ROOT / "deploy/container/entrypoint"), "serve"], app_log, env=environment
            )
        )
        wait_for("the application", lambda: answers(app_port), process, app_log)

        cert, key = certificate(folder)
        access_log = folder / "access.log"
        main_config = nginx_config(
            folder,
            {
                "ASSEMBLY_SERVER_NAME": "127.0.0.1",
                "ASSEMBLY_UPSTREAM": f"127.0.0.1:{app_port}",
                "ASSEMBLY_STATIC_ROOT": f"{ROOT}/assembly/static/",
                "ASSEMBLY_TLS_CERTIFICATE": str(cert),
                "ASSEMBLY_TLS_CERTIFICATE_KEY": str(key),
                "ASSEMBLY_HTTP_PORT": str(http_port),
                "ASSEMBLY_HTTPS_PORT": str(https_port),
                "ASSEMBLY_ACCESS_LOG": str(access_log),
            },
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        test = subprocess.run(
            [nginx, "-t", "-p", str(folder), "-c", str(main_config)],
            capture_output=True,
            text=True,
            check=False,
        )
        check(test.returncode == 0, "nginx accepts the site template", test.stderr.strip())
        process = stack.enter_context(
            background([nginx, "-p", str(folder), "-c", str(main_config)], folder / "nginx.log")
        )
        wait_for("nginx", lambda: answers(https_port), process, folder / "error.log")

        context = ssl.create_default_context(cafile=str(cert))
        visitor = Browser(https_port, context)
        print("1. the stack")
        for path in ("/healthz", "/readyz"):
            status, _, _ = visitor.request("GET", path)
            check(status == 200, f"{path} through nginx")
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        plain.request("GET", "/verify")
        response = plain.getresponse()
        check(
            response.status == 301 and response.getheader("Location") == f"{base}/verify",
            "plain HTTP is sent to HTTPS",
            response.getheader("Location"),
        )
        plain.close()
        status, headers, _ = visitor.request("GET", "/verify")
        check(status == 200, "a page through nginx", status)
        check("max-age" in headers.get("strict-transport-security", ""), "HSTS")
        csp = headers.get("content-security-policy", "")
        check(
            "frame-ancestors 'none'" in csp
            and "'unsafe-inline'" not in csp.split("script-src")[-1].split(";")[0],
            "CSP",
            csp,
        )
        status, headers, _ = visitor.request("GET", "/static/app.css")
        check(
            status == 200 and "public" in headers.get("cache-control", ""),
            "nginx serves the stylesheet",
        )

        print("2. an election with its poll open; the timers deliver the voting information")
        os.environ.update(settings)
        from assembly import create_app
        from assembly.clock import today
        from assembly.elections.simulate import declare_simulated_poll, open_simulated_poll
        from assembly.extensions import db

        app = create_app()
        stack.enter_context(app.app_context())
        poll = open_simulated_poll(
            "smoke",
            seats=3,
            voters=VOTERS,
            seed=secrets.token_hex(4),
            today=today(),
            poll_closes_on=today() + dt.timedelta(days=7),
        )
        election_id, slug = poll.election.id, poll.election.institution.slug
        timers = run_timers(environment)
        check(timers.returncode == 0, "assembly timers run --once", timers.stderr[-2000:])
        from sqlalchemy import select

        from assembly.elections.models import RollEntry
        from assembly.membership.models import Person

        voters = db.session.scalars(
            select(Person.email)
            .join(RollEntry, RollEntry.person_id == Person.id)
            .where(RollEntry.contest_id.in_([c.id for c in poll.election.contests]))
        ).all()
        links = {}
        for address in voters:
            found = [link for text in relay.text_to(str(address)) for link in LINK.findall(text)]
            if found:
                links[address] = found[-1]
        check(len(voters) == VOTERS, f"{VOTERS} voters on the rolls", len(voters))
        check(len(links) == len(voters), "every voter's voting information reached the relay")

        print(f"3. {len(links)} voters sign in from their email and cast through nginx")
        receipts, problems = [], []
        for link in links.values():
            ok, problem, receipt = vote(Browser(https_port, context), link, rng)
            if ok:
                receipts.append(receipt)
            else:
                problems.append(problem)
        check(
            not problems, f"{len(receipts)} ballots cast, each with a signed receipt", problems[:3]
        )

        print("4. the sign-in limit is shared by both workers")
        connection = http.client.HTTPConnection("127.0.0.1", app_port, timeout=10)
        connection.request("GET", "/sign-in")
        response = connection.getresponse()
        token = CSRF.findall(response.read().decode())[-1]
        cookie = "; ".join(
            header.split(";", 1)[0] for header in response.headers.get_all("Set-Cookie") or []
        )
        connection.close()

        def sign_in(n: int) -> int:
            # Straight to gunicorn, several at once, so that both workers take some.
            connection = http.client.HTTPConnection("127.0.0.1", app_port, timeout=10)
            body = urllib.parse.urlencode(
                {"csrf_token": token, "email": f"nobody-{n}@smoke.example.org"}
            )
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            connection.request("POST", "/sign-in", body, headers)
            status = connection.getresponse().status
            connection.close()
            return status

        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(sign_in, range(SIGN_IN_LIMIT + 1)))
        check(
            statuses == [302] * SIGN_IN_LIMIT + [429],
            f"{SIGN_IN_LIMIT} sign-in requests answered, the next refused",
            statuses,
        )
        # The access log's last field is the worker's process id (deploy/gunicorn.conf.py).
        workers = re.findall(r'"POST /sign-in" (?:302|429) .* <(\d+)>$', app_log.read_text(), re.M)
        sample = [line for line in app_log.read_text().splitlines() if "/sign-in" in line][-2:]
        check(len(set(workers)) == 2, "both workers answered them", sample)

        print("5. close, count, countersign, declare; the record verifies")
        result = declare_simulated_poll(poll)
        db.session.remove()
        timers = run_timers(environment)
        declared = {
            address
            for address in voters
            for message in relay.messages
            if str(address) in str(message["To"])
            and str(message["Subject"]).startswith("Declaration of result:")
        }
        check(
            timers.returncode == 0 and len(declared) == len(voters),
            "the declaration reached every voter",
            len(declared),
        )
        status, _, page = visitor.request(
            "GET", f"/institutions/{slug}/elections/{election_id}/results"
        )
        elected = [name for names in result.elected.values() for name in names]
        check(
            status == 200 and bool(elected) and all(name in page for name in elected),
            "the results page names every winner",
        )
        status, _, text = visitor.request("GET", f"/records/{election_id}.json")
        record_path, receipt_path = folder / "record.json", folder / "receipt.json"
        record_path.write_text(text)
        receipt_path.write_text(json.dumps(receipts[0]) if receipts else "{}")
        verify = subprocess.run(
            [str(BIN / "assembly"), "verify", str(record_path), "--receipt", str(receipt_path)],
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in environment.items() if not k.startswith("ASSEMBLY_")},
        )
        check(
            status == 200 and verify.returncode == 0,
            "assembly verify RECORD --receipt passes",
            verify.stdout[-1500:],
        )

        print("6. logs")
        logged = access_log.read_text()
        tokens = [link.split("/sign-in/link/", 1)[1].split("?")[0] for link in links.values()]
        check("/sign-in/link/[redacted]" in logged, "nginx logged the sign-ins, redacted")
        check(not any(token in logged for token in tokens), "no sign-in token in nginx's log")
        app_text = app_log.read_text(errors="replace")
        check(not any(token in app_text for token in tokens), "no sign-in token in gunicorn's log")
        check("Traceback" not in app_text, "no traceback in the application's log")

    print("smoke: " + ("every check passed" if not failures else f"{len(failures)} FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
