"""Access control: every route × every kind of visitor → the expected status.

The table below must name every route in ``app.url_map`` and every method it accepts; a
new route without an entry fails ``test_every_route_has_an_expectation``.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from assembly.auth.actors import CLI
from assembly.auth.models import Role, RoleGrant, User
from assembly.auth.operations import issue_sign_in_link
from assembly.elections.models import CountMethod
from assembly.extensions import db
from tests.conftest import grant, make_institution, make_member, make_user

ROLES = (
    "anonymous",
    "member_other",
    "member",
    "teller",
    "secretary_other",
    "secretary",
    "returning_officer",
    "admin",
)

# Shorthands: who gets what.
ALL_200 = dict.fromkeys(ROLES, 200)
SIGNED_IN_200 = {**dict.fromkeys(ROLES, 200), "anonymous": 302}
ADMIN_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": 302, "admin": 200}
SECRETARY = {**dict.fromkeys(ROLES, 403), "anonymous": 302, "secretary": 200, "admin": 200}
OFFICERS = {**SECRETARY, "returning_officer": 200}
#: The member of the target institution only (their own nomination).
MEMBER = {**dict.fromkeys(ROLES, 403), "anonymous": 302, "member": 200}
#: The election's returning officer only (an admin is refused by the view, as by operations).
THE_OFFICER = {**dict.fromkeys(ROLES, 403), "anonymous": 302, "returning_officer": 200}
#: Endpoints tried on the scenario's election that is open for nominations.
ON_OPEN_ELECTION = {
    "elections.nomination",
    "elections.nomination_new",
    "elections.nomination_withdraw",
    "elections.nominations",
    "elections.nomination_decide",
    "elections.statement_of_candidates",
}
#: Endpoints tried on the scenario's election whose poll is open (the member is on its roll).
ON_POLL_ELECTION = {
    "elections.vote",
    "elections.vote_cast",
    "elections.vote_receipt",
    "elections.vote_receipt_file",
    "elections.vote_encrypted",
    "elections.vote_audit",
    "elections.trackers",
    "elections.turnout",
}
#: Endpoints tried on the scenario's counted election (its record issued, not countersigned).
ON_COUNTED_ELECTION = {
    "elections.record",
    "elections.record_json",
    "elections.record_countersign",
    "elections.roll_proof",
    "elections.roll_proof_json",
}
#: A counted record: its election's secretary and returning officer (and admins) see it before
#: the declaration; for everyone else it does not exist yet.
RECORD_OFFICERS = {
    **dict.fromkeys(ROLES, 404),
    "secretary": 200,
    "returning_officer": 200,
    "admin": 200,
}
#: The chair's steps at an assembly: its secretary, its returning officer and admins.
CHAIR_409 = {
    **dict.fromkeys(ROLES, 403),
    "anonymous": 302,
    "secretary": 409,
    "returning_officer": 409,
    "admin": 409,
}
_CHAIRS = ("secretary", "returning_officer", "admin")
CHAIR_302 = {**CHAIR_409, **dict.fromkeys(_CHAIRS, 302)}
#: Who checks members in: tellers, the secretary, the returning officer, admins.
_TELLERS = ("teller", "secretary", "returning_officer", "admin")
TELLERS_200 = {**dict.fromkeys(ROLES, 403), "anonymous": 302, **dict.fromkeys(_TELLERS, 200)}
#: An empty POST to an edit form keeps the saved values and redirects back.
SECRETARY_SAVES = {**SECRETARY, "secretary": 302, "admin": 302}

#: endpoint → method → visitor → status. Redirects (302) for anonymous visitors go to sign-in.
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "static": {"GET": ALL_200},
    "membership.home": {"GET": ALL_200},
    "membership.my_memberships": {"GET": SIGNED_IN_200},
    "membership.my_data": {"GET": SIGNED_IN_200},
    "membership.institutions": {"GET": ADMIN_ONLY},
    "membership.institution_new": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "membership.dashboard": {"GET": OFFICERS},
    "membership.institution_edit": {"GET": SECRETARY, "POST": SECRETARY_SAVES},
    "membership.constituency_edit": {"GET": SECRETARY, "POST": SECRETARY},
    "membership.constituency_new": {"GET": SECRETARY, "POST": SECRETARY},
    # An empty upload is refused with the form's errors (400); the preview's button applies it.
    "membership.rosters": {"GET": SECRETARY, "POST": {**SECRETARY, "secretary": 400, "admin": 400}},
    "membership.import_run": {"GET": SECRETARY, "POST": SECRETARY_SAVES},
    "membership.import_progress": {"GET": SECRETARY},
    "membership.import_problems": {"GET": SECRETARY},
    "membership.members": {"GET": SECRETARY},
    "membership.members_csv": {"GET": SECRETARY},
    # Roster sources: an empty set-up or token form is refused with its errors (400); an empty
    # mapping form keeps the saved headers; the revoke button revokes and goes back.
    "membership.roster_sources": {
        "GET": SECRETARY,
        "POST": {**SECRETARY, "secretary": 400, "admin": 400},
    },
    "membership.roster_source": {"GET": SECRETARY},
    "membership.roster_mapping_edit": {"GET": SECRETARY, "POST": SECRETARY_SAVES},
    "membership.service_token_new": {"POST": {**SECRETARY, "secretary": 400, "admin": 400}},
    "membership.service_token_revoke": {"GET": SECRETARY, "POST": SECRETARY_SAVES},
    # The signed link is the credential: whoever holds it may end that one membership.
    "membership.opt_out": {"GET": ALL_200, "POST": ALL_200},
    "auth.sign_in": {
        "GET": {**dict.fromkeys(ROLES, 302), "anonymous": 200},
        "POST": {**dict.fromkeys(ROLES, 302), "anonymous": 200},
    },
    "auth.check_email": {"GET": ALL_200},
    "auth.sign_in_link": {"GET": ALL_200, "POST": dict.fromkeys(ROLES, 302)},
    "auth.sign_out": {"POST": dict.fromkeys(ROLES, 302)},
    "auth.signed_out": {"GET": ALL_200},
    "auth.roles": {"GET": SECRETARY, "POST": SECRETARY},
    "auth.role_revoke": {"GET": SECRETARY, "POST": SECRETARY_SAVES},
    "audit.log": {"GET": OFFICERS},
    # Community sign-up is public; an empty form is answered with its errors.
    "membership.join": {"GET": ALL_200, "POST": ALL_200},
    "membership.join_sent": {"GET": ALL_200},
    "membership.join_confirm": {"GET": ALL_200, "POST": ALL_200},
    # Only the member may rejoin; theirs is not opted out (409); anyone else's is not found.
    "membership.rejoin": {"POST": {**dict.fromkeys(ROLES, 404), "anonymous": 302, "member": 409}},
    # The API takes service tokens only: a browser session is not enough.
    "api.openapi": {"GET": ALL_200},
    "api.roster_push": {"POST": dict.fromkeys(ROLES, 401)},
    # Board elections: secretaries set up and change; the election's returning officer
    # approves (another officer, or an admin, is refused by the operation); empty forms 400.
    "elections.elections": {"GET": OFFICERS},
    "elections.election_new": {
        "GET": SECRETARY,
        "POST": {**SECRETARY, "secretary": 400, "admin": 400},
    },
    "elections.election": {"GET": OFFICERS},
    "elections.election_edit": {
        "GET": SECRETARY,
        "POST": {**SECRETARY, "secretary": 400, "admin": 400},
    },
    # The returning officer may approve, but the scenario's draft has no officer key yet, so
    # the operation refuses it (400, saying to register the key first).
    "elections.election_approve": {
        "POST": {**dict.fromkeys(ROLES, 403), "anonymous": 302, "returning_officer": 400}
    },
    "elections.election_cancel": {
        "GET": OFFICERS,
        "POST": {**OFFICERS, "secretary": 400, "returning_officer": 400, "admin": 400},
    },
    # Nominations, on the scenario's second election (open for nominations, the member has
    # stood): the member sees and withdraws their own nomination (the form sends them back to
    # their page, 302, as they have stood; an empty one is 400); only the election's returning
    # officer reviews and decides (an empty decision is 400); the statement of candidates is
    # public and says it is not published yet.
    "elections.nomination": {"GET": MEMBER},
    "elections.nomination_new": {
        "GET": {**MEMBER, "member": 302},
        "POST": {**MEMBER, "member": 400},
    },
    "elections.nomination_withdraw": {"GET": MEMBER, "POST": {**MEMBER, "member": 302}},
    "elections.nominations": {"GET": THE_OFFICER},
    "elections.nomination_decide": {
        "GET": THE_OFFICER,
        "POST": {**THE_OFFICER, "returning_officer": 400},
    },
    "elections.statement_of_candidates": {"GET": ALL_200},
    # Voting, on the scenario's third election (poll open, the member on the workers' roll):
    # only the member has a ballot; an empty one is refused (400); without a receipt in their
    # session the receipt page sends them to the ballot. The trackers are public; turnout is
    # for the officers.
    "elections.vote": {"GET": MEMBER, "POST": {**MEMBER, "member": 400}},
    "elections.vote_cast": {"POST": {**MEMBER, "member": 400}},
    "elections.vote_receipt": {"GET": {**MEMBER, "member": 302}},
    # The signed receipt comes from the browser's own session: none here, so 404 for anyone
    # signed in (the server has no receipt to give out).
    "elections.vote_receipt_file": {"GET": {**dict.fromkeys(ROLES, 404), "anonymous": 302}},
    # An encrypted cast and an audit are the member's; an empty body is refused (400).
    "elections.vote_encrypted": {"POST": {**MEMBER, "member": 400}},
    "elections.vote_audit": {"POST": {**MEMBER, "member": 400}},
    "elections.trackers": {"GET": ALL_200},
    "elections.turnout": {"GET": OFFICERS},
    # End-to-end: the trustees' page is the returning officer's and the trustees' (none are
    # named on the draft sample election, which is not end-to-end: an empty form is 400, the
    # ceremony cannot restart, the task waits for the close, an empty upload goes back to the
    # page); the credentials page is the officer's, and the sample contest is not this
    # election's (404).
    "elections.trustees": {"GET": THE_OFFICER, "POST": {**THE_OFFICER, "returning_officer": 400}},
    "elections.trustee_step": {"POST": {**THE_OFFICER, "returning_officer": 400}},
    "elections.trustees_restart": {"POST": {**THE_OFFICER, "returning_officer": 409}},
    "elections.trustee_task": {"GET": {**THE_OFFICER, "returning_officer": 409}},
    "elections.trustee_upload": {"POST": {**THE_OFFICER, "returning_officer": 302}},
    "elections.credentials": {"GET": THE_OFFICER},
    "elections.credentials_publish": {"POST": {**THE_OFFICER, "returning_officer": 404}},
    # Counting and declaring are the returning officer's (a draft cannot be: 409); results
    # and ballots are shown from the count (officers) and the declaration (everyone): 404 here.
    "elections.election_count": {
        "POST": {**dict.fromkeys(ROLES, 403), "anonymous": 302, "returning_officer": 409}
    },
    "elections.election_declare": {
        "POST": {**dict.fromkeys(ROLES, 403), "anonymous": 302, "returning_officer": 409}
    },
    "elections.results": {"GET": dict.fromkeys(ROLES, 404)},
    "elections.contest_blt": {"GET": dict.fromkeys(ROLES, 404)},
    # Paper batches: the officer, secretary and tellers; the sample contest is not this
    # election's, so those who may enter papers get 404.
    "elections.paper_batches": {
        "GET": {
            **dict.fromkeys(ROLES, 403),
            "anonymous": 302,
            "teller": 404,
            "secretary": 404,
            "returning_officer": 404,
            "admin": 404,
        },
        "POST": {
            **dict.fromkeys(ROLES, 403),
            "anonymous": 302,
            "teller": 404,
            "secretary": 404,
            "returning_officer": 404,
            "admin": 404,
        },
    },
    "elections.paper_batch_discard": {
        "POST": {
            **dict.fromkeys(ROLES, 403),
            "anonymous": 302,
            "teller": 404,
            "secretary": 404,
            "returning_officer": 404,
            "admin": 404,
        },
    },
    # Printed letters: the draft sample election has none yet (404) for those who may print.
    "elections.letters": {
        "GET": {**OFFICERS, "secretary": 404, "returning_officer": 404, "admin": 404}
    },
    # The election's signed record: the officer registers their key on the draft election (an
    # empty form is 400); a counted record is its officers' until declared; only the returning
    # officer countersigns (an empty upload is 400; the secretary and admins are refused).
    "elections.officer_key": {
        "GET": THE_OFFICER,
        "POST": {**THE_OFFICER, "returning_officer": 400},
    },
    "elections.record": {"GET": RECORD_OFFICERS},
    "elections.record_json": {"GET": RECORD_OFFICERS},
    "elections.record_countersign": {
        "POST": {
            **RECORD_OFFICERS,
            "anonymous": 302,
            "secretary": 403,
            "admin": 403,
            "returning_officer": 400,
        }
    },
    # A member's roll proof: signed in, on a record they may see (the officers, before the
    # declaration); the file only for a contest whose roll holds them (none here: 404).
    "elections.roll_proof": {"GET": {**RECORD_OFFICERS, "anonymous": 302}},
    "elections.roll_proof_json": {"GET": {**dict.fromkeys(ROLES, 404), "anonymous": 302}},
    "ops.health": {"GET": ALL_200},
    "ops.ready": {"GET": ALL_200},
    # Records: the keys and the verify page are public (an empty check is refused, 400).
    "records.keys": {"GET": ALL_200},
    "records.verify": {"GET": ALL_200, "POST": dict.fromkeys(ROLES, 400)},
    # Assemblies (the scenario's is in session, the member standing): history, the assembly's
    # page, the screen and a member's pass are public (a teller opening the pass sees the
    # check-in page); the chair's steps are the secretary's, the assembly's returning officer's
    # and admins' (those not possible in session are 409; opening the vote works: 302); the
    # member applies and withdraws (too late: 409); tellers check in (no one named: 404); the
    # phone ballot needs a pass opened after check-in (403 without).
    "assemblies.assemblies": {"GET": ALL_200},
    "assemblies.rules": {"GET": SECRETARY, "POST": {**SECRETARY, "secretary": 400, "admin": 400}},
    "assemblies.schedule": {
        "GET": SECRETARY,
        "POST": {**SECRETARY, "secretary": 400, "admin": 400},
    },
    "assemblies.assembly_public": {"GET": ALL_200},
    "assemblies.send_notice_view": {"POST": CHAIR_409},
    "assemblies.publish_view": {"POST": CHAIR_409},
    "assemblies.open_view": {"POST": CHAIR_409},
    "assemblies.open_vote_view": {"POST": CHAIR_302},
    "assemblies.close_vote_view": {"POST": CHAIR_409},
    "assemblies.declare_view": {"POST": CHAIR_409},
    "assemblies.apply": {"GET": MEMBER, "POST": {**MEMBER, "member": 400}},
    "assemblies.withdraw": {"POST": {**MEMBER, "member": 409}},
    "assemblies.decide": {"POST": CHAIR_302},
    "assemblies.check_in_page": {"GET": TELLERS_200},
    "assemblies.check_in_post": {"POST": {**TELLERS_200, **dict.fromkeys(_TELLERS, 404)}},
    "assemblies.member_pass": {
        "GET": ALL_200,
        "POST": {**dict.fromkeys(ROLES, 403), **dict.fromkeys(_TELLERS, 302)},
    },
    "assemblies.vote": {"GET": dict.fromkeys(ROLES, 403), "POST": dict.fromkeys(ROLES, 403)},
    "assemblies.screen": {"GET": ALL_200},
    # Paper ballots are the tellers' and need an open vote (none here: 409); giving a paper
    # names no one here (404).
    # The assembly's signed record: its returning officer registers a key (fixed once in
    # session: the page says so); there is no record before the declaration (404).
    "assemblies.officer_key": {"GET": THE_OFFICER, "POST": THE_OFFICER},
    "assemblies.record_json": {"GET": dict.fromkeys(ROLES, 404)},
    "assemblies.countersign": {"POST": {**THE_OFFICER, "returning_officer": 404}},
    "assemblies.letters": {"GET": {**CHAIR_409, **dict.fromkeys(_CHAIRS, 200)}},
    "assemblies.give_paper_view": {"POST": {**TELLERS_200, **dict.fromkeys(_TELLERS, 404)}},
    "assemblies.papers": {
        "GET": {**TELLERS_200, **dict.fromkeys(_TELLERS, 409)},
        "POST": {**TELLERS_200, **dict.fromkeys(_TELLERS, 409)},
    },
    # End-to-end votes (the scenario's assembly is not so, and in session): the trustees'
    # page and steps are its returning officer's and trustees' (an empty step: 400; the
    # ceremony is over in session: 409; no vote waits for them: 409); the
    # cards are the officer's (an empty batch: 400); counting a closed vote is the chair's
    # (none waits: 409); the encrypted cast and audit need a pass opened after check-in.
    "assemblies.trustees": {
        "GET": THE_OFFICER,
        "POST": {**THE_OFFICER, "returning_officer": 400},
    },
    "assemblies.trustee_step": {"POST": {**THE_OFFICER, "returning_officer": 400}},
    "assemblies.trustees_restart": {"POST": {**THE_OFFICER, "returning_officer": 409}},
    "assemblies.trustee_task": {"GET": {**THE_OFFICER, "returning_officer": 409}},
    "assemblies.trustee_upload": {"POST": {**THE_OFFICER, "returning_officer": 409}},
    "assemblies.cards": {"GET": THE_OFFICER},
    "assemblies.cards_publish": {"POST": {**THE_OFFICER, "returning_officer": 400}},
    "assemblies.count_vote_view": {"POST": CHAIR_409},
    "assemblies.vote_encrypted": {"POST": dict.fromkeys(ROLES, 403)},
    "assemblies.vote_audit": {"POST": dict.fromkeys(ROLES, 403)},
}


def _rule_methods(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_an_expectation(app: Flask) -> None:
    """Each route and method in the URL map has a row in the access table, and no row is stale."""
    routes = _rule_methods(app)
    table = {(endpoint, method) for endpoint, methods in EXPECTED.items() for method in methods}
    assert routes - table == set(), "routes without an access expectation"
    assert table - routes == set(), "access expectations for routes that do not exist"


def _scenario() -> dict[str, Any]:
    """Two institutions and one visitor of each kind; return what the URLs need."""
    target = make_institution(slug="target-school", name="Target School")
    other = make_institution(slug="other-school", name="Other School")
    emails = {r: f"{r.replace('_', '.')}@example.org" for r in ROLES if r != "anonymous"}
    make_member(target, email=emails["member"])
    make_member(other, email=emails["member_other"])
    make_user(emails["admin"], admin=True)
    for role, institution, granted in (
        ("teller", target, Role.teller),
        ("secretary", target, Role.secretary),
        ("secretary_other", other, Role.secretary),
        ("returning_officer", target, Role.returning_officer),
    ):
        grant(make_user(emails[role]), institution, granted)
    teller_grant = db.session.query(RoleGrant).filter_by(role=Role.teller).one()
    from flask import current_app

    from assembly.auth.actors import SYSTEM
    from assembly.membership.operations import check_roster, ensure_csv_source, receive_roster
    from assembly.membership.queries import get_constituency

    source = ensure_csv_source(SYSTEM, get_constituency(target, "community"))
    upload_dir = f"{current_app.instance_path}/uploads"
    run = receive_roster(
        SYSTEM,
        source,
        io.BytesIO(b"external_id,given_name,family_name\nC1,Cy,Roe\n"),
        mode="snapshot",
        file_name="r.csv",
        upload_dir=upload_dir,
    )
    check_roster(SYSTEM, run, upload_dir=upload_dir)
    from assembly.api.tokens import issue_token

    service_token, _ = issue_token(SYSTEM, source, name="HR system")
    from datetime import timedelta

    from assembly.clock import today
    from assembly.elections.operations import ElectionSettings, create_election
    from assembly.elections.timetable import TimetableRules, suggest_timetable

    officer = db.session.query(User).filter_by(email=emails["returning_officer"]).one()
    election = create_election(
        SYSTEM,
        target,
        ElectionSettings(
            title="Governors",
            seats=6,
            apportionment="largest-remainder",
            weights={c.key: c.weight for c in target.constituencies},
            methods={c.key: CountMethod.stv for c in target.constituencies},
            timetable=suggest_timetable(today() + timedelta(weeks=12), TimetableRules()),
            returning_officer_id=officer.id,
        ),
    )
    open_election, candidate = _open_for_nominations(target, officer)
    poll = _poll_open(target, emails["member"])
    counted = _counted(target, officer)
    assembly, assembly_candidate = _assembly_in_session(target, officer)
    db.session.commit()
    return {
        "target": target,
        "emails": emails,
        "teller_grant_id": teller_grant.id,
        "run_id": run.id,
        "service_token_id": service_token.id,
        "election_id": election.id,
        "open_election_id": open_election.id,
        "candidate_id": candidate.id,
        "poll_election_id": poll.election.id,
        "poll_contest_id": poll.contests["workers"].id,
        "counted_election_id": counted.id,
        "assembly_id": assembly.id,
        "assembly_candidate_id": assembly_candidate.id,
        "member_person_id": assembly_candidate.person_id,
    }


def _assembly_in_session(target: Any, officer: User) -> tuple[Any, Any]:
    """An assembly of the target institution, in session, at which the member stands."""
    from datetime import timedelta

    from assembly.assemblies.operations import (
        apply_to_stand,
        decide_application,
        open_assembly,
        publish_candidates,
        schedule_assembly,
        send_notice,
    )
    from assembly.assemblies.record import register_assembly_officer_key
    from assembly.auth.actors import SYSTEM
    from assembly.clock import today
    from assembly.membership.models import Person
    from tests.elections.polls import OFFICER_PUBLIC_KEY

    assembly = schedule_assembly(
        SYSTEM,
        target,
        title="",
        held_on=today() + timedelta(days=20),
        starts_at="18:30",
        venue="Hall",
        agenda="",
        returning_officer_id=officer.id,
        today=today(),
    )
    send_notice(SYSTEM, assembly, today())
    member = db.session.query(Person).filter_by(email="member@example.org").one()
    candidate = apply_to_stand(
        SYSTEM, assembly, member, ballot_name="Pat Member", statement="Hello", today=today()
    )
    decide_application(SYSTEM, candidate, valid=True)
    publish_candidates(SYSTEM, assembly, assembly.applications_close_on + timedelta(days=1))
    register_assembly_officer_key(officer, assembly, OFFICER_PUBLIC_KEY)
    open_assembly(SYSTEM, assembly, assembly.held_on)
    return assembly, candidate


def _poll_open(target: Any, email: str) -> Any:
    """A third election, its poll open (set directly: the timer opens it), with ``email`` on
    the workers' roll."""
    import secrets

    from assembly.elections.models import RollEntry
    from assembly.membership.models import Person
    from tests.elections.polls import make_poll

    poll = make_poll(target, keys=("workers",), voters=0)
    member = db.session.query(Person).filter_by(email=email).one()
    db.session.add(
        RollEntry(
            contest_id=poll.contests["workers"].id,
            person_id=member.id,
            number=1,
            salt=secrets.token_hex(16),
        )
    )
    return poll


