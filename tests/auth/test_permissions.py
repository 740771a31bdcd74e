"""The view decorators on probe pages: ``election_view`` and ``assembly_view`` (both
``object_view``) load the institution, the object and its parts, check the visitor and the
state in a fixed order, and answer as the real pages always have."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask, flash, g, redirect
from flask.testing import FlaskClient

from assembly.assemblies.access import assembly_view, can_chair
from assembly.assemblies.models import Assembly, AssemblyCandidate
from assembly.assemblies.states import AssemblyState
from assembly.auth.models import Role, User
from assembly.auth.permissions import PUBLIC, SIGNED_IN, institution_view, is_returning_officer
from assembly.elections.access import election_view
from assembly.elections.models import Candidate, Contest, Election
from assembly.elections.states import ElectionState
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.polls.models import PaperBatch
from tests.assemblies.helpers import make_room
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import make_poll

probes = Blueprint("probes", __name__)
BASE = "/probe/<slug>/elections/<int:election_id>"
ASSEMBLY = "/probe/<slug>/assemblies/<int:assembly_id>"


def _said(institution: Institution, thing: Any, **parts: Any) -> str:
    """What a probe answers: the slug and the ids it was handed."""
    named = "".join(f" {name}={part.id}" for name, part in sorted(parts.items()))
    return f"{institution.slug} {type(thing).__name__.lower()}={thing.id}{named}"


@probes.route(BASE + "/officers")
@election_view(Role.secretary, Role.returning_officer)
def for_officers(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/public")
@election_view(PUBLIC)
def for_anyone(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/signed-in")
@election_view(SIGNED_IN)
def for_the_signed_in(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/the-officer")
@election_view(Role.returning_officer, only=is_returning_officer, denied="Only its officer.")
def for_the_officer(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/hidden")
@election_view(PUBLIC, only=is_returning_officer)
def hidden_from_others(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/in-poll")
@election_view(PUBLIC, states={ElectionState.poll_open})
def in_poll(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/in-poll-or-409")
@election_view(PUBLIC, states={ElectionState.poll_open}, not_now="Only while the poll is open.")
def in_poll_or_409(institution: Institution, election: Election) -> str:
    return _said(institution, election)


def _closed(institution: Institution, election: Election) -> Any:
    flash("The poll has closed.")
    return redirect(f"/elsewhere/{election.id}")


@probes.route(BASE + "/in-poll-or-back")
@election_view(PUBLIC, states=lambda e: e.state == ElectionState.poll_open, not_now=_closed)
def in_poll_or_back(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/public-once-closed")
@election_view(Role.secretary, public_in={ElectionState.poll_closed})
def public_once_closed(institution: Institution, election: Election) -> str:
    return _said(institution, election)


@probes.route(BASE + "/contests/<int:contest_id>")
@election_view(PUBLIC)
def a_contest(institution: Institution, election: Election, contest: Contest) -> str:
    return _said(institution, election, contest=contest)


@probes.route(BASE + "/candidates/<int:candidate_id>")
@election_view(PUBLIC)
def a_candidate(institution: Institution, election: Election, candidate: Candidate) -> str:
    return _said(institution, election, candidate=candidate)


@probes.route(BASE + "/contests/<int:contest_id>/batches/<int:batch_id>/<word>")
@election_view(PUBLIC)
def a_batch(
    institution: Institution, election: Election, contest: Contest, batch: PaperBatch, word: str
) -> str:
    return _said(institution, election, contest=contest, batch=batch) + f" word={word}"


@probes.route(ASSEMBLY + "/chair")
@assembly_view(SIGNED_IN, only=can_chair, denied="Only the chair.")
def for_the_chair(institution: Institution, assembly: Assembly) -> str:
    return _said(institution, assembly)


@probes.route(ASSEMBLY + "/noticed")
@assembly_view(
    PUBLIC, states=frozenset(AssemblyState) - {AssemblyState.scheduled}, not_now="Not yet."
)
def once_noticed(institution: Institution, assembly: Assembly) -> str:
    return _said(institution, assembly)


@probes.route(ASSEMBLY + "/candidates/<int:candidate_id>")
@assembly_view(PUBLIC)
def an_assembly_candidate(
    institution: Institution, assembly: Assembly, candidate: AssemblyCandidate
) -> str:
    return _said(institution, assembly, candidate=candidate)


@probes.route("/probe/<slug>/public")
@institution_view(PUBLIC)
def institution_for_anyone(institution: Institution) -> str:
    return institution.slug


@dataclass
class Scene:
    """Two institutions' elections and people, for the probes."""

    institution: Institution
    election: Election
    other: Election
    emails: dict[str, str]

    def url(self, probe: str, election: Election | None = None, slug: str | None = None) -> str:
        election = election or self.election
        return f"/probe/{slug or self.institution.slug}/elections/{election.id}/{probe}"


