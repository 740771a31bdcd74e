"""An annual assembly of 2,000 attendees run through the real web stack: check-ins and votes.

``make bench-assembly`` runs it on SQLite (WAL), and on PostgreSQL with ``--database-url`` (a
server where a scratch database may be made, as ``bench_cast.py``). The measurement runs in a
process of its own (``--child``), which:

1. builds a fresh database with the migrations and an assembly on its day, as
   ``tests.assemblies.helpers.make_room`` does but with 2,000 members enrolled in one
   transaction (a third in each of the school's three constituencies): rules with a quorum,
   scheduled, noticed, one member of each constituency standing and found valid, candidates
   published, the returning officer's key (``tests.elections.polls.OFFICER_PUBLIC_KEY``)
   registered, and opened today. The chair is the secretary; several tellers have the teller
   role. Every member's pass is made as the notice makes it (``notices.pass_token``), and
   every phone's ranking of the three candidates is drawn from a seeded ``random.Random``
   before anything is sent, so every ballot is known;
2. starts gunicorn as deployed (``deploy/gunicorn.conf.py``: sync workers, two of them here,
   bound to 127.0.0.1 only) and signs the tellers and the chair in through the real sign-in
   link flow (``bench_cast._sign_in``). Then the doors open (timed): each teller, one thread
   each, takes the next member in the queue, scans their pass (``GET …/pass/<token>``, the
   teller's page with its CSRF token) and presses "Check in" (``POST`` the same URL, a 302
   back to it, not followed: the next scan shows its message). The run is bounded: no new
   check-in starts after the time limit (120 s);
3. stops that server and starts a fresh one (sessions live in the signed cookie, so they
   survive): the check-ins and the vote together come close to ``max_requests`` (5,000 per
   worker), which would otherwise recycle a worker in the middle of a timed phase. Projector
   reloads of the live screen warm both workers up. The chair opens the vote (``POST
   …/votes``: IRV, three candidates), each timed and followed to the page that says so;
4. every member's phone, each with a cookie jar of its own, opens its pass (``GET``, a 302 to
   ``…/vote`` that signs the attendee in) and the ballot (``GET …/vote``, for the CSRF token
   of its form), from 16 client threads: the burst when the chair says "vote now". Then the
   phones cast (timed, as ``bench_cast._cast_all`` times it: connect to the last byte of the
   302, one POST per phone, no new one after the time limit): ``POST …/vote`` with the CSRF
   token and a ``pref-<candidate>`` field per ranked candidate, as the browser sends it;
5. the chair closes the vote (it is counted at once) and declares the result (the record is
   issued and signed, every member is told, next year's assembly is scheduled);
6. checks the database afterwards, in-process: one attendance per member, one vote mark and
   one ballot per phone, the rankings stored exactly those sent, every phone's receipt tracker
   stored, one audit event per check-in and per ballot and the audit chain intact; the leader
   declared is the one an independent count of the rankings sent elects
   (``counting.build_profile`` and ``counting.count_irv``); and the assembly's record,
   countersigned with the returning officer's key, passes every step of
   ``records.verify.verify_record``.

With ``--encrypted`` the assembly's votes are end-to-end verifiable: the trustees' ceremony
is run in set-up (two trustees, both needed; ``tests.assemblies.helpers.run_ceremony``) and
one voting card printed per member, of their constituency; once the vote opens each phone's
ranking is encrypted and signed with its card as its script would (on every core, before the
burst), the phones post them to ``…/vote/encrypted`` (timed as above), the vote closes to
wait, each trustee shuffles and then opens it (the offline steps timed apart from the
server's checks of each file), the chair counts (``POST …/count``) and declares; the checks
are the same, the receipts' trackers found among the cast encrypted ballots and the record's
step 10 passing with the rest.

The server runs with ``ASSEMBLY_ENV=development``, as ``bench_cast.py`` does; the load
generator runs on the same machine and takes some of its cores from the server.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench_cast import (
    CSRF,
    Voter,
    _cast_all,
    _cpu_seconds,
    _machine_busy,
    _percentile,
    _sign_in,
    _workers,
    bench_app,
    child_result,
    gunicorn,
    in_scratch_database,
    server_environment,
)
from run import machine

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 2_000
TELLERS = 4
CLIENTS = 16
#: Seconds after which no new check-in, ballot opening or cast is started.
TIME_LIMIT = 120.0
SLUG = "bench-assembly"
#: The three who stand, one from each constituency (ballot order is by family name).
STANDING = (("Ada", "Okafor"), ("Ben", "Lindqvist"), ("Cara", "Murphy"))
#: How strongly the phones lean towards each candidate in turn, so the count has a story.
LEAN = (1.0, 1.25, 1.5)


def _drive(
    clients: list[Callable[[Any], tuple[Any, ...]]], items: list[Any], time_limit: float
) -> tuple[list[tuple[Any, ...]], float]:
    """Hand ``items`` out one at a time to one thread per client (a function of one item
    that returns a row); start no new item after ``time_limit``. Returns the rows, each with
    when it finished appended, and when the run started."""
    queue = iter(items)
    lock = threading.Lock()
    rows: list[tuple[Any, ...]] = []
    start = time.perf_counter()
    deadline = start + time_limit

    def loop(work: Callable[[Any], tuple[Any, ...]]) -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None or time.perf_counter() > deadline:
                return
            row = work(item)
            rows.append((*row, time.perf_counter()))

    threads = [threading.Thread(target=loop, args=(work,)) for work in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rows, start


def _checker(port: int, teller: Voter) -> Callable[[str], tuple[int, int, float, float]]:
    """What one teller does per member: scan the pass, press "Check in"."""

    def check_in(link: str) -> tuple[int, int, float, float]:
        began = time.perf_counter()
        try:
            scanned, page = teller.request(port, "GET", link)
        except OSError:
            scanned, page = 0, ""
        found = CSRF.findall(page)
        middle = time.perf_counter()
        confirmed = 0
        if scanned == 200 and found:
            try:
                confirmed, _ = teller.request(port, "POST", link, {"csrf_token": found[-1]})
            except OSError:
                confirmed = 0
        return scanned, confirmed, middle - began, time.perf_counter() - middle

    return check_in


def _opener(port: int, vote: str) -> Callable[[Voter], tuple[int, int, float]]:
    """What one phone does when the vote opens: open the pass, then the ballot."""

    def open_ballot(phone: Voter) -> tuple[int, int, float]:
        began = time.perf_counter()
        try:
            passed, _ = phone.request(port, "GET", phone.link)
            shown, page = phone.request(port, "GET", vote)
        except OSError:
            passed, shown, page = 0, 0, ""
        found = CSRF.findall(page)
        if found and 'name="pref-' in page:
            phone.form["csrf_token"] = found[-1]
        return passed, shown, time.perf_counter() - began

    return open_ballot


def _chair(port: int, chair: Voter, path: str, page: str, said: str) -> dict[str, Any]:
    """The chair presses a button on the assembly's page (timed), then sees the page again
    (as the browser follows the redirect) and its message."""
    began = time.perf_counter()
    status, _ = chair.request(port, "POST", path, {"csrf_token": chair.form["csrf_token"]})
    took = time.perf_counter() - began
    shown, text = chair.request(port, "GET", page)
    found = CSRF.findall(text)
    if found:
        chair.form["csrf_token"] = found[-1]
    return {
        "status": status,
        "ms": round(took * 1000, 1),
        "ok": status == 302 and shown == 200 and said in text,
    }


def _room(members: int, tellers: int, held_on: date, encrypted: bool = False) -> dict[str, Any]:
    """An assembly opened on ``held_on`` with ``members`` members (enrolled in one
    transaction), three standing; returns the ids and addresses the run needs. ``encrypted``:
    its votes are end-to-end verifiable, the trustees' ceremony run (two trustees, both
    needed) and one card printed per member, of their constituency."""
    from assembly.assemblies.operations import (
        apply_to_stand,
        decide_application,
        open_assembly,
        publish_candidates,
        save_rules,
        schedule_assembly,
        send_notice,
    )
    from assembly.assemblies.record import register_assembly_officer_key
    from assembly.auth.actors import SYSTEM
    from assembly.auth.models import Role
    from assembly.extensions import db
    from assembly.membership.models import Person
    from assembly.membership.operations import enrol_person
    from assembly.membership.queries import get_constituency
    from tests.assemblies.helpers import KEYS, rules
    from tests.conftest import grant, make_institution, make_user
    from tests.elections.polls import OFFICER_PUBLIC_KEY

    scheduled_on = held_on - timedelta(days=20)
    institution = make_institution(slug=SLUG, name="Bench Assembly School")
    chair = make_user(f"sec@{SLUG}.org", name="Sam Secretary")
    officer = make_user(f"ro@{SLUG}.org", name="Rita Officer")
    grant(chair, institution, Role.secretary)
    grant(officer, institution, Role.returning_officer)
    teller_emails = []
    for number in range(1, tellers + 1):
        teller = make_user(f"teller{number}@{SLUG}.org", name=f"Teller {number}")
        grant(teller, institution, Role.teller)
        teller_emails.append(teller.email)
    standing_users = [make_user(f"{g.lower()}@{SLUG}.org", name=g) for g, _ in STANDING]
    constituencies = [get_constituency(institution, key) for key in KEYS]
    people = []
    for number in range(members):
        if number < len(STANDING):
            given, family = STANDING[number]
            email = standing_users[number].email
        else:
            given, family, email = f"Member{number}", "Attendee", f"member{number}@{SLUG}.org"
        person = Person(given_name=given, family_name=family, email=email)
        enrol_person(
            SYSTEM, constituencies[number % len(KEYS)], person, source="bench", audit=False
        )
        people.append(person)
    save_rules(SYSTEM, institution, rules(quorum_share=Fraction(1, 10), quorum_per_constituency=10))
    assembly = schedule_assembly(
        chair,
        institution,
        title="",
        held_on=held_on,
        starts_at="18:30",
        venue="The main hall",
        agenda="1. Welcome\n2. Election of the leader",
        returning_officer_id=officer.id,
        today=scheduled_on,
        e2e=encrypted,
    )
    send_notice(chair, assembly, scheduled_on)
    candidates = []
    for user, person in zip(standing_users, people, strict=False):
        candidate = apply_to_stand(
            user,
            assembly,
            person,
            ballot_name=f"{person.given_name} {person.family_name}",
            statement="I will listen.",
            today=scheduled_on + timedelta(days=1),
        )
        decide_application(officer, candidate, valid=True)
        candidates.append(candidate)
    publish_candidates(chair, assembly, assembly.applications_close_on + timedelta(days=1))
    register_assembly_officer_key(officer, assembly, OFFICER_PUBLIC_KEY)
    secrets_: list[int] = []
    codes: list[str] = []
    if encrypted:
        from assembly.assemblies import e2e
        from assembly.crypto.ballot import credential_secret, new_credential_code
        from assembly.crypto.group import G
        from tests.assemblies.helpers import run_ceremony

        db.session.commit()
        secrets_ = run_ceremony(officer, assembly, [f"scrutineer@{SLUG}.org"], 2)
        codes = [new_credential_code() for _ in people]
        for n, constituency in enumerate(constituencies):
            mine = codes[n :: len(constituencies)]  # members were enrolled round the three
            publics = [(G * credential_secret(code)).hex() for code in mine]
            e2e.publish_cards(officer, assembly, constituency, publics)
    open_assembly(chair, assembly, held_on)
    db.session.commit()
    return {
        "codes": codes,
        "trustee_secrets": [str(x) for x in secrets_],
        "assembly_id": assembly.id,
        "person_ids": [p.id for p in people],
        "candidates": {c.id: c.ballot_name for c in candidates},
        "chair": chair.email,
        "tellers": teller_emails,
    }


def _encrypt_all(
    app: Any, room: dict[str, Any], phones: list[Voter], rankings: list[list[int]]
) -> None:
    """Every phone's encrypted, signed ballot for the open vote, as its script makes it."""
    import multiprocessing
    import os

    from bench_cast import _encrypt

    from assembly.assemblies import e2e
    from assembly.assemblies.models import Assembly
    from assembly.assemblies.queries import open_vote_of
    from assembly.extensions import db

    with app.app_context():
        assembly = db.session.get(Assembly, room["assembly_id"])
        assert assembly is not None and assembly.ceremony is not None
        vote = open_vote_of(assembly)
        assert vote is not None
        ids = e2e.candidate_ids(vote)
        key, label = assembly.ceremony.election_key, e2e.vote_label(assembly, vote)
        db.session.remove()
    jobs = [
        (key, len(ids), label, code, tuple(ids.index(c) for c in ranking))
        for code, ranking in zip(room["codes"], rankings, strict=True)
    ]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as encryptors:
        for phone, payload in zip(phones, encryptors.map(_encrypt, jobs, 32), strict=True):
            phone.payload = payload


