"""Reads about board elections used in more than one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from assembly.auth.permissions import can_manage
from assembly.e2e.models import Credential
from assembly.elections.models import Election
from assembly.elections.states import ElectionState
from assembly.extensions import db

__all__ = ["can_see_results", "e2e_problems"]


def can_see_results(user: Any, election: Election) -> bool:
    """Whether ``user`` may see the election's result, its ballots and its record: everyone
    once it is declared; from the count, its institution's secretary (and admins) and its
    returning officer, who checks the result and countersigns the record before declaring."""
    if election.state == ElectionState.declared:
        return True
    if election.state != ElectionState.counted or not user.is_authenticated:
        return False
    return bool(can_manage(user, election.institution) or election.is_returning_officer(user))


def e2e_problems(election: Election) -> list[str]:
    """What still stands between an end-to-end election and its poll: the ceremony, and each
    contested contest's credentials. Empty when it may open."""
    if not election.e2e:
        return []
    ceremony = election.ceremony
    if ceremony is None:
        return ["The returning officer has not named the trustees."]
    problems = []
    if not ceremony.election_key:
        problems.append("The trustees' key ceremony is not complete.")
    for contest in election.contests:
        if contest.is_uncontested:
            continue
        published = db.session.scalar(
            select(func.count()).where(Credential.poll_id == contest.poll_id)
        )
        if not published:
            problems.append(f"{contest.constituency.name}'s credentials are not published.")
    return problems
