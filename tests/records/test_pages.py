"""The record pages: the deployment's keys; a counted election's record (shown to its officers
from the count and to everyone once declared), its download and its countersignature by the
returning officer; the returning officer's signing key; and the verify page, which checks a
published or uploaded record, a receipt and a tracker, and stores nothing."""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, g
from flask.testing import FlaskClient

from assembly.auth.actors import CLI, SYSTEM
from assembly.auth.models import Role, User
from assembly.auth.operations import issue_sign_in_link
from assembly.elections.count import count_election, declare_election
from assembly.elections.models import Election
from assembly.elections.record import get_record
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.records import operations as record_operations
from assembly.records.operations import current_signing_key, published, rotate_signing_key
from assembly.records.record import body_sha256, signature_file
from assembly.records.signing import fingerprint, group_fingerprint, public_key_text
from assembly.records.verify import verify_record
from assembly.records.views import verifying
from tests.conftest import grant, make_institution, make_user
from tests.elections.polls import OFFICER_KEY, OFFICER_PUBLIC_KEY, Poll, countersign, make_poll
from tests.membership.test_imports import database_fingerprint

SLUG = "record-school"
#: The voters' ballots, as indexes into the workers' candidates (Zoe Adams, Amy Brown, Bob
#: Adams, in the order made): first preference first.
RANKINGS = ((2, 0), (0,), (1, 2, 0))


@dataclass
class Counted:
    """An election whose voters voted online, with what each voter's browser kept."""

    poll: Poll
    officer: User
    secretary: User
    #: voter email → their tracker
    trackers: dict[str, str] = field(default_factory=dict)
    #: voter email → their signed receipt, as downloaded
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def election(self) -> Election:
        return self.poll.election

    @property
    def url(self) -> str:
        return f"/records/{self.poll.election.id}"


class Browser(FlaskClient):
    """One person's browser. The tests' app context outlives requests, and Flask-Login caches
    the signed-in user in its ``g``: each request forgets it, as a new request in production
    would, so that the browser's own session says who is signed in."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def _browser(app: Flask) -> Browser:
    """A new browser, signed in as nobody."""
    return Browser(app, app.response_class, use_cookies=True)


@pytest.fixture
def client(app: Flask) -> Browser:
    """An anonymous visitor's browser."""
    return _browser(app)


def _signed_in(app: Flask, email: str) -> Browser:
    """A new browser signed in as ``email`` through a sign-in link."""
    client = _browser(app)
    link = re.sub(r"^https?://[^/]+", "", issue_sign_in_link(CLI, email))
    db.session.commit()
    assert client.post(link).status_code == 302
    return client


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _polled(app: Flask) -> Counted:
    """A poll (one contest, workers) in which three members voted online, now closed."""
    poll = make_poll(make_institution(slug=SLUG, name="Record School"), keys=("workers",))
    officer = make_user(f"ro@{SLUG}.org", name="Rita Officer")
    secretary = make_user(f"sec@{SLUG}.org", name="Sam Secretary")
    grant(officer, poll.institution, Role.returning_officer)
    grant(secretary, poll.institution, Role.secretary)
    poll.election.returning_officer_id = officer.id
    db.session.commit()
    counted = Counted(poll=poll, officer=officer, secretary=secretary)
    candidates = poll.candidates["workers"]
    base = f"/institutions/{SLUG}/elections/{poll.election.id}/vote"
    for email, ranking in zip(poll.voters["workers"], RANKINGS, strict=True):
        voter = _signed_in(app, email)
        marks = {f"pref-{candidates[i].id}": str(n) for n, i in enumerate(ranking, start=1)}
        assert voter.post(f"{base}/cast", data=marks).status_code == 302
        receipt = voter.get(f"{base}/receipt.json")
        assert receipt.status_code == 200
        counted.receipts[email] = receipt.get_json()
        counted.trackers[email] = counted.receipts[email]["receipt"]["tracker"]
    db.session.rollback()
    poll.election.state = ElectionState.poll_closed
    db.session.commit()
    return counted


