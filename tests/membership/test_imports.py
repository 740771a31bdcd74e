"""Roster imports: matching, precedence, eligibility, leavers, opt-outs, idempotence, and
refusals that leave the database exactly as it was."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, inspect, select, text

from assembly.audit.models import AuditEvent
from assembly.auth.actors import SYSTEM
from assembly.errors import RosterError
from assembly.extensions import db
from assembly.membership.imports import RosterFileError
from assembly.membership.models import Membership, Person
from assembly.membership.operations import ensure_csv_source, import_roster
from assembly.membership.queries import get_constituency
from assembly.notices.delivery import deliver_due
from assembly.notices.models import OutboxMessage
from tests.conftest import make_institution

HEADER = ["external_id", "given_name", "family_name", "email", "date_of_birth", "postcode"]
DAY1, DAY2, DAY3 = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def roster(*rows: tuple[str, ...], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


ANN = ("E1", "Ann", "Smith", "ann@example.org", "1980-01-02", "BS1 4AB")
BOB = ("E2", "Bob", "Jones", "bob@example.org", "", "LS1 1AA")
CAT = ("E3", "Cat", "Brown", "", "2000-05-05", "")


def database_fingerprint(except_tables: frozenset[str] | set[str] = frozenset()) -> str:
    """A hash of every row of every table: equal fingerprints mean an unchanged database."""
    digest = hashlib.sha256()
    for table in sorted(inspect(db.engine).get_table_names()):
        if table == "alembic_version" or table in except_tables:
            continue
        rows = db.session.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
        digest.update(f"{table}:{len(rows)}:{sorted(map(repr, rows))!r}".encode())
    return digest.hexdigest()


def _import(institution, key: str, data: bytes, day: date = DAY1, **kwargs):  # type: ignore[no-untyped-def]
    source = ensure_csv_source(SYSTEM, get_constituency(institution, key))
    plan, run = import_roster(SYSTEM, source, data, effective_on=day, **kwargs)
    db.session.commit()
    return plan, run


def _current(institution) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """family name → constituency key of each current member."""
    rows = db.session.execute(
        select(Person.family_name, Membership.constituency_id)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.institution_id == institution.id, Membership.left_on.is_(None))
    ).all()
    keys = {c.id: c.key for c in institution.constituencies}
    return {name: keys[cid] for name, cid in rows}


def test_a_first_import_enrols_everyone_and_welcomes_those_with_email(app: Flask) -> None:
    """Three rows make three people and memberships, one audit event, two welcome notices."""
    school = make_institution(slug="roster-school")
    plan, run = _import(school, "workers", roster(ANN, BOB, CAT))
    assert plan.counts()["new"] == 3 and run is not None
    assert _current(school) == {"Smith": "workers", "Jones": "workers", "Brown": "workers"}
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("roster.imported") == 1
    welcomes = db.session.scalars(select(OutboxMessage).filter_by(kind="welcome")).all()
    assert sorted(m.to_address for m in welcomes) == ["ann@example.org", "bob@example.org"]


def test_welcome_notices_carry_a_working_opt_out_link(app: Flask, client: FlaskClient) -> None:
    """The welcome email is rendered at delivery; its signed link ends the membership."""
    school = make_institution(slug="welcome-school", name="Welcome School")
    _import(school, "workers", roster(ANN))
    assert deliver_due(app.config).sent == 1
    message = db.session.scalars(select(OutboxMessage).filter_by(kind="welcome")).one()
    assert message.subject == "You are a member of Welcome School"
    link = re.search(r"http://localhost(/opt-out/\S+)", message.body_text)
    assert link, message.body_text
    assert "Stop being a member" in client.get(link.group(1)).get_data(as_text=True)
    assert client.post(link.group(1)).status_code == 200
    membership = db.session.scalars(select(Membership)).one()
    db.session.refresh(membership)
    assert membership.opted_out_on is not None and membership.left_on is not None
    assert client.get("/opt-out/forged-token").status_code == 404


def test_importing_the_same_file_twice_changes_nothing(app: Flask) -> None:
    """The second import of the same roster writes no events, notices, people or memberships."""
    school = make_institution(slug="same-school")
    data = roster(ANN, BOB, CAT)
    _import(school, "workers", data)
    counts = (
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(select(func.count()).select_from(Membership)),
    )
    plan, _ = _import(school, "workers", data, day=DAY2)
    assert plan.counts()["unchanged"] == 3 and not plan.has_changes
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(select(func.count()).select_from(Membership)),
    ) == counts


def test_changed_details_are_updated_in_place(app: Flask) -> None:
    """A changed name or address updates the person; the membership is untouched."""
    school = make_institution(slug="change-school")
    _import(school, "workers", roster(ANN))
    plan, _ = _import(
        school,
        "workers",
        roster(("E1", "Ann", "Smith-Jones", "ann@new.example", "1980-01-02", "BS2 1AA")),
        day=DAY2,
    )
    assert plan.counts()["changed"] == 1
    person = db.session.scalars(select(Person)).one()
    assert (person.family_name, person.email, person.postcode) == (
        "Smith-Jones",
        "ann@new.example",
        "BS2 1AA",
    )
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_leavers_leave_and_returners_start_a_new_period(app: Flask) -> None:
    """Missing from a snapshot ends the membership that day; coming back starts another."""
    school = make_institution(slug="leaver-school")
    _import(school, "workers", roster(ANN, BOB))
    plan, _ = _import(school, "workers", roster(ANN), day=DAY2)
    assert plan.counts()["leaving"] == 1
    assert _current(school) == {"Smith": "workers"}
    bob = db.session.scalars(
        select(Membership).join(Person).where(Person.family_name == "Jones")
    ).one()
    assert bob.left_on == DAY2
    _import(school, "workers", roster(ANN, BOB), day=DAY3)
    periods = db.session.scalars(
        select(Membership).join(Person).where(Person.family_name == "Jones").order_by(Membership.id)
    ).all()
    assert [(m.joined_on, m.left_on) for m in periods] == [(DAY1, DAY2), (DAY3, None)]


def test_delta_imports_only_join(app: Flask) -> None:
    """A delta adds the people it lists and lets nobody go."""
    school = make_institution(slug="delta-school")
    _import(school, "workers", roster(ANN))
    _import(school, "workers", roster(BOB), day=DAY2, mode="delta")
    assert _current(school) == {"Smith": "workers", "Jones": "workers"}


def test_precedence_and_moves_between_constituencies(app: Flask) -> None:
    """A parent who becomes a worker moves to workers; leaving the staff list moves them back."""
    school = make_institution(slug="precedence-school")
    parent = ("P7", "Dee", "Parent", "dee@example.org", "1985-02-02", "")
    _import(school, "users", roster(parent))
    assert _current(school) == {"Parent": "users"}
    staff = ("S9", "Dee", "Parent", "dee@example.org", "1985-02-02", "")
    plan, _ = _import(school, "workers", roster(staff), day=DAY2)
    assert plan.counts()["changed"] == 1
    assert _current(school) == {"Parent": "workers"}
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
    # Listed again as a parent: stays a worker (higher precedence).
    plan, _ = _import(school, "users", roster(parent), day=DAY2)
    assert plan.counts()["unchanged"] + plan.counts()["held_elsewhere"] == 1
    assert _current(school) == {"Parent": "workers"}
    _import(school, "workers", roster(), day=DAY3)
    assert _current(school) == {"Parent": "users"}


def test_conflicts_are_reported_not_guessed(app: Flask) -> None:
    """The same email with another date of birth is a conflict: reported, not merged."""
    school = make_institution(slug="conflict-school")
    _import(school, "users", roster(ANN))
    other = ("S1", "Ann", "Smith", "ann@example.org", "1990-09-09", "")
    plan, _ = _import(school, "workers", roster(other), day=DAY2)
    [problem] = plan.skipped
    assert "conflict" in problem.reason and "date of birth" in problem.reason
    assert _current(school) == {"Smith": "users"}


def test_ineligible_rows_are_reported_and_not_enrolled(app: Flask) -> None:
    """Under the minimum age, or outside the postcode districts: reported, not enrolled."""
    school = make_institution(slug="eligible-school")
    community = get_constituency(school, "community")
    assert community is not None
    community.minimum_age = 16
    community.postcode_districts = "BS1 BS2"
    db.session.commit()
    young = ("C1", "Young", "Person", "", "2015-01-01", "BS1 1AA")
    far = ("C2", "Far", "Away", "", "1970-01-01", "LS1 1AA")
    near = ("C3", "Near", "By", "", "1970-01-01", "BS2 9ZZ")
    plan, _ = _import(school, "community", roster(young, far, near))
    reasons = sorted(p.reason for p in plan.skipped)
    assert reasons[0].startswith("ineligible: postcode district LS1")
    assert reasons[1].startswith("ineligible: under 16")
    assert _current(school) == {"By": "community"}


def test_opted_out_people_are_never_re_enrolled(app: Flask) -> None:
    """After opting out, the same roster again does not enrol the person."""
    from assembly.membership.operations import opt_out

    school = make_institution(slug="optout-school")
    _import(school, "workers", roster(ANN, BOB))
    ann = db.session.scalars(
        select(Membership).join(Person).where(Person.family_name == "Smith")
    ).one()
    opt_out(SYSTEM, ann)
    db.session.commit()
    plan, _ = _import(school, "workers", roster(ANN, BOB), day=DAY2)
    assert [p.reason for p in plan.skipped] == ["opted out: not enrolled again"]
    assert _current(school) == {"Jones": "workers"}


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (roster(ANN, ("E1", "Dup", "Row", "", "", "")), RosterError, "appears more than once"),
        (roster(("E5", "=HYPERLINK()", "X", "", "", "")), RosterError, "formula"),
        (roster(("E6", "Ed", "X", "not-an-email", "", "")), RosterError, "not an email"),
        (roster(("E7", "Ed", "X", "", "31/12/1990", "")), RosterError, "not a date"),
        (
            roster(ANN, header=["id", "first", "last", "email", "dob", "pc"]),
            RosterFileError,
            "no column",
        ),
        (
            "external_id,given_name,family_name\nE1,Ann,Smith\n".encode("utf-16"),
            RosterFileError,
            "binary",
        ),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40_000, RosterFileError, "binary"),
        (b"   \n", RosterFileError, "empty"),
    ],
    ids=[
        "duplicate-id",
        "formula",
        "bad-email",
        "bad-date",
        "missing-columns",
        "utf-16",
        "10MB-binary",
        "empty",
    ],
)
def test_bad_rosters_are_refused_and_change_nothing(
    app: Flask, data: bytes, error: type, message: str
) -> None:
    """A bad file is refused with a reason, and the database is byte-for-byte unchanged."""
    school = make_institution(slug="refuse-school")
    _import(school, "workers", roster(BOB))
    ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    db.session.commit()
    before = database_fingerprint()
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    with pytest.raises(error, match=message):
        import_roster(SYSTEM, source, data, effective_on=DAY2)
    db.session.rollback()
    assert database_fingerprint() == before


def test_windows_1252_and_semicolons_are_read(app: Flask) -> None:
    """A Windows-1252 file with semicolons (as some spreadsheets save) imports correctly."""
    school = make_institution(slug="cp1252-school")
    data = "external_id;given_name;family_name\r\nE1;Zoë;Ó Briain\r\n".encode("cp1252")
    _import(school, "workers", data)
    person = db.session.scalars(select(Person)).one()
    assert (person.given_name, person.family_name) == ("Zoë", "Ó Briain")


def test_the_cli_reports_and_exits_by_outcome(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """Exit 0 and counts when applied; 1 with reasons when rows are rejected; 2 for a bad file."""
    make_institution(slug="cli-roster")
    good, bad, broken = tmp_path / "good.csv", tmp_path / "bad.csv", tmp_path / "broken.csv"
    good.write_bytes(roster(ANN, BOB))
    bad.write_bytes(roster(ANN, ("E9", "@SUM(A1)", "X", "", "", "")))
    broken.write_bytes(b"\x00\x01\x02binary")
    base = ["roster", "import", "--institution", "cli-roster", "--constituency", "workers"]
    dry = runner.invoke(args=[*base, "--dry-run", str(good)])
    assert dry.exit_code == 0 and "2 new" in dry.output and "nothing changed" in dry.output
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0
    result = runner.invoke(args=[*base, str(good)])
    assert result.exit_code == 0 and "imported run" in result.output, result.output
    refused = runner.invoke(args=[*base, str(bad)])
    assert refused.exit_code == 1 and "line 3" in refused.output
    assert "nothing was imported" in refused.output
    unusable = runner.invoke(args=[*base, str(broken)])
    assert unusable.exit_code == 2 and "binary" in unusable.output


def test_a_member_who_opted_out_can_rejoin(app: Flask, client: FlaskClient, login_as) -> None:
    """After opting out, the member's own page offers to rejoin; later imports keep them."""
    from assembly.membership.operations import opt_out

    school = make_institution(slug="rejoin-school", name="Rejoin School")
    _import(school, "workers", roster(ANN))
    membership = db.session.scalars(select(Membership)).one()
    opt_out(SYSTEM, membership, on=DAY1)
    db.session.commit()
    login_as("ann@example.org")
    page = client.get("/my/memberships").get_data(as_text=True)
    assert "Become a member again" in page
    response = client.post(f"/my/memberships/{membership.id}/rejoin")
    assert response.status_code == 302
    assert _current(school) == {"Smith": "workers"}
    assert client.post(f"/my/memberships/{membership.id}/rejoin").status_code == 409
    plan, _ = _import(school, "workers", roster(ANN), day=DAY2)
    assert plan.skipped == [] and plan.counts()["unchanged"] == 1