def _trustees(app: Any, room: dict[str, Any]) -> dict[str, Any]:
    """After the close, each trustee shuffles the vote's ballots and then opens them, on
    their own computer (``crypto.poll.mix`` and ``open_rows``, what ``assembly trustee``
    runs), and the server checks and keeps each file (the operations the upload runs)."""
    from assembly.assemblies import e2e
    from assembly.assemblies.models import Assembly
    from assembly.auth.models import User
    from assembly.crypto import poll
    from assembly.crypto.elgamal import Ciphertext
    from assembly.crypto.group import Point
    from assembly.extensions import db

    times: dict[str, Any] = {
        "shuffle_s": [],
        "shuffle_check_s": [],
        "open_s": [],
        "open_check_s": [],
    }
    with app.app_context():
        assembly = db.session.get(Assembly, room["assembly_id"])
        assert assembly is not None and assembly.ceremony is not None
        vote = e2e.closed_vote(assembly)
        assert vote is not None
        key = Point.from_hex(assembly.ceremony.election_key)
        users = {t.number: db.session.get(User, t.user_id) for t in assembly.ceremony.trustees}
        for part in ("shuffle", "open"):
            for number, user in users.items():
                task = e2e.task(vote)["polls"][0]
                rows = [[Ciphertext.from_json(c) for c in row] for row in task["rows"]]
                began = time.perf_counter()
                if part == "shuffle":
                    made = poll.mix(key, rows, task["label"], number).to_json()
                else:
                    secret = int(room["trustee_secrets"][number - 1])
                    made = poll.open_rows(secret, number, rows, task["label"]).to_json()
                upload = json.loads(
                    json.dumps(
                        {
                            "polls": [
                                {
                                    "poll": vote.poll_id,
                                    "shuffle" if part == "shuffle" else "opening": made,
                                }
                            ]
                        }
                    )
                )
                middle = time.perf_counter()
                if part == "shuffle":
                    e2e.add_shuffle(user, vote, upload)
                else:
                    e2e.add_opening(user, vote, upload)
                db.session.commit()
                times[f"{part}_s"].append(round(middle - began, 2))
                times[f"{part}_check_s"].append(round(time.perf_counter() - middle, 2))
        times["rows"] = len(task["rows"])
        db.session.remove()
    return times