def _counted(app: Flask) -> Counted:
    """``_polled``, counted by the returning officer: the record is issued."""
    counted = _polled(app)
    # As in a fresh server process, the key is unlocked while the record is being signed
    # (reading the database then must not flush a half-made record row).
    record_operations._UNLOCKED.clear()
    count_election(counted.officer, counted.election)
    db.session.commit()
    return counted


def _declared(app: Flask) -> Counted:
    """``_counted``, countersigned and declared."""
    counted = _counted(app)
    countersign(counted.election)
    declare_election(counted.officer, counted.election)
    db.session.commit()
    return counted


def _record(counted: Counted) -> dict[str, Any]:
    row = get_record(counted.election)
    assert row is not None
    return published(row)


def _file(data: bytes | dict[str, Any] | list[Any], name: str) -> tuple[io.BytesIO, str]:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return io.BytesIO(raw), name


STEP = re.compile(
    r'<li id="step-(\d+)"[^>]*>\s*<p[^>]*><strong class="govuk-tag[^"]*">(PASS|FAIL)</strong>'
    r" Step \d+: ([^<]*)</p>"
)


def _steps(page: str) -> dict[int, tuple[str, str]]:
    """step number → (PASS or FAIL, name), as the verify page shows them."""
    return {int(n): (verdict, name) for n, verdict, name in STEP.findall(page)}


# --- keys ---------------------------------------------------------------------------------------


def test_the_keys_page_says_when_there_is_no_key_yet(app: Flask, client: FlaskClient) -> None:
    """Before the first election is approved the deployment has no key, and the page says so."""
    page = _text(client.get("/keys"))
    assert "This service has no election key yet" in page
    assert "The returning officer’s own key" in page


def test_the_keys_page_lists_every_key_newest_first(app: Flask, client: FlaskClient) -> None:
    """Anyone sees every election key, the current one first and the retired one still listed,
    with its fingerprint in groups of four, its base64 public key and its dates."""
    old = current_signing_key(SYSTEM)
    db.session.commit()
    new = rotate_signing_key(SYSTEM)
    db.session.commit()
    response = client.get("/keys")
    assert response.status_code == 200
    page = _text(response)
    assert page.index(f'id="key-{new.id}"') < page.index(f'id="key-{old.id}"')
    for key in (old, new):
        assert group_fingerprint(key.fingerprint) in page
        assert key.public_key in page
    current, retired = page.split(f'id="key-{old.id}"')
    assert "Current key" in current and "Retired key" in retired
    assert "In use: new elections sign with it" in current
    assert "each election record names the election key" in page.lower()
    assert "no election key yet" not in page


# --- the record page ----------------------------------------------------------------------------


def test_the_record_page_is_not_found_before_the_count(app: Flask, client: FlaskClient) -> None:
    """A closed poll has no record yet: 404 even for its returning officer; so is an unknown
    election."""
    counted = _polled(app)
    officer = _signed_in(app, counted.officer.email)
    assert officer.get(counted.url).status_code == 404
    assert officer.get(f"{counted.url}.json").status_code == 404
    assert officer.get("/records/9999").status_code == 404
    assert client.get(counted.url).status_code == 404


def test_a_counted_record_is_for_the_officers_until_the_declaration(
    app: Flask, client: FlaskClient
) -> None:
    """From the count, the secretary and the returning officer see the record (the result is
    not public yet); once declared, everyone does."""
    counted = _counted(app)
    assert client.get(counted.url).status_code == 404
    assert client.get(f"{counted.url}.json").status_code == 404
    member = _signed_in(app, counted.poll.voters["workers"][0])
    assert member.get(counted.url).status_code == 404
    for user in (counted.secretary, counted.officer):
        assert _signed_in(app, user.email).get(counted.url).status_code == 200
    countersign(counted.election)
    declare_election(counted.officer, counted.election)
    db.session.commit()
    assert client.get(counted.url).status_code == 200
    assert client.get(f"{counted.url}.json").status_code == 200


