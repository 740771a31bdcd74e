"""Board election notices: the notice of election (to every member) and voting information
(to every voter, with a personal sign-in link valid until the poll closes). Both are queued in
bulk and rendered when sent, and both print the commitment to the election's seed (its
SHA-256), before any vote; voting information also prints the keys that must sign the
record."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assembly.auth.operations import personal_sign_in_link
from assembly.clock import LONDON, long_date, utcnow
from assembly.elections.models import Contest, Election, RollEntry
from assembly.elections.states import ElectionState
from assembly.elections.voting import has_voted
from assembly.extensions import db
from assembly.membership.models import Membership
from assembly.notices.delivery import CONTEXT_BUILDERS
from assembly.urls import external_url


def poll_closes_at(election: Election) -> datetime:
    """The end of the closing day, Europe/London, as a UTC-aware datetime."""
    end = datetime.combine(election.poll_closes_on + timedelta(days=1), time(0), LONDON)
    return end.astimezone(ZoneInfo("UTC"))


def _notice_of_election(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    from assembly.elections.count import seed_commitment

    election = db.session.get(Election, context.get("election_id"))
    membership = db.session.get(Membership, context.get("membership_id"))
    if election is None or membership is None or election.state == ElectionState.cancelled:
        return None
    contest = next(
        (c for c in election.contests if c.constituency_id == membership.constituency_id), None
    )
    return (
        f"Notice of election: {election.title}",
        {
            "election": election,
            "institution": election.institution,
            "person": membership.person,
            "contest": contest,
            "long_date": long_date,
            "sign_in_url": external_url("auth.sign_in"),
            "seed_sha256": seed_commitment(election),
        },
    )


def key_fingerprints(election: Election) -> dict[str, str]:
    """The fingerprints the notice of poll prints (grouped in fours), so that voters and
    observers can later check the record was signed with these keys and no others."""
    from assembly.records.models import SigningKey
    from assembly.records.signing import group_fingerprint

    key = db.session.get(SigningKey, election.signing_key_id) if election.signing_key_id else None
    return {
        "election": group_fingerprint(key.fingerprint) if key else "",
        "officer": group_fingerprint(election.officer_fingerprint),
    }


def _voting_information(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    from assembly.elections.count import seed_commitment

    election = db.session.get(Election, context.get("election_id"))
    entry = db.session.get(RollEntry, context.get("roll_entry_id"))
    if election is None or entry is None or election.state != ElectionState.poll_open:
        return None
    closes = poll_closes_at(election)
    if not entry.person.email or closes <= utcnow():
        return None
    contest: Contest = entry.contest
    return (
        f"How to vote: {election.title}",
        {
            "election": election,
            "institution": election.institution,
            "person": entry.person,
            "contest": contest,
            "number": entry.number,
            "candidates_url": external_url(
                "elections.statement_of_candidates",
                slug=election.institution.slug,
                election_id=election.id,
            ),
            "long_date": long_date,
            "keys": key_fingerprints(election),
            "seed_sha256": seed_commitment(election),
            "vote_url": personal_sign_in_link(
                entry.person.email,
                expires_at=closes,
                next_path=f"/institutions/{election.institution.slug}/elections/{election.id}/vote",
            ),
        },
    )


def _declaration_of_result(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    from assembly.elections.count import read_results

    election = db.session.get(Election, context.get("election_id"))
    membership = db.session.get(Membership, context.get("membership_id"))
    if election is None or membership is None or election.state != ElectionState.declared:
        return None
    return (
        f"Declaration of result: {election.title}",
        {
            "election": election,
            "institution": election.institution,
            "person": membership.person,
            "results": read_results(election),
            "results_url": external_url(
                "elections.results", slug=election.institution.slug, election_id=election.id
            ),
        },
    )


def _voting_reminder(context: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    entry = db.session.get(RollEntry, context.get("roll_entry_id"))
    if entry is None or has_voted(entry):
        return None  # voted since the reminder was queued
    built = _voting_information(context)
    if built is None:
        return None
    _, values = built
    return f"Reminder: vote by {long_date(values['election'].poll_closes_on)}", values


CONTEXT_BUILDERS["notice_of_election"] = _notice_of_election
CONTEXT_BUILDERS["voting_reminder"] = _voting_reminder
CONTEXT_BUILDERS["declaration_of_result"] = _declaration_of_result
CONTEXT_BUILDERS["voting_information"] = _voting_information