@pytest.fixture
def scene(app: Flask) -> Scene:
    """The probes on this app, and: a poll with a returning officer, secretary, teller,
    member and admin; another institution's poll and secretary."""
    app.register_blueprint(probes)
    poll = make_poll()
    other = make_poll()
    emails = {
        role: f"{role}-{poll.institution.slug}@example.org"
        for role in ("officer", "secretary", "teller", "member", "admin", "other_secretary")
    }
    officer = make_user(emails["officer"])
    grant(officer, poll.institution, Role.returning_officer)
    grant(make_user(emails["secretary"]), poll.institution, Role.secretary)
    grant(make_user(emails["teller"]), poll.institution, Role.teller)
    grant(make_user(emails["other_secretary"]), other.institution, Role.secretary)
    make_member(poll.institution, email=emails["member"])
    make_user(emails["admin"], admin=True)
    poll.election.returning_officer_id = officer.id
    db.session.commit()
    return Scene(poll.institution, poll.election, other.election, emails)


def _get(client: FlaskClient, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def _goes_to_sign_in(client: FlaskClient, url: str) -> bool:
    response = client.get(url)
    return response.status_code == 302 and bool(
        re.search(r"/sign-in\?next=", response.headers["Location"])
    )


def test_the_view_receives_the_institution_and_its_election(
    scene: Scene, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """A holder of a role named gets the view, handed the institution and the election
    instead of the slug and the id."""
    login_as(scene.emails["secretary"])
    status, body = _get(client, scene.url("officers"))
    assert (status, body) == (200, f"{scene.institution.slug} election={scene.election.id}")


@pytest.mark.parametrize("probe", ["officers", "public", "signed-in"])
def test_an_election_of_another_institution_is_not_found(
    scene: Scene, client: FlaskClient, login_as: Callable[[str], None], probe: str
) -> None:
    """Another institution's election under this institution's address is 404, to its own
    secretary too, and so is an unknown institution."""
    login_as(scene.emails["secretary"])
    assert _get(client, scene.url(probe, election=scene.other))[0] == 404
    assert _get(client, scene.url(probe, slug="no-such-school"))[0] == 404
    assert _get(client, scene.url(probe, election=scene.election))[0] == 200


@pytest.mark.parametrize("probe", ["officers", "signed-in", "the-officer"])
def test_anonymous_visitors_are_sent_to_sign_in_before_anything_is_read(
    scene: Scene, client: FlaskClient, probe: str
) -> None:
    """An anonymous visitor is sent to sign in, even for an election or an institution that
    does not exist; a public view lets them in."""
    assert _goes_to_sign_in(client, scene.url(probe))
    assert _goes_to_sign_in(client, scene.url(probe, election=scene.other))
    assert _goes_to_sign_in(client, scene.url(probe, slug="no-such-school"))
    assert _get(client, scene.url("public"))[0] == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("member", 403),
        ("teller", 403),
        ("other_secretary", 403),
        ("secretary", 200),
        ("officer", 200),
        ("admin", 200),
    ],
)
def test_the_roles_named_and_admins_are_let_through(
    scene: Scene, client: FlaskClient, login_as: Callable[[str], None], who: str, status: int
) -> None:
    """Holders of the roles named in the election's institution, and admins, get the view;
    anyone else signed in is refused (403), a secretary of another institution too."""
    login_as(scene.emails[who])
    assert _get(client, scene.url("officers"))[0] == status