def test_the_record_page_shows_counts_roots_and_keys_not_ballots(
    app: Flask, client: FlaskClient
) -> None:
    """The page names the institution and election, both keys' fingerprints, each contest's
    roll and ballots (counts and Merkle roots), who is elected, the body hash and whether it
    is countersigned, with links to download, verify and the result; no ballot or tracker."""
    counted = _declared(app)
    record = _record(counted)
    body = record["body"]
    contest = body["contests"][0]
    page = _text(client.get(counted.url))
    assert "Record School" in page and "Election record: Election of governors" in page
    assert group_fingerprint(body["keys"]["election"]["fingerprint"]) in page
    assert group_fingerprint(body["keys"]["returning_officer"]["fingerprint"]) in page
    assert record["body_sha256"] in page
    assert contest["roll"]["merkle_root"] in page and contest["ballots"]["merkle_root"] in page
    assert "3 voter(s)" in page and "3 ballot(s)" in page
    names = {c["id"]: c["ballot_name"] for c in contest["candidates"]}
    elected = page.split(">Elected<", 1)[1]
    for candidate_id in contest["elected"]:
        assert names[candidate_id] in elected
    assert "Countersigned" in page and "Not yet countersigned" not in page
    assert f'href="/records/{counted.election.id}.json"' in page
    assert f'href="/verify?election={counted.election.id}"' in page
    assert f"/institutions/{SLUG}/elections/{counted.election.id}/results" in page
    for tracker in counted.trackers.values():
        assert tracker not in page
    assert "Countersign the record" not in page  # nobody countersigns a declared record


def test_the_download_is_the_published_record(app: Flask, client: FlaskClient) -> None:
    """The JSON download is an attachment holding the published record (both signatures once
    countersigned), indented."""
    counted = _declared(app)
    response = client.get(f"{counted.url}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="record-{SLUG}-{counted.election.id}.json"'
    )
    document = json.loads(response.get_data())
    assert document == _record(counted)
    assert [s["role"] for s in document["signatures"]] == ["election", "returning_officer"]
    assert response.get_data(as_text=True).startswith('{\n "body": {\n  "audit"')


# --- countersigning -----------------------------------------------------------------------------


def _sig(counted: Counted, key: Ed25519PrivateKey = OFFICER_KEY, digest: str = "") -> bytes:
    row = get_record(counted.election)
    assert row is not None
    return json.dumps(signature_file("returning_officer", digest or row.body_sha256, key)).encode()


def test_only_the_returning_officer_sees_the_countersign_form(app: Flask) -> None:
    """The form is on the counted record's page for its returning officer only; the
    secretary (and an admin) are refused by the upload."""
    counted = _counted(app)
    officer = _signed_in(app, counted.officer.email)
    page = _text(officer.get(counted.url))
    assert "Countersign the record" in page and "Not yet countersigned" in page
    assert f"assembly record sign record-{SLUG}-{counted.election.id}.json --key ro.key" in page
    assert "--out record.sig" in page
    secretary = _signed_in(app, counted.secretary.email)
    assert "Countersign the record" not in _text(secretary.get(counted.url))
    for browser in (secretary, _signed_in(app, make_user("admin@example.org", admin=True).email)):
        upload = {"signature": _file(_sig(counted), "record.sig")}
        assert browser.post(f"{counted.url}/countersign", data=upload).status_code == 403
    anonymous = _browser(app)
    assert anonymous.post(f"{counted.url}/countersign").status_code == 302


