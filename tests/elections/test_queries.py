"""Reads about board elections: who may see a result (and its ballots and record)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_login import AnonymousUserMixin

from assembly.auth.models import Role
from assembly.elections.queries import can_see_results
from assembly.elections.states import ElectionState
from assembly.extensions import db
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import make_poll

VISITORS = ("anonymous", "member", "teller", "other_officer", "secretary", "officer", "admin")
#: From the count, before the declaration: the secretary, admins and the election's officer.
FROM_THE_COUNT = {"secretary", "officer", "admin"}


def _visitors(poll: Any) -> dict[str, Any]:
    """One visitor of each kind for the poll's institution; the officer is the election's."""
    institution = poll.institution
    users: dict[str, Any] = {"anonymous": AnonymousUserMixin()}
    users["member"] = make_user(make_member(institution).person.email)
    for name, role in (
        ("teller", Role.teller),
        ("other_officer", Role.returning_officer),
        ("secretary", Role.secretary),
        ("officer", Role.returning_officer),
    ):
        users[name] = make_user()
        grant(users[name], institution, role)
    users["admin"] = make_user(admin=True)
    poll.election.returning_officer_id = users["officer"].id
    db.session.commit()
    return users


@pytest.mark.parametrize("state", list(ElectionState), ids=str)
def test_results_are_public_once_declared_and_the_officers_from_the_count(
    app: Flask, state: ElectionState
) -> None:
    """Everyone sees a declared result; from the count, only the institution's secretary,
    admins and the election's own returning officer; before it, nobody."""
    poll = make_poll()
    users = _visitors(poll)
    poll.election.state = state
    db.session.commit()
    seen = {name for name, user in users.items() if can_see_results(user, poll.election)}
    if state == ElectionState.declared:
        assert seen == set(VISITORS)
    elif state == ElectionState.counted:
        assert seen == FROM_THE_COUNT
    else:
        assert seen == set()


def test_a_secretary_of_another_institution_does_not_see_a_counted_result(app: Flask) -> None:
    """Before the declaration a secretary sees only their own institution's results."""
    poll = make_poll()
    secretary = make_user()
    grant(secretary, make_institution(), Role.secretary)
    poll.election.state = ElectionState.counted
    db.session.commit()
    assert not can_see_results(secretary, poll.election)