def _independent_count(
    order: list[int], names: dict[int, str], sent: list[list[int]], seed: str
) -> dict[str, Any]:
    """Count the rankings the phones sent with the pure counting package, apart from the
    application's own count; ``order`` is the ballot order (it only matters to a lot)."""
    from assembly.counting import Candidate, build_profile, count_irv

    index = {candidate_id: n for n, candidate_id in enumerate(order)}
    profile = build_profile(
        [Candidate(f"c{i}", names[i]) for i in order], [[index[c] for c in r] for r in sent]
    )
    result = count_irv(profile, seed=seed)
    return {
        "elected": int(result.elected[0][1:]) if result.elected else None,
        "stages": len(result.stages),
        "first": [f"{names[i]} {t}" for i, t in zip(order, result.stages[0].totals, strict=True)],
    }


def _checks(
    app: Any, room: dict[str, Any], phones: list[Voter], sent: list[list[int] | None]
) -> dict[str, Any]:
    """Read back what the run left in the database; count and verify it independently."""
    from sqlalchemy import func, select

    from assembly.assemblies.models import Assembly, Attendance, Vote
    from assembly.assemblies.record import (
        assembly_record,
        countersign_assembly_record,
    )
    from assembly.audit.models import AuditEvent
    from assembly.audit.operations import verify_chain
    from assembly.auth.models import User
    from assembly.e2e.models import EncryptedBallot
    from assembly.extensions import db
    from assembly.polls.models import Ballot, RollMark
    from assembly.records.models import SigningKey
    from assembly.records.record import signature_file, vote_seed
    from assembly.records.verify import verify_record
    from tests.elections.polls import OFFICER_KEY

    def count(statement: Any) -> int:
        return int(db.session.scalar(statement) or 0)

    def events(action: str) -> int:
        return count(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )

    assembly = db.session.get(Assembly, room["assembly_id"])
    assert assembly is not None
    votes = list(db.session.scalars(select(Vote).where(Vote.assembly_id == assembly.id)))
    vote = votes[0] if votes else None
    found: dict[str, Any] = {
        "attendances": count(
            select(func.count())
            .select_from(Attendance)
            .where(Attendance.assembly_id == assembly.id)
        ),
        "votes": len(votes),
        "vote_state": str(vote.state) if vote else None,
        "state": str(assembly.state),
        "outcome": str(assembly.outcome) if assembly.outcome else None,
        "leader": assembly.leader_candidate_id,
        "check_in_events": events("attendance.checked_in"),
        "cast_events": events("assembly_ballot.cast"),
    }
    serializer = app.session_interface.get_signing_serializer(app)
    receipts = []
    for phone in phones:
        cookie = phone.cookies.get(app.config["SESSION_COOKIE_NAME"], "")
        receipt = serializer.loads(cookie).get("assembly_receipt") if cookie else None
        if isinstance(receipt, dict) and vote is not None and receipt.get("vote") == vote.id:
            receipts.append(receipt["tracker"])
    found["receipts"] = len(receipts)
    if vote is not None:
        found["marks"] = count(
            select(func.count()).select_from(RollMark).where(RollMark.poll_id == vote.poll_id)
        )
        stored = db.session.execute(
            select(Ballot.tracker, Ballot.ranking).where(Ballot.poll_id == vote.poll_id)
        ).all()
        found["ballots"] = len(stored)
        # An encrypted ballot's receipt names its cast tracker (the opened ballot has its row's).
        cast_trackers = set(
            db.session.scalars(
                select(EncryptedBallot.tracker).where(EncryptedBallot.poll_id == vote.poll_id)
            )
        )
        found["encrypted_cast"] = len(cast_trackers)
        found["lost"] = len(set(receipts) - {tracker for tracker, _ in stored} - cast_trackers)
        cast = [r for r in sent if r is not None]
        found["same_rankings"] = Counter(tuple(json.loads(r)) for _, r in stored) == Counter(
            map(tuple, cast)
        )
        found["elected_by_app"] = vote.elected_id
        order = json.loads(vote.candidate_ids)
        independent = _independent_count(
            order, room["candidates"], cast, vote_seed(assembly.seed, vote.id)
        )
        found["independent"] = independent
        found["names"] = {str(k): v for k, v in room["candidates"].items()}
    row = assembly_record(assembly)
    found["record"] = row is not None
    if row is not None:
        officer = db.session.scalars(select(User).where(User.email == f"ro@{SLUG}.org")).one()
        began = time.perf_counter()
        countersign_assembly_record(
            officer,
            assembly,
            signature_file("returning_officer", row.body_sha256, OFFICER_KEY),
        )
        db.session.commit()
        from assembly.records.operations import published

        record = published(row)
        key = db.session.get(SigningKey, assembly.signing_key_id)
        assert key is not None
        report = verify_record(
            record, fingerprints=[key.fingerprint, assembly.officer_fingerprint or ""]
        )
        found["verify_s"] = round(time.perf_counter() - began, 2)
        found["verified"] = report.ok
        found["failed_steps"] = [s.number for s in report.steps if not s.passed]
        found["record_ballots"] = sum(c["ballots"]["count"] for c in record["body"]["contests"])
    found["chain_ok"] = verify_chain().ok
    return found