def test_the_officer_countersigns_with_the_file_record_sign_wrote(app: Flask) -> None:
    """A signature made with the officer's registered key over the record's body hash is
    stored; the page says so and sends them to the result to declare, where declaring now
    works; the form is gone and a second upload is refused."""
    counted = _counted(app)
    officer = _signed_in(app, counted.officer.email)
    results = f"/institutions/{SLUG}/elections/{counted.election.id}/results"
    assert "The record must be countersigned before you declare" in _text(officer.get(results))
    response = officer.post(
        f"{counted.url}/countersign", data={"signature": _file(_sig(counted), "record.sig")}
    )
    assert response.status_code == 302 and response.headers["Location"] == counted.url
    page = _text(officer.get(counted.url))
    assert "You countersigned the record" in page
    assert "check and declare the result" in page and results in page
    assert "Countersign the record" not in page
    db.session.rollback()
    row = get_record(counted.election)
    assert row is not None and row.officer_signature and row.countersigned_at is not None
    assert _record(counted)["signatures"][1]["role"] == "returning_officer"
    again = officer.post(
        f"{counted.url}/countersign", data={"signature": _file(_sig(counted), "record.sig")}
    )
    assert again.status_code == 409
    assert "The record must be countersigned" not in _text(officer.get(results))
    assert (
        officer.post(f"/institutions/{SLUG}/elections/{counted.election.id}/declare").status_code
        == 302
    )
    db.session.rollback()
    assert counted.election.state == ElectionState.declared


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ("wrong_key", "made with a key other than the one you registered"),
        ("wrong_record", "for a different record"),
        ("not_json", "is not JSON"),
        ("too_big", "larger than 64 KB"),
        ("empty", "is empty"),
        ("a_list", "not an object"),
        ("a_receipt", "not a signature made by `assembly record sign`"),
        ("no_file", "Choose the .sig file"),
    ],
)
def test_a_wrong_signature_file_is_refused_and_nothing_is_stored(
    app: Flask, upload: str, message: str
) -> None:
    """A signature by another key, of another record, or a file that is not a signature at
    all is refused on the form (400) with what to do, and the database is unchanged."""
    counted = _counted(app)
    officer = _signed_in(app, counted.officer.email)
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    files = {
        "wrong_key": _sig(counted, key=other_key),
        "wrong_record": _sig(counted, digest="ab" * 32),
        "not_json": b"-----BEGIN PRIVATE KEY-----\n",
        "too_big": b" " * (64 * 1024 + 1),
        "empty": b"",
        "a_list": b"[1, 2]",
        "a_receipt": json.dumps(next(iter(counted.receipts.values()))).encode(),
    }
    data = {"signature": _file(files[upload], "record.sig")} if upload in files else {}
    db.session.rollback()
    before = database_fingerprint()
    response = officer.post(f"{counted.url}/countersign", data=data)
    assert response.status_code == 400
    page = _text(response)
    assert message in page
    assert "There is a problem" in page and 'class="govuk-error-summary"' in page
    db.session.rollback()
    assert database_fingerprint() == before


def test_an_upload_over_the_request_limit_is_answered_on_the_form(app: Flask) -> None:
    """A file over the app's request limit is refused (413) with the form and the limit."""
    counted = _counted(app)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    officer = _signed_in(app, counted.officer.email)
    response = officer.post(
        f"{counted.url}/countersign", data={"signature": _file(b"x" * 10_000, "record.sig")}
    )
    assert response.status_code == 413
    assert "larger than 4 KB" in _text(response)
    verify = _browser(app).post("/verify", data={"record": _file(b"x" * 10_000, "r.json")})
    assert verify.status_code == 413
    assert "larger than 4 KB" in _text(verify) and "Verify an election record" in _text(verify)


# --- the returning officer's key ----------------------------------------------------------------


def _draft_election(officer: User) -> Election:
    poll = make_poll(make_institution(slug=SLUG, name="Record School"), keys=("workers",))
    grant(officer, poll.institution, Role.returning_officer)
    election = poll.election
    election.state = ElectionState.draft
    election.returning_officer_id = officer.id
    election.officer_public_key = ""
    election.officer_fingerprint = ""
    db.session.commit()
    return election