def test_the_role_is_checked_before_the_election_is_read(
    scene: Scene, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """Without the role a visitor is refused (403) whether or not the election is the
    institution's, so the answer does not say which elections exist."""
    login_as(scene.emails["member"])
    assert _get(client, scene.url("officers", election=scene.other))[0] == 403


@pytest.mark.parametrize(
    ("who", "status", "says_why"),
    [("officer", 200, False), ("admin", 403, True), ("secretary", 403, False)],
)
def test_only_refuses_everyone_else_saying_why(
    scene: Scene,
    client: FlaskClient,
    login_as: Callable[[str], None],
    who: str,
    status: int,
    says_why: bool,
) -> None:
    """``only`` lets through whom it names (the election's returning officer); anyone else the
    roles let through, an admin too, is refused (403) with the view's message. Without the
    role the plain refusal comes first, as from any view for that role."""
    login_as(scene.emails[who])
    got, body = _get(client, scene.url("the-officer"))
    assert got == status
    assert ("Only its officer." in body) == says_why


def test_only_without_a_message_hides_the_election(
    scene: Scene, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """``only`` with no ``denied`` message answers 404 to everyone it does not name."""
    assert _get(client, scene.url("hidden"))[0] == 404
    login_as(scene.emails["secretary"])
    assert _get(client, scene.url("hidden"))[0] == 404
    login_as(scene.emails["officer"])
    assert _get(client, scene.url("hidden"))[0] == 200


def test_a_state_not_allowed_is_refused_as_the_view_says(scene: Scene, client: FlaskClient) -> None:
    """In a state it allows the view answers; in another, 404 by default, 409 with its
    message, or the view's own answer (a redirect with a flash message)."""
    for probe in ("in-poll", "in-poll-or-409", "in-poll-or-back"):
        assert _get(client, scene.url(probe))[0] == 200
    scene.election.state = ElectionState.poll_closed
    db.session.commit()
    assert _get(client, scene.url("in-poll"))[0] == 404
    status, body = _get(client, scene.url("in-poll-or-409"))
    assert status == 409 and "Only while the poll is open." in body
    response = client.get(scene.url("in-poll-or-back"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/elsewhere/{scene.election.id}"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("message", "The poll has closed.")]


@pytest.mark.parametrize(
    ("who", "during", "after"),
    [(None, "sign-in", 200), ("member", 403, 200), ("secretary", 200, 200)],
)
def test_public_in_opens_a_view_for_roles_to_everyone_in_those_states(
    scene: Scene,
    client: FlaskClient,
    login_as: Callable[[str], None],
    who: str | None,
    during: int | str,
    after: int,
) -> None:
    """A view for roles with ``public_in`` is anyone's in those states; in any other, an
    anonymous visitor is sent to sign in and anyone without the role refused (403)."""
    if who is not None:
        login_as(scene.emails[who])
    url = scene.url("public-once-closed")
    if during == "sign-in":
        assert _goes_to_sign_in(client, url)
    else:
        assert _get(client, url)[0] == during
    scene.election.state = ElectionState.poll_closed
    db.session.commit()
    assert _get(client, url)[0] == after


def test_parts_must_be_the_elections(scene: Scene, client: FlaskClient) -> None:
    """A contest, candidate or paper batch named in the URL is handed to the view when it is
    the election's (a batch: the contest's), and is 404 when it belongs to another."""
    contest, other_contest = scene.election.contests[0], scene.other.contests[0]
    candidate = db.session.scalars(sa.select(Candidate).where(Candidate.contest == contest)).first()
    other_candidate = db.session.scalars(
        sa.select(Candidate).where(Candidate.contest == other_contest)
    ).first()
    assert candidate is not None and other_candidate is not None
    user = db.session.scalars(sa.select(User)).first()
    assert user is not None
    batches = {
        c.id: PaperBatch(poll_id=c.poll_id, label="Box 1", first_entry="{}", first_by_id=user.id)
        for c in scene.election.contests
    }
    db.session.add_all(batches.values())
    db.session.commit()
    batch, sibling = batches[contest.id], batches[scene.election.contests[1].id]
    base = scene.url("")
    slug, ids = scene.institution.slug, f"election={scene.election.id}"
    assert _get(client, f"{base}contests/{contest.id}") == (
        200,
        f"{slug} {ids} contest={contest.id}",
    )
    assert _get(client, f"{base}contests/{other_contest.id}")[0] == 404
    assert _get(client, f"{base}candidates/{candidate.id}") == (
        200,
        f"{slug} {ids} candidate={candidate.id}",
    )
    assert _get(client, f"{base}candidates/{other_candidate.id}")[0] == 404
    assert _get(client, f"{base}contests/{contest.id}/batches/{batch.id}/hello") == (
        200,
        f"{slug} {ids} batch={batch.id} contest={contest.id} word=hello",
    )
    assert _get(client, f"{base}contests/{contest.id}/batches/{sibling.id}/hello")[0] == 404


def test_a_public_view_reads_the_institution_and_the_election_in_one_query(
    scene: Scene, client: FlaskClient
) -> None:
    """A public or signed-in view (the voters' busy pages) loads the institution and the
    election with one SELECT."""
    url = scene.url("public")
    g.pop("_login_user", None)
    db.session.expunge_all()
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert _get(client, url)[0] == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements[-1:]
    assert " JOIN institutions " in " ".join(statements[-1].split())


@pytest.mark.parametrize(
    "audience",
    [(), (PUBLIC, SIGNED_IN), (PUBLIC, Role.secretary)],
    ids=["nobody", "public-and-signed-in", "public-and-a-role"],
)
def test_a_view_names_one_audience(audience: tuple[Any, ...]) -> None:
    """A view names the roles it lets through, or PUBLIC, or SIGNED_IN: none, or a mix, is a
    mistake found when the module is read."""
    with pytest.raises(TypeError, match="PUBLIC"):
        election_view(*audience)


def test_public_in_is_for_a_view_for_roles() -> None:
    """``public_in`` opens a view for roles in some states: on a public view it is a mistake."""
    with pytest.raises(TypeError, match="public_in"):
        election_view(PUBLIC, public_in={ElectionState.declared})


def test_institution_view_may_be_public(app: Flask, client: FlaskClient) -> None:
    """``institution_view(PUBLIC)`` lets anyone in to a known institution and is 404 for an
    unknown one."""
    app.register_blueprint(probes)
    institution = make_institution()
    assert _get(client, f"/probe/{institution.slug}/public") == (200, institution.slug)
    assert _get(client, "/probe/no-such-school/public")[0] == 404


# --- assemblies ------------------------------------------------------------------------------


@pytest.fixture
def room_app(app: Flask) -> Flask:
    app.register_blueprint(probes)
    return app


def test_an_assembly_of_another_institution_is_not_found_saying_so(
    room_app: Flask, client: FlaskClient
) -> None:
    """An assembly that is not the institution's is 404 saying there is no such assembly
    (as every assembly page says); an unknown institution is a plain 404."""
    room = make_room("probe-hall")
    other = make_room("other-hall")
    status, body = _get(client, f"/probe/probe-hall/assemblies/{other.assembly.id}/noticed")
    assert status == 404 and "There is no such assembly." in body
    status, body = _get(client, f"/probe/no-such-hall/assemblies/{room.assembly.id}/noticed")
    assert status == 404 and "There is no such assembly." not in body
    assert _get(client, f"/probe/probe-hall/assemblies/{room.assembly.id}/noticed")[0] == 200


def test_only_the_chair_runs_the_assembly(
    room_app: Flask, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """The secretary and the assembly's returning officer chair it; a teller is refused
    (403) with the view's message; an anonymous visitor is sent to sign in first."""
    room = make_room("chair-hall")
    url = f"/probe/chair-hall/assemblies/{room.assembly.id}/chair"
    assert _goes_to_sign_in(client, url)
    for user, status in ((room.teller, 403), (room.secretary, 200), (room.officer, 200)):
        login_as(user.email)
        got, body = _get(client, url)
        assert got == status
        assert ("Only the chair." in body) == (status == 403)


def test_the_returning_officer_of_another_assembly_does_not_chair_this_one(
    room_app: Flask, client: FlaskClient, login_as: Callable[[str], None]
) -> None:
    """A returning officer of the institution who is not this assembly's is refused (403)."""
    room = make_room("second-hall")
    officer = make_user("another.officer@second-hall.org")
    grant(officer, room.institution, Role.returning_officer)
    login_as(officer.email)
    assert _get(client, f"/probe/second-hall/assemblies/{room.assembly.id}/chair")[0] == 403


def test_an_assembly_in_a_state_not_allowed_is_refused_saying_why(
    room_app: Flask, client: FlaskClient
) -> None:
    """Before its notice the probe allowing noticed assemblies answers 409 with its message."""
    room = make_room("early-hall", open_it=False)
    room.assembly.state = AssemblyState.scheduled
    db.session.commit()
    status, body = _get(client, f"/probe/early-hall/assemblies/{room.assembly.id}/noticed")
    assert status == 409 and "Not yet." in body


def test_an_assembly_candidate_must_stand_at_that_assembly(
    room_app: Flask, client: FlaskClient
) -> None:
    """A candidate named in the URL is handed to the view when they stand at the assembly,
    and is 404 when they stand at another."""
    room = make_room("cand-hall")
    other = make_room("cand-other")
    mine, theirs = room.candidates[0], other.candidates[0]
    base = f"/probe/cand-hall/assemblies/{room.assembly.id}/candidates"
    assert _get(client, f"{base}/{mine.id}") == (
        200,
        f"cand-hall assembly={room.assembly.id} candidate={mine.id}",
    )
    assert _get(client, f"{base}/{theirs.id}")[0] == 404