def _latency(rows: list[float]) -> dict[str, float | None]:
    if not rows:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(_percentile(rows, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(rows, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(rows, 0.99) * 1000, 1),
        "max_ms": round(max(rows) * 1000, 1),
    }


def child(args: argparse.Namespace) -> None:
    in_scratch_database(args, "assembly", _run)


def _run(args: argparse.Namespace, folder: Path, url: str) -> dict[str, Any]:
    from flask_migrate import upgrade

    from assembly.assemblies.notices import pass_token
    from assembly.auth.actors import CLI
    from assembly.auth.operations import issue_sign_in_link
    from assembly.clock import today
    from assembly.extensions import db
    from tests.conftest import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = bench_app(folder, url, base)
    began = time.perf_counter()
    with app.app_context():
        upgrade()
        migrated = time.perf_counter() - began
        room = _room(args.members, args.tellers, today(), args.encrypted)
        built = time.perf_counter() - began - migrated
        database = db.engine.dialect.name
        page = f"/institutions/{SLUG}/assemblies/{room['assembly_id']}"
        passes = [f"{page}/pass/{pass_token(room['assembly_id'], p)}" for p in room["person_ids"]]

        def link(email: str) -> str:
            return re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))

        tellers = [Voter(link(email)) for email in room["tellers"]]
        chair = Voter(link(room["chair"]))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    rng = random.Random(1)
    ids = list(room["candidates"])
    phones = [Voter(path) for path in passes]
    rankings: list[list[int]] = []
    for phone in phones:
        order = sorted(ids, key=lambda c: rng.random() * LEAN[ids.index(c)])
        chosen = order[: rng.randint(1, len(order))]
        rankings.append(chosen)
        phone.form.update({f"pref-{c}": str(n) for n, c in enumerate(chosen, start=1)})

    environment = server_environment(url, base, folder)
    log = folder / "gunicorn.log"
    vote = f"{page}/vote"
    with gunicorn(port, environment, log) as server:
        began = time.perf_counter()
        with ThreadPoolExecutor(len(tellers) + 1) as pool:
            list(pool.map(lambda v: _sign_in(port, page, v), [*tellers, chair]))
        signed_in = time.perf_counter() - began
        for teller in tellers:  # each teller looks at the assembly's page: workers warm up
            assert teller.request(port, "GET", page)[0] == 200
        with _cpu_use(server.pid) as check_in_cpu:
            checked, doors_open = _drive(
                [_checker(port, t) for t in tellers], passes, args.time_limit
            )

    with gunicorn(port, environment, log) as server:
        with ThreadPoolExecutor(args.clients) as pool:
            screens = list(
                pool.map(lambda _: phones[0].request(port, "GET", f"{page}/screen")[0], range(32))
            )
        assert set(screens) == {200}, screens
        phones[0].cookies.clear()
        opened = _chair(port, chair, f"{page}/votes", page, "The vote is open.")
        if args.encrypted:
            # Each phone's script encrypts and signs its ranking with its card (made here,
            # before the burst, on every core: a phone does its own in about 10 ms).
            _encrypt_all(app, room, phones, rankings)
        shown, ballots_open = _drive(
            [_opener(port, vote) for _ in range(args.clients)], phones, args.time_limit
        )
        cast_path = vote + ("/encrypted" if args.encrypted else "")
        with _cpu_use(server.pid) as cast_cpu:
            casts, casting = _cast_all(port, cast_path, phones, args.clients, args.time_limit)
        trustees: dict[str, Any] = {}
        if args.encrypted:
            closed = _chair(
                port, chair, f"{page}/close", page, "Its encrypted ballots wait for the trustees"
            )
            trustees = _trustees(app, room)
            counted = _chair(port, chair, f"{page}/count", page, "The vote is counted")
            closed["ok"] = closed["ok"] and counted["ok"]
            trustees["count_ms"] = counted["ms"]
        else:
            closed = _chair(port, chair, f"{page}/close", page, "The vote is closed and counted.")
        declared = _chair(port, chair, f"{page}/declare", page, "The result is declared.")
        ended = time.perf_counter()

    # _cast_all keeps no voter with its row: a phone's ballot went in if its receipt did.
    cast_ok = {id(p) for p in phones if "assembly_receipt" in _session(app, p)}
    sent = [r if id(p) in cast_ok else None for p, r in zip(phones, rankings, strict=True)]
    with app.app_context():
        found = _checks(app, room, phones, sent)
        db.session.remove()
        db.engine.dispose()

    good_check_ins = [r for r in checked if r[0] == 200 and r[1] == 302]
    check_in_s = max((r[4] for r in checked), default=doors_open) - doors_open
    good_opens = [r for r in shown if r[0] == 302 and r[1] == 200]
    open_s = max((r[3] for r in shown), default=ballots_open) - ballots_open
    good_casts = [r for r in casts if r[0] == (200 if args.encrypted else 302)]
    cast_s = max((r[2] for r in casts), default=casting) - casting
    server_log = log.read_text()
    result = {
        "database": database,
        "members": args.members,
        "tellers": args.tellers,
        "clients": args.clients,
        "migrate_s": round(migrated, 1),
        "setup_s": round(built, 1),
        "sign_in_s": round(signed_in, 2),
        "check_in": {
            "done": len(checked),
            "ok": len(good_check_ins),
            "statuses": dict(Counter(f"{r[0]}/{r[1]}" for r in checked)),
            "seconds": round(check_in_s, 2),
            "rate": round(len(good_check_ins) / check_in_s, 1) if check_in_s else 0,
            "both": _latency([r[2] + r[3] for r in checked]),
            "scan": _latency([r[2] for r in checked]),
            "confirm": _latency([r[3] for r in checked]),
            **_per(check_in_cpu, len(checked)),
        },
        "open_vote": opened,
        "ballots_opened": {
            "done": len(shown),
            "ok": len(good_opens),
            "ready": sum(1 for p in phones if "csrf_token" in p.form),
            "statuses": dict(Counter(f"{r[0]}/{r[1]}" for r in shown)),
            "seconds": round(open_s, 2),
            "rate": round(len(good_opens) / open_s, 1) if open_s else 0,
            **_latency([r[2] for r in shown]),
        },
        "cast": {
            "done": len(casts),
            "ok": len(good_casts),
            "statuses": dict(Counter(str(r[0]) for r in casts)),
            "seconds": round(cast_s, 2),
            "rate": round(len(good_casts) / cast_s, 1) if cast_s else 0,
            **_latency([r[1] for r in casts]),
            **_per(cast_cpu, len(casts)),
        },
        "close": closed,
        "encrypted": args.encrypted,
        "trustees": trustees,
        "declare": declared,
        "assembly_s": round(ended - doors_open, 1),
        "found": found,
        "tracebacks": server_log.count("Traceback"),
        "log": str(log),
    }
    result["clean"] = result["tracebacks"] == 0 and all(_verdicts(result).values())
    return result


