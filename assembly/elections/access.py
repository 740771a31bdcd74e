"""Who opens which board election page: ``election_view`` loads the institution, the
election and what the URL names within it (a contest, a candidate, a paper batch), checks the
visitor and the election's state, and hands them to the view, in one step (Helios's
``election_view``; ``auth.permissions.object_view`` says the order of the checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from assembly.auth.models import Role
from assembly.auth.permissions import Audience, Part, Scope, object_view
from assembly.elections.models import Candidate, Contest, Election
from assembly.extensions import db
from assembly.membership.models import Institution
from assembly.polls.models import PaperBatch

__all__ = ["election_view", "get_election", "get_election_by_slug"]


def get_election(institution: Institution, election_id: int) -> Election:
    """Return the institution's election with this id, or refuse with 404."""
    election = db.session.get(Election, election_id)
    if election is None or election.institution_id != institution.id:
        abort(404)
    return election


def get_election_by_slug(slug: str, election_id: int) -> tuple[Institution, Election]:
    """Return the institution with this slug and its election with this id, in one query
    (voters' pages are the busiest), or refuse with 404."""
    election = db.session.scalars(
        select(Election)
        .join(Election.institution)
        .options(contains_eager(Election.institution))
        .where(Institution.slug == slug, Election.id == election_id)
    ).first()
    if election is None:
        abort(404)
    return election.institution, election


def _contest(loaded: Mapping[str, Any], contest_id: int) -> Contest | None:
    contest = db.session.get(Contest, contest_id)
    return contest if contest is not None and contest.election_id == loaded["election"].id else None


def _candidate(loaded: Mapping[str, Any], candidate_id: int) -> Candidate | None:
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None or candidate.contest.election_id != loaded["election"].id:
        return None
    return candidate


def _batch(loaded: Mapping[str, Any], batch_id: int) -> PaperBatch | None:
    batch = db.session.get(PaperBatch, batch_id)
    return batch if batch is not None and batch.poll_id == loaded["contest"].poll_id else None


ELECTION = Scope(
    id_arg="election_id",
    arg="election",
    get=get_election,
    get_by_slug=get_election_by_slug,
    parts=(
        Part("contest_id", "contest", _contest),
        Part("candidate_id", "candidate", _candidate),
        Part("batch_id", "batch", _batch),
    ),
)


def election_view(
    *audience: Role | Audience, **checks: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Load the institution (``slug``), its election (``election_id``) and the contest,
    candidate or paper batch the URL names (404 for one that is not the election's), let
    through the audience (roles, ``PUBLIC`` or ``SIGNED_IN``) and check the ``checks``
    (``only``, ``denied``, ``states``, ``not_now``, ``public_in``: see ``object_view``); the
    view receives ``institution``, ``election`` and each part instead of the ids."""
    return object_view(ELECTION, *audience, **checks)
