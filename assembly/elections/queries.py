"""Reads about board elections used in more than one place."""

from __future__ import annotations

from typing import Any

from assembly.auth.permissions import can_manage
from assembly.elections.models import Election
from assembly.elections.states import ElectionState

__all__ = ["can_see_results"]


def can_see_results(user: Any, election: Election) -> bool:
    """Whether ``user`` may see the election's result, its ballots and its record: everyone
    once it is declared; from the count, its institution's secretary (and admins) and its
    returning officer, who checks the result and countersigns the record before declaring."""
    if election.state == ElectionState.declared:
        return True
    if election.state != ElectionState.counted or not user.is_authenticated:
        return False
    return bool(can_manage(user, election.institution) or election.is_returning_officer(user))