@contextmanager
def _cpu_use(master: int) -> Iterator[dict[str, float]]:
    """Seconds of CPU used while the block runs: by the gunicorn workers, by this process
    (the load generator) and by everything else (the database server, the kernel, other
    work on the machine), and how busy the machine was (all cores, 0 to 1)."""
    use: dict[str, float] = {}
    workers = _workers(master)
    server, own, (busy, spent) = _cpu_seconds(workers), time.process_time(), _machine_busy()
    yield use
    busy_now, spent_now = _machine_busy()
    use["server"] = _cpu_seconds(workers) - server
    use["own"] = time.process_time() - own
    use["other"] = max(0.0, busy_now - busy - use["server"] - use["own"])
    use["busy"] = (busy_now - busy) / max(1e-9, spent_now - spent)


def _per(use: dict[str, float], done: int) -> dict[str, float]:
    return {
        "server_cpu_ms": round(use["server"] / max(1, done) * 1000, 1),
        "client_cpu_ms": round(use["own"] / max(1, done) * 1000, 1),
        "other_cpu_ms": round(use["other"] / max(1, done) * 1000, 1),
        "machine_busy": round(100 * use["busy"]),
    }


def _cpu_line(row: dict[str, Any]) -> str:
    return (
        f"CPU each: {row['server_cpu_ms']} ms in the workers, {row['client_cpu_ms']} ms in the "
        f"load generator, {row['other_cpu_ms']} ms elsewhere; machine {row['machine_busy']}% busy"
    )