@pytest.fixture
def same_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of READ_CHUNK rows on PostgreSQL too (it normally reads larger ones), so these
    tests cross chunk boundaries on both databases."""
    from assembly.membership.imports import importer

    monkeypatch.setattr(importer, "PG_READ_CHUNK", importer.READ_CHUNK)


def _people(count: int, start: int = 0) -> list[tuple[str, ...]]:
    return [
        (f"E{n:06d}", "Given", f"Family{n}", f"p{n}@example.org", "1980-01-01", "BS1 4AB")
        for n in range(start, start + count)
    ]


def test_a_bad_row_after_chunks_were_written_leaves_nothing_applied(
    app: Flask, same_chunks: None
) -> None:
    """Rosters are applied a chunk at a time; a bad row in a later chunk still refuses the
    whole roster, and rolling back leaves the database exactly as it was."""
    from assembly.membership.imports import RosterRefused
    from assembly.membership.imports.importer import READ_CHUNK

    school = make_institution(slug="late-refusal")
    _import(school, "workers", roster(BOB))
    before = database_fingerprint()
    rows = _people(READ_CHUNK * 2 + 100)
    rows[READ_CHUNK * 2 + 50] = ("E-BAD", "=cmd|' /C calc'!A0", "X", "", "", "")
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    with pytest.raises(RosterRefused, match=f"line {READ_CHUNK * 2 + 52}") as refused:
        import_roster(SYSTEM, source, roster(*rows), effective_on=DAY2)
    assert refused.value.plan.invalid_total == 1
    db.session.rollback()
    assert database_fingerprint() == before


def test_duplicate_ids_in_different_chunks_are_both_reported(app: Flask, same_chunks: None) -> None:
    """An external id repeated thousands of lines later is found, with both line numbers."""
    from assembly.membership.imports import RosterRefused
    from assembly.membership.imports.importer import READ_CHUNK

    school = make_institution(slug="far-duplicates")
    rows = _people(READ_CHUNK + 10)
    rows.append(rows[3])
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    with pytest.raises(RosterRefused) as refused:
        import_roster(SYSTEM, source, roster(*rows), effective_on=DAY1)
    db.session.rollback()
    lines = [(p.line, p.reason) for p in refused.value.plan.invalid]
    last = len(rows) + 1
    assert lines == [
        (5, f"external_id 'E000003' appears more than once in the file (also line {last})"),
        (last, "external_id 'E000003' appears more than once in the file (also line 5)"),
    ]


def test_the_preview_counts_what_the_import_then_does(app: Flask, same_chunks: None) -> None:
    """Planning (the preview) and applying agree across chunks: people sharing an email in
    one roster are separate people, a person matched by email from another source is linked
    once, and a second row for them is a conflict either way."""
    from assembly.membership.imports import parse_csv, plan_import
    from assembly.membership.imports.importer import READ_CHUNK

    school = make_institution(slug="preview-agrees")
    _import(school, "users", roster(ANN, BOB))
    rows = _people(READ_CHUNK + 500)
    rows[10] = ("W1", "Ann", "Smith", "ann@example.org", "1980-01-02", "")  # linked by email
    rows[READ_CHUNK + 20] = ("W2", "Ann", "Smith", "ann@example.org", "", "")  # her again
    rows[20] = ("W3", "Kim", "Lee", "family@example.org", "", "")
    rows[READ_CHUNK + 30] = ("W4", "Sam", "Lee", "family@example.org", "", "")  # same email
    data = roster(*rows)
    source = ensure_csv_source(SYSTEM, get_constituency(school, "workers"))
    planned = plan_import(
        source, parse_csv(data.decode()), mode="snapshot", effective_on=DAY2
    ).counts()
    db.session.rollback()
    applied, _ = _import(school, "workers", data, day=DAY2)
    assert applied.counts() == planned
    assert planned["new"] == len(rows) - 2 and planned["changed"] == 1  # Ann moves
    assert [p.reason for p in applied.skipped] == ["conflict: the same person is on two rows"]
    lees = db.session.scalars(select(Person).where(Person.family_name == "Lee")).all()
    assert len(lees) == 2
    assert _current(school)["Smith"] == "workers"  # moved: workers take precedence


def test_a_row_with_a_control_character_is_refused_with_a_message() -> None:
    """A value holding a control character (NUL, which PostgreSQL's text cannot store, or
    another) is a row problem naming the field, and the problem itself holds none."""
    from assembly.membership.imports.rows import RowProblem, parse_row

    for bad in ("\x00", "E\x07", "\x1b[0m"):
        problem = parse_row(3, {"external_id": bad, "given_name": "Ann", "family_name": "Lee"})
        assert isinstance(problem, RowProblem)
        assert (
            problem.reason
            == "external_id holds a control character, which no roster value may hold"
        )
        assert "\x00" not in problem.external_id and "\x07" not in problem.external_id
    named = parse_row(4, {"external_id": "E9", "given_name": "A\x00n", "family_name": "Lee"})
    assert isinstance(named, RowProblem) and named.reason.startswith("given_name holds")