def test_the_officer_registers_their_key(app: Flask) -> None:
    """The page says no key is registered; a bad key is refused on the form (400) with what
    to paste; the .pub line registers and its fingerprint is shown, here and on the
    election's page."""
    officer = make_user(f"ro@{SLUG}.org")
    election = _draft_election(officer)
    url = f"/institutions/{SLUG}/elections/{election.id}/officer-key"
    browser = _signed_in(app, officer.email)
    page = _text(browser.get(url))
    assert "Not registered yet" in page and "assembly keys generate --out ro.key" in page
    election_page = f"/institutions/{SLUG}/elections/{election.id}"
    assert "Register your signing key" in _text(browser.get(election_page))
    bad = browser.post(url, data={"public_key": "not a key"})
    assert bad.status_code == 400
    assert "That is not a public key made by `assembly keys generate`" in _text(bad)
    empty = browser.post(url, data={"public_key": "  "})
    assert empty.status_code == 400 and "Paste your public key" in _text(empty)
    db.session.rollback()
    assert election.officer_public_key == ""
    response = browser.post(url, data={"public_key": f"  {OFFICER_PUBLIC_KEY}\n"})
    assert response.status_code == 302
    page = _text(browser.get(url))
    assert "Your signing key is registered" in page
    db.session.rollback()
    assert election.officer_public_key == OFFICER_PUBLIC_KEY
    assert election.officer_fingerprint == fingerprint(OFFICER_PUBLIC_KEY)
    assert group_fingerprint(election.officer_fingerprint) in page
    assert group_fingerprint(election.officer_fingerprint) in _text(browser.get(election_page))
    again = browser.post(url, data={"public_key": OFFICER_PUBLIC_KEY})
    assert again.status_code == 302
    assert "nothing changed" in _text(browser.get(url))