def _session(app: Any, phone: Voter) -> dict[str, Any]:
    cookie = phone.cookies.get(app.config["SESSION_COOKIE_NAME"], "")
    if not cookie:
        return {}
    with app.app_context():
        loaded = app.session_interface.get_signing_serializer(app).loads(cookie)
    return loaded if isinstance(loaded, dict) else {}


def _verdicts(r: dict[str, Any]) -> dict[str, bool]:
    """Each check the run must pass, by what it says."""
    n = r["members"]
    f = r["found"]
    independent = f.get("independent") or {}
    return {
        f"every member checked in by a teller ({r['check_in']['ok']:,} of {n:,})": (
            r["check_in"]["ok"] == n
        ),
        f"exactly {n:,} attendances, one check-in event each": (
            f["attendances"] == f["check_in_events"] == n
        ),
        "the chair opened one IRV vote on three candidates": (
            r["open_vote"]["ok"] and f["votes"] == 1 and len(f.get("names", {})) == 3
        ),
        f"every phone opened its pass and ballot ({r['ballots_opened']['ok']:,} of {n:,})": (
            r["ballots_opened"]["ok"] == r["ballots_opened"]["ready"] == n
        ),
        f"every phone cast ({r['cast']['ok']:,} of {n:,})": r["cast"]["ok"] == n,
        f"exactly {n:,} vote marks and {n:,} ballots (in the record too), one cast event each": (
            f.get("marks") == f.get("ballots") == f.get("record_ballots") == f["cast_events"] == n
        ),
        "the rankings stored are exactly those sent": bool(f.get("same_rankings")),
        "every receipt's tracker stored": f["receipts"] == n and f.get("lost") == 0,
        "the chair closed the vote and declared the result": (
            r["close"]["ok"]
            and r["declare"]["ok"]
            and f["vote_state"] == "counted"
            and f["state"] == "declared"
        ),
        "the leader declared is the one an independent count elects": (
            f["outcome"] == "elected"
            and independent.get("elected") is not None
            and f["leader"] == f.get("elected_by_app") == independent.get("elected")
        ),
        "the countersigned record passes every step of the verifier": bool(f.get("verified")),
        "the audit chain is intact": f["chain_ok"],
        "no traceback in the server log": r["tracebacks"] == 0,
    }


