"""The roster upload flow (upload → preview → confirm), the import run page, and the members
list with its search, filters and formula-safe CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.actors import SYSTEM
from assembly.auth.models import Role
from assembly.clock import utcnow
from assembly.extensions import db
from assembly.membership.jobs import wait_for_jobs
from assembly.membership.models import ImportRun, ImportStatus, Membership
from assembly.membership.operations import ensure_csv_source
from assembly.membership.queries import get_constituency
from tests.conftest import grant, make_institution, make_user
from tests.membership.test_imports import ANN, BOB, CAT, database_fingerprint, roster


def _secretary(client_login, slug: str):  # type: ignore[no-untyped-def]
    institution = make_institution(slug=slug, name="Page School")
    grant(make_user("sec@example.org"), institution, Role.secretary)
    client_login("sec@example.org")
    return institution


def _upload(client: FlaskClient, slug: str, data: bytes, key: str = "workers"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/institutions/{slug}/rosters",
        data={"constituency": key, "mode": "snapshot", "roster": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )


def test_upload_preview_then_confirm(app: Flask, client: FlaskClient, login_as) -> None:
    """An upload shows what would change and changes nothing until it is confirmed."""
    _secretary(login_as, "flow-school")
    response = _upload(client, "flow-school", roster(ANN, BOB, CAT))
    assert response.status_code == 302
    assert wait_for_jobs()
    db.session.rollback()  # end this session's snapshot: see what the job committed
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check the import before you confirm it" in preview
    assert re.search(r"New members</th><td[^>]*>3<", preview)
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 0
    confirmed = client.post(response.headers["Location"])
    assert confirmed.status_code == 302
    assert wait_for_jobs()
    db.session.rollback()  # end this session's snapshot: see what the job committed
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 3
    run = db.session.scalars(select(ImportRun)).one()
    assert run.status == ImportStatus.applied
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "What changed" in page and "Imported" in page
    again = client.post(response.headers["Location"])
    assert again.status_code == 409  # a run is applied once


def test_a_running_import_shows_its_progress(app: Flask, client: FlaskClient, login_as) -> None:
    """While a run is being checked its page shows the line reached and refreshes itself;
    a run whose progress stopped moving says so."""
    import os
    import time

    from assembly.membership.jobs import STALE_AFTER, Progress

    school = _secretary(login_as, "progress-school")
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    run = ImportRun(
        source_id=source.id,
        mode="snapshot",
        status=ImportStatus.checking,
        actor_label="test",
        effective_on=date(2026, 9, 1),
        lines_total=100_000,
    )
    db.session.add(run)
    db.session.commit()
    upload_dir = os.path.join(app.instance_path, "uploads")
    os.makedirs(upload_dir, exist_ok=True)
    progress = Progress(upload_dir, run.id, "checking", 100_000)
    progress(45_000)
    page = client.get(f"/institutions/progress-school/imports/{run.id}")
    text = page.get_data(as_text=True)
    assert "Checking your file" in text and "Line 45,000 of about 100,000 (45%)" in text
    assert "progress.js" in text and page.headers["Cache-Control"] == "no-store"
    state = client.get(f"/institutions/progress-school/imports/{run.id}/progress").get_json()
    assert state == {
        "status": "checking",
        "running": True,
        "stalled": False,
        "line": 45_000,
        "total": 100_000,
        "percent": 45,
    }
    old = time.time() - STALE_AFTER - 1
    os.utime(progress.path, (old, old))
    text = client.get(f"/institutions/progress-school/imports/{run.id}").get_data(as_text=True)
    assert "The import stopped" in text and "Nothing was changed" in text
    assert "progress.js" not in text
    state = client.get(f"/institutions/progress-school/imports/{run.id}/progress").get_json()
    assert state["stalled"] is True
    # No progress file while the run still reads as running: it has just finished (the page
    # read the status before the job's commit), not stopped — unless the run is old.
    progress.clear()
    state = client.get(f"/institutions/progress-school/imports/{run.id}/progress").get_json()
    assert state["stalled"] is False and state["percent"] == 99
    run.created_at = utcnow() - timedelta(seconds=STALE_AFTER + 1)
    db.session.commit()
    state = client.get(f"/institutions/progress-school/imports/{run.id}/progress").get_json()
    assert state["stalled"] is True


def test_a_refused_upload_lists_the_rows_and_stores_nothing(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """Invalid rows are listed with line numbers on the run's page; the file is not kept and
    nothing but the refused run (the record of the attempt) is stored."""
    import os

    school = _secretary(login_as, "refused-school")
    ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    db.session.commit()
    before = database_fingerprint(except_tables={"import_runs"})
    response = _upload(client, "refused-school", roster(ANN, ("E9", "=1+1", "X", "", "", "")))
    assert response.status_code == 302
    assert wait_for_jobs()
    db.session.rollback()  # end this session's snapshot: see what the job committed
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The roster was not imported" in page and "formula" in page and "Line" in page
    assert "Confirm and import" not in page
    run = db.session.scalars(select(ImportRun)).one()
    assert run.status == ImportStatus.refused
    assert not os.path.exists(os.path.join(app.instance_path, "uploads", f"{run.id}.csv"))
    assert database_fingerprint(except_tables={"import_runs"}) == before


def test_an_unreadable_upload_says_why(app: Flask, client: FlaskClient, login_as) -> None:
    """A binary file is refused beside the file field."""
    _secretary(login_as, "binary-school")
    response = _upload(client, "binary-school", b"\x00\x01\x02\x03" * 100)
    assert response.status_code == 400
    assert "binary" in response.get_data(as_text=True)


def test_members_list_searches_filters_and_exports_safely(
    app: Flask, client: FlaskClient, login_as
) -> None:
    """Search by name, filter by status, and a CSV whose formula-like cells are neutralised."""
    from assembly.auth.actors import SYSTEM
    from assembly.membership.models import Person
    from assembly.membership.operations import ensure_csv_source, import_roster
    from assembly.membership.queries import get_constituency

    school = _secretary(login_as, "list-school")
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    import_roster(SYSTEM, source, roster(ANN, BOB))
    db.session.commit()
    # A name typed elsewhere (the sign-up page, say) that a spreadsheet would run.
    bob = db.session.scalars(select(Person).filter_by(family_name="Jones")).one()
    bob.given_name = '=HYPERLINK("http://evil.example")'
    db.session.commit()
    page = client.get("/institutions/list-school/members?q=smi").get_data(as_text=True)
    assert "Smith, Ann" in page and "Jones" not in page and "1 matching" in page
    page = client.get("/institutions/list-school/members?status=left").get_data(as_text=True)
    assert "0 matching" in page
    exported = client.get("/institutions/list-school/members.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["family_name"] for r in rows} == {"Smith", "Jones"}
    [jones] = [r for r in rows if r["family_name"] == "Jones"]
    assert jones["given_name"].startswith("'=")