def test_only_the_election_officer_registers_and_only_before_the_poll(app: Flask) -> None:
    """Another returning officer of the institution and an admin are refused (403); once the
    poll opens the key is shown but fixed, and a new one is refused (409)."""
    officer = make_user(f"ro@{SLUG}.org")
    election = _draft_election(officer)
    url = f"/institutions/{SLUG}/elections/{election.id}/officer-key"
    other = make_user("other-ro@example.org")
    grant(other, election.institution, Role.returning_officer)
    assert _signed_in(app, other.email).get(url).status_code == 403
    admin = make_user("admin@example.org", admin=True)
    assert (
        _signed_in(app, admin.email).post(url, data={"public_key": OFFICER_PUBLIC_KEY}).status_code
        == 403
    )
    assert _browser(app).get(url).status_code == 302
    election.state = ElectionState.poll_open
    election.officer_public_key = OFFICER_PUBLIC_KEY
    election.officer_fingerprint = fingerprint(OFFICER_PUBLIC_KEY)
    db.session.commit()
    browser = _signed_in(app, officer.email)
    page = _text(browser.get(url))
    assert "your key is fixed" in page and "Register my key" not in page
    assert group_fingerprint(election.officer_fingerprint) in page
    other_key = public_key_text(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    assert browser.post(url, data={"public_key": other_key}).status_code == 409
    assert _browser(app).get(f"/institutions/{SLUG}/elections/{election.id}").status_code == 302


# --- verify -------------------------------------------------------------------------------------


def test_the_verify_page_without_records(app: Flask, client: FlaskClient) -> None:
    """With nothing published the page offers an upload only; an empty check asks for a
    record."""
    page = _text(client.get("/verify"))
    assert "No election records are published yet" in page
    response = client.post("/verify", data={})
    assert response.status_code == 400
    page = _text(response)
    assert "Choose a published record, or upload a record file" in page
    assert 'href="#record"' in page and 'id="record"' in page  # the summary links to the field


def test_a_published_record_passes_every_step(app: Flask, client: FlaskClient) -> None:
    """An anonymous visitor chooses the declared election's record: all seven steps are
    shown, numbered, each PASS; the keys are those this service holds for the election."""
    counted = _declared(app)
    page = _text(client.get("/verify"))
    assert f'<option value="{counted.election.id}">Record School: Election of governors' in page
    response = client.post("/verify", data={"election": str(counted.election.id)})
    assert response.status_code == 200
    page = _text(response)
    steps = _steps(page)
    assert sorted(steps) == [1, 2, 3, 4, 5, 6, 7]
    assert {verdict for verdict, _ in steps.values()} == {"PASS"}
    assert steps[7][1] == "Recount"
    assert "Every check passed" in page and "FAIL" not in page
    assert "the keys this service holds for that election" in page
    # The record page's "verify" link runs the same checks.
    linked = _text(client.get(f"/verify?election={counted.election.id}"))
    assert _steps(linked) == steps


def test_a_published_record_is_read_and_recounted_once_per_process(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verify page keeps its report on a published record: a second look at the same
    record (up to a million ballots) neither reads nor recounts it again."""
    counted = _declared(app)
    url = f"/verify?election={counted.election.id}"
    first = _steps(_text(client.get(url)))
    assert {verdict for verdict, _ in first.values()} == {"PASS"}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the record was read again")

    monkeypatch.setattr(verifying, "published", refuse)
    monkeypatch.setattr(verifying, "verify_record", refuse)
    assert _steps(_text(client.get(url))) == first


def test_a_tampered_upload_names_the_failing_step(app: Flask, client: FlaskClient) -> None:
    """A downloaded record with one ballot changed fails at the body hash (step 2); with the
    hash made again to match, at the election's signature (step 3)."""
    counted = _declared(app)
    record = json.loads(client.get(f"{counted.url}.json").get_data())
    ballot = record["body"]["contests"][0]["ballots"]["items"][0]
    candidates = [c["id"] for c in record["body"]["contests"][0]["candidates"]]
    ranking = ballot["ranking"]
    other = candidates[1] if ranking == candidates[:1] else candidates[0]
    ballot["ranking"] = ranking[::-1] if len(ranking) > 1 else [other]
    response = client.post("/verify", data={"record": _file(record, "record.json")})
    assert response.status_code == 200
    page = _text(response)
    steps = _steps(page)
    assert steps[1][0] == "PASS" and steps[2] == ("FAIL", "Body hash")
    verdict = page.split('id="verdict"', 1)[1].split("</div>", 1)[0]
    assert "steps failed: 2 (Body hash), 3 (Election signature)" in verdict
    assert "the body was changed after it was hashed" in page
    record["body_sha256"] = body_sha256(record["body"])
    page = _text(client.post("/verify", data={"record": _file(record, "record.json")}))
    steps = _steps(page)
    assert steps[2][0] == "PASS" and steps[3] == ("FAIL", "Election signature")
    assert "the file record.json" in page


def test_a_voter_finds_their_ballot_by_tracker(app: Flask, client: FlaskClient) -> None:
    """A tracker, typed in lower case, is found: the page names the contest and the ranking
    as candidate names in order, and step 8 passes; an unknown tracker is not found."""
    counted = _declared(app)
    email = counted.poll.voters["workers"][2]
    tracker = counted.trackers[email]
    response = client.post(
        "/verify", data={"election": str(counted.election.id), "tracker": tracker.lower()}
    )
    page = _text(response)
    steps = _steps(page)
    assert steps[8] == ("PASS", "Tracker")
    found = page.split('id="tracker-result"', 1)[1]
    assert "Your ballot is in the Workers contest, with this ranking:" in found
    candidates = counted.poll.candidates["workers"]
    ranked = [candidates[i].ballot_name for i in RANKINGS[2]]
    positions = [found.index(f"<li>{name}</li>") for name in ranked]
    assert positions == sorted(positions)
    missing = _text(
        client.post(
            "/verify",
            data={"election": str(counted.election.id), "tracker": "2222-3333-4444-5555"},
        )
    )
    assert "Tracker 2222-3333-4444-5555 is not in this record" in missing
    assert _steps(missing)[8][0] == "FAIL"


def test_a_receipt_from_the_receipt_page_checks_against_the_published_record(
    app: Flask, client: FlaskClient
) -> None:
    """The receipt a voter downloaded when they voted verifies against the published record
    (step 8 PASS); the same receipt with its ballot hash changed fails step 8."""
    counted = _declared(app)
    receipt = next(iter(counted.receipts.values()))
    page = _text(
        client.post(
            "/verify",
            data={
                "election": str(counted.election.id),
                "receipt": _file(receipt, "receipt.json"),
            },
        )
    )
    steps = _steps(page)
    assert steps[8] == ("PASS", "Receipt") and "Every check passed" in page
    forged = json.loads(json.dumps(receipt))
    forged["receipt"]["ballot_hash"] = "0" * 64
    page = _text(
        client.post(
            "/verify",
            data={"election": str(counted.election.id), "receipt": _file(forged, "receipt.json")},
        )
    )
    assert _steps(page)[8] == ("FAIL", "Receipt")
    assert "Step 8 failed: Receipt" in page


def test_the_officer_verifies_with_their_detached_signature_before_uploading_it(
    app: Flask,
) -> None:
    """Before countersigning, the record lacks the officer's signature (step 4 FAILs); with
    the .sig file given beside it, step 4 passes. The public cannot verify it yet (404)."""
    counted = _counted(app)
    assert _browser(app).get(f"/verify?election={counted.election.id}").status_code == 404
    assert f'value="{counted.election.id}"' not in _browser(app).get("/verify").text
    officer = _signed_in(app, counted.officer.email)
    page = _text(officer.get(f"/verify?election={counted.election.id}"))
    assert "(counted, not yet declared)" in page
    assert _steps(page)[4][0] == "FAIL" and "not countersigned" in page
    page = _text(
        officer.post(
            "/verify",
            data={
                "election": str(counted.election.id),
                "signature": _file(_sig(counted), "record.sig"),
            },
        )
    )
    assert _steps(page)[4][0] == "PASS" and "Every check passed" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"record": b"{not json"}, "The record file is not JSON"),
        ({"record": b"[]"}, "The record file holds JSON, but not an object"),
        ({"election": "chosen", "record": b"{}"}, "not both"),
        ({"election": "chosen", "receipt": b"\xff\xfe"}, "The receipt is not JSON"),
        ({"election": "chosen", "signature": b" " * 70_000}, "larger than 64 KB"),
        ({"election": "chosen", "tracker": "x" * 41}, "A tracker has 19 characters"),
        ({"election": "99999"}, "Not a valid choice"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, data: dict[str, Any], message: str
) -> None:
    """A file that cannot be read, or a choice that makes no sense, is refused on the form
    (400) with the reason; the page never writes to the database."""
    counted = _declared(app)
    form: dict[str, Any] = {}
    for name, value in data.items():
        if name in {"record", "receipt", "signature"}:
            form[name] = _file(value, f"{name}.json")
        elif value == "chosen":
            form[name] = str(counted.election.id)
        else:
            form[name] = value
    db.session.rollback()
    before = database_fingerprint()
    response = client.post("/verify", data=form)
    assert response.status_code == 400
    page = _text(response)
    assert message in page and 'class="govuk-error-summary"' in page
    assert 'id="steps"' not in page
    db.session.rollback()
    assert database_fingerprint() == before