def _counted(target: Any, officer: User) -> Any:
    """A fourth election, its poll closed (set directly) without a vote and counted by its
    returning officer: its record is issued, not yet countersigned."""
    from assembly.elections.count import count_election
    from assembly.elections.states import ElectionState
    from tests.elections.polls import make_poll

    election = make_poll(target, keys=("users",), voters=0).election
    election.returning_officer_id = officer.id
    election.state = ElectionState.poll_closed
    db.session.flush()
    count_election(officer, election)
    return election


def _open_for_nominations(target: Any, officer: User) -> tuple[Any, Any]:
    """A second election, open for nominations (set directly: the timer opens them), in which
    the member has stood in their constituency, workers."""
    from datetime import timedelta

    from assembly.auth.actors import SYSTEM
    from assembly.clock import today
    from assembly.elections.models import Candidate
    from assembly.elections.operations import ElectionSettings, create_election
    from assembly.elections.states import ElectionState
    from assembly.elections.timetable import TimetableRules, suggest_timetable
    from assembly.membership.models import Person

    election = create_election(
        SYSTEM,
        target,
        ElectionSettings(
            title="Governors (nominations open)",
            seats=6,
            apportionment="largest-remainder",
            weights={c.key: c.weight for c in target.constituencies},
            methods={c.key: CountMethod.stv for c in target.constituencies},
            timetable=suggest_timetable(today() + timedelta(weeks=12), TimetableRules()),
            returning_officer_id=officer.id,
        ),
    )
    election.state = ElectionState.nominations_open
    member = db.session.query(Person).filter_by(email="member@example.org").one()
    workers = next(c for c in election.contests if c.constituency.key == "workers")
    candidate = Candidate(
        contest=workers,
        person_id=member.id,
        ballot_name="Pat Member",
        statement="I will listen.",
        declares_eligible=True,
        interests="None",
    )
    db.session.add(candidate)
    db.session.flush()
    return election, candidate