def _figures(label: str, row: dict[str, Any]) -> str:
    return (
        f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, p99 {row['p99_ms']} ms, "
        f"max {row['max_ms']} ms"
        if row["p50_ms"] is not None
        else f"{label}: none"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--tellers", type=int, default=TELLERS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT)
    parser.add_argument(
        "--encrypted",
        action="store_true",
        help="end-to-end verifiable: phones post encrypted ballots signed with their cards",
    )
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    where = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(
        f"an assembly through gunicorn (2 sync workers) on {where}: {args.members:,} members "
        f"checked in by {args.tellers} tellers, then voting on their phones from "
        f"{args.clients} client threads"
        + (", ballots encrypted (end-to-end verifiable)" if args.encrypted else "")
    )
    print(f"machine: {machine()}")
    r = child_result(__file__)
    f = r["found"]
    c, o, v = r["check_in"], r["ballots_opened"], r["cast"]
    print(
        f"setup: migrations {r['migrate_s']} s; {r['members']:,} members and the assembly "
        f"(noticed, 3 candidates, opened) {r['setup_s']} s; {r['tellers'] + 1} sign-ins "
        f"through the link flow {r['sign_in_s']} s"
    )
    print(
        f"check-in: {c['ok']:,} of {r['members']:,} in {c['seconds']} s, "
        f"{c['rate']} check-ins/s; scan + confirm {_figures('check-ins', c['both'])}; "
        f"confirm POST alone p50 {c['confirm']['p50_ms']} ms, p99 {c['confirm']['p99_ms']} ms; "
        f"statuses {c['statuses']}"
    )
    print(f"  {_cpu_line(c)}")
    print(f"open the vote: POST …/votes {r['open_vote']['ms']} ms")
    print(
        f"phones open pass and ballot: {o['ok']:,} in {o['seconds']} s, {o['rate']}/s; "
        f"{_figures('phones', o)}; statuses {o['statuses']}"
    )
    print(
        f"cast: {v['ok']:,} of {r['members']:,} in {v['seconds']} s, {v['rate']} ballots/s; "
        f"{_figures('casts', v)}; statuses {v['statuses']}"
    )
    print(f"  {_cpu_line(v)}")
    if r["encrypted"]:
        t = r["trustees"]
        print(
            f"close: POST …/close {r['close']['ms']} ms; two trustees' shuffles of "
            f"{t['rows']:,} rows {t['shuffle_s']} s (the server's checks {t['shuffle_check_s']} s),"
            f" their shares {t['open_s']} s (checks {t['open_check_s']} s); count: POST …/count "
            f"{t['count_ms']} ms; declare: POST …/declare {r['declare']['ms']} ms"
        )
    else:
        print(
            f"close and count: POST …/close {r['close']['ms']} ms; declare (record, notices, "
            f"next assembly): POST …/declare {r['declare']['ms']} ms"
        )
    independent = f.get("independent") or {}
    names = f.get("names", {})
    print(
        f"result: {names.get(str(f['leader']), 'nobody')} declared "
        f"({f['outcome']}); an independent count of the {f.get('ballots', 0):,} rankings sent "
        f"elects {names.get(str(independent.get('elected')), 'nobody')} in "
        f"{independent.get('stages')} stage(s), first preferences "
        f"{', '.join(independent.get('first', []))}; record verified in {f.get('verify_s')} s"
        + (f" (failed steps {f['failed_steps']})" if f.get("failed_steps") else "")
    )
    print(
        f"wall: the assembly (first check-in to declaration) {r['assembly_s']} s; "
        f"the whole run {r['wall_s']} s"
    )
    failed = 0
    for label, passed in _verdicts(r).items():
        print(f"  {'ok ' if passed else 'NOT'} {label}")
        failed += not passed
    if failed:
        print(f"  server log: {r['log']}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