def test_checking_a_record_stores_nothing(app: Flask, client: FlaskClient) -> None:
    """A full check with a receipt and a tracker leaves the database as it was."""
    counted = _declared(app)
    email = counted.poll.voters["workers"][0]
    db.session.rollback()
    before = database_fingerprint()
    response = client.post(
        "/verify",
        data={
            "election": str(counted.election.id),
            "receipt": _file(counted.receipts[email], "receipt.json"),
            "tracker": counted.trackers[email],
        },
    )
    assert response.status_code == 200 and "Every check passed" in _text(response)
    db.session.rollback()
    assert database_fingerprint() == before


# --- links from the election's pages ------------------------------------------------------------


def test_the_election_and_result_pages_link_to_the_record(app: Flask) -> None:
    """After the count the election and result pages link to the record; the returning
    officer's election page shows their key's fingerprint."""
    counted = _counted(app)
    officer = _signed_in(app, counted.officer.email)
    base = f"/institutions/{SLUG}/elections/{counted.election.id}"
    page = _text(officer.get(base))
    assert "Election record: download and verify" in page and counted.url in page
    assert "Your signing key" in page
    assert group_fingerprint(counted.election.officer_fingerprint) in page
    results = _text(officer.get(f"{base}/results"))
    assert "Election record: download and verify" in results
    secretary = _signed_in(app, counted.secretary.email)
    assert "Your signing key" not in _text(secretary.get(base))
    assert "must be countersigned" not in _text(secretary.get(f"{base}/results"))