def _url(app: Flask, endpoint: str, scenario: dict[str, Any], token_email: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "slug":
            values["slug"] = scenario["target"].slug
        elif argument == "key":
            values["key"] = "workers"
        elif argument == "grant_id":
            values["grant_id"] = scenario["teller_grant_id"]
        elif argument == "token" and endpoint == "membership.opt_out":
            from assembly.membership.models import Membership
            from assembly.membership.notices import opt_out_token

            membership = (
                db.session.query(Membership).filter_by(institution_id=scenario["target"].id).first()
            )
            assert membership is not None
            values["token"] = opt_out_token(membership.id)
        elif argument == "token" and endpoint == "membership.join_confirm":
            from assembly.membership.views.signup import _join_serializer

            with app.test_request_context():
                values["token"] = _join_serializer().dumps(
                    {
                        "external_id": "signup:new@example.org",
                        "given_name": "New",
                        "family_name": "Resident",
                        "email": "new@example.org",
                        "postcode": "BS1 4AB",
                        "date_of_birth": None,
                        "institution": scenario["target"].id,
                    }
                )
        elif argument == "token" and endpoint == "assemblies.member_pass":
            from assembly.assemblies.notices import pass_token

            with app.test_request_context():
                values["token"] = pass_token(scenario["assembly_id"], scenario["member_person_id"])
        elif argument == "token":
            link = issue_sign_in_link(CLI, token_email)
            db.session.commit()
            values["token"] = link.rsplit("/", 1)[1]
        elif argument == "membership_id":
            from assembly.membership.models import Membership, Person

            member = (
                db.session.query(Membership)
                .join(Person)
                .filter(Person.email == scenario["emails"]["member"])
                .one()
            )
            values["membership_id"] = member.id
        elif argument == "source_key":
            values["source_key"] = "community-csv"
        elif argument == "run_id":
            values["run_id"] = scenario["run_id"]
        elif argument == "token_id":
            values["token_id"] = scenario["service_token_id"]
        elif argument == "election_id":
            values["election_id"] = scenario[
                "open_election_id"
                if endpoint in ON_OPEN_ELECTION
                else "poll_election_id"
                if endpoint in ON_POLL_ELECTION
                else "counted_election_id"
                if endpoint in ON_COUNTED_ELECTION
                else "election_id"
            ]
        elif argument == "contest_id":
            values["contest_id"] = scenario["poll_contest_id"]
        elif argument == "candidate_id":
            values["candidate_id"] = scenario[
                "assembly_candidate_id" if endpoint.startswith("assemblies.") else "candidate_id"
            ]
        elif argument == "assembly_id":
            values["assembly_id"] = scenario["assembly_id"]
        elif argument == "kind":
            values["kind"] = "notice_of_election"
        elif argument == "batch_id":
            values["batch_id"] = 1
        elif argument == "part":
            values["part"] = "shuffle"
        elif argument == "filename":
            values["filename"] = "app.css"
        else:  # pragma: no cover - a new argument needs a sample value here
            raise AssertionError(f"no sample value for URL argument {argument!r}")
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


CASES = [
    (endpoint, method, role, status)
    for endpoint, methods in EXPECTED.items()
    for method, statuses in methods.items()
    for role, status in statuses.items()
]


@pytest.mark.parametrize(
    ("endpoint", "method", "role", "status"), CASES, ids=[f"{e}-{m}-{r}" for e, m, r, _ in CASES]
)
def test_access(
    app: Flask, client: FlaskClient, login_as, endpoint: str, method: str, role: str, status: int
) -> None:
    """A visitor of this kind gets exactly the expected status from this route."""
    if endpoint == "static" and not (
        app.static_folder and (__import__("pathlib").Path(app.static_folder) / "app.css").exists()
    ):
        pytest.fail("assembly/static/app.css is missing: run `make assets`")
    scenario = _scenario()
    if role != "anonymous":
        login_as(scenario["emails"][role])
    url = _url(app, endpoint, scenario, scenario["emails"]["member"])
    with client.open(url, method=method, data={}) as response:
        body = response.get_data(as_text=True)
    assert response.status_code == status, (url, body[:500])
    if (
        status == 302
        and role == "anonymous"
        and endpoint not in {"auth.sign_in_link", "auth.sign_out"}
    ):
        assert re.search(r"/sign-in\?next=", response.headers["Location"])