def test_records_of_other_elections_stay_apart(app: Flask) -> None:
    """A record's election is looked up by id: another institution's officer gets 404 for a
    counted record that is not theirs."""
    counted = _counted(app)
    other = make_institution(slug="elsewhere")
    stranger = make_user("ro@elsewhere.org")
    grant(stranger, other, Role.returning_officer)
    browser = _signed_in(app, stranger.email)
    assert browser.get(counted.url).status_code == 404
    assert browser.get(f"/verify?election={counted.election.id}").status_code == 404


# --- roll proofs --------------------------------------------------------------------------------


def test_a_voter_fetches_their_roll_proof_and_it_verifies(app: Flask) -> None:
    """A member on the roll sees their elector number, checked against the record's roll
    root, and downloads a proof that `verify_record` accepts against the published record;
    the page names nobody else."""
    counted = _declared(app)
    email, other = counted.poll.voters["workers"][0], counted.poll.voters["workers"][1]
    voter = _signed_in(app, email)
    record_page = _text(voter.get(counted.url))
    assert "Check you were on the roll" in record_page
    page = _text(voter.get(f"{counted.url}/roll-proof"))
    contest = counted.poll.contests["workers"]
    assert "Checked: your entry is in the roll the signed record commits to." in page
    assert email in page and other not in page
    download = voter.get(f"{counted.url}/roll-proof/{contest.id}.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    proof = download.get_json()
    assert proof["email"] == email and proof["contest"] == contest.id
    assert f'id="elector-{contest.id}">{proof["number"]}<' in page
    report = verify_record(_record(counted), roll_proof=proof)
    assert report.ok and report.step(9).passed
    # The same check on the verify page, with the file uploaded.
    checked = _text(
        voter.post(
            "/verify",
            data={"election": str(counted.election.id), "roll_proof": _file(proof, "p.json")},
        )
    )
    assert _steps(checked)[9] == ("PASS", "Roll proof")
    forged = {**proof, "salt": "0" * 32}
    checked = _text(
        voter.post(
            "/verify",
            data={"election": str(counted.election.id), "roll_proof": _file(forged, "p.json")},
        )
    )
    assert _steps(checked)[9] == ("FAIL", "Roll proof")


def test_a_member_not_on_the_roll_is_told_so_and_gets_no_file(app: Flask) -> None:
    """The secretary (not on the roll) sees that they were not on it; no proof file exists
    for them, and an anonymous visitor is sent to sign in."""
    counted = _declared(app)
    secretary = _signed_in(app, counted.secretary.email)
    page = _text(secretary.get(f"{counted.url}/roll-proof"))
    assert f"{counted.secretary.email} is not on the roll of this election" in page
    contest = counted.poll.contests["workers"]
    assert secretary.get(f"{counted.url}/roll-proof/{contest.id}.json").status_code == 404
    assert _browser(app).get(f"{counted.url}/roll-proof").status_code == 302


def test_no_roll_proof_before_the_record_is_public(app: Flask) -> None:
    """Before the declaration a voter cannot see the record, nor their proof from it."""
    counted = _counted(app)
    voter = _signed_in(app, counted.poll.voters["workers"][0])
    contest = counted.poll.contests["workers"]
    assert voter.get(f"{counted.url}/roll-proof").status_code == 404
    assert voter.get(f"{counted.url}/roll-proof/{contest.id}.json").status_code == 404
