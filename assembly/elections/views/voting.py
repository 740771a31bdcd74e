"""Board election pages for voters: their ballot (their own contest only), its review, casting
and the receipt."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user, user_logged_out

from assembly.auth.actors import current_actor
from assembly.auth.permissions import SIGNED_IN, account_checked_by_view
from assembly.auth.queries import get_user
from assembly.clock import long_date, today
from assembly.e2e.operations import poll_label
from assembly.elections.access import election_view, get_election_by_slug
from assembly.elections.forms import BallotForm, ballot_marks
from assembly.elections.models import Candidate, Contest, CountMethod, Election, RollEntry
from assembly.elections.nominations import valid_candidates
from assembly.elections.views.blueprint import bp
from assembly.elections.voting import (
    POLL_STARTED,
    ballot_candidates,
    cast_marks,
    check_contest_open,
    check_poll_open,
    get_roll_entry,
    has_voted,
)
from assembly.errors import DomainError, NotEligible
from assembly.extensions import begin_writing, db, limiter, login_manager, refused
from assembly.membership.models import Institution
from assembly.polls.marks import InvalidBallot, ranking_from_marks

#: The session key under which the voter's own browser keeps their receipts. The server keeps
#: no link between a voter and their tracker; the signed session cookie, which only that
#: browser holds, carries it to the receipt page.
RECEIPTS = "vote_receipts"


def _no_store(body: str, status: int = 200) -> Response:
    """A page with the voter's choices or tracker on it: never kept by a cache or the browser."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _voter_entry(institution: Institution, election: Election) -> RollEntry:
    """The signed-in member's roll entry in the election, or a refusal saying why."""
    if election.state not in POLL_STARTED:
        check_poll_open(election, today())
    entry = get_roll_entry(election, current_user)
    if entry is None:
        raise NotEligible(
            f"You are not on the roll for {election.title}. The roll was fixed when nominations "
            f"closed on {long_date(election.nominations_close_on)}: members enrolled by then "
            f"can vote. If you think you should be on it, ask {institution.name}'s secretary."
        )
    return entry


@user_logged_out.connect
def _forget_receipts(sender: Any, user: Any = None, **extra: Any) -> None:
    """Signing out forgets the receipts, so that the next person at a shared computer cannot
    read a tracker (and, once ballots are published, the vote) from the session cookie."""
    session.pop(RECEIPTS, None)


def _session_receipt(election_id: int) -> dict[str, Any] | None:
    receipt = session.get(RECEIPTS, {}).get(str(election_id))
    if not isinstance(receipt, dict) or receipt.get("user") != current_user.id:
        return None
    return receipt


def _already_voted(institution: Institution, election: Election, contest: Contest) -> str:
    return render_template(
        "elections/vote_done.html",
        institution=institution,
        election=election,
        contest=contest,
        receipt=_session_receipt(election.id),
    )


def _ballot_page(
    institution: Institution,
    election: Election,
    contest: Contest,
    candidates: list[Candidate],
    marks: tuple[list[tuple[str, str]], list[str]] = ([], []),
    problem: InvalidBallot | None = None,
) -> Response:
    preferences, choices = marks
    return _no_store(
        render_template(
            "elections/vote.html",
            institution=institution,
            election=election,
            contest=contest,
            candidates=candidates,
            is_ranked=contest.method == CountMethod.stv,
            numbers=dict(preferences),
            ticked=set(choices),
            problem=problem,
            form=BallotForm(),
            e2e_data=_e2e_data(institution, election, contest, candidates),
        ),
        400 if problem else 200,
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote", methods=["GET", "POST"])
@election_view(SIGNED_IN)
def vote(institution: Institution, election: Election) -> ResponseReturnValue:
    """The member's ballot (their contest only); a posted ballot is checked and shown back for
    review, or shown again with what to correct; "Change" on the review goes back to it."""
    entry = _voter_entry(institution, election)
    contest = entry.contest
    if has_voted(entry):
        return _no_store(
            _already_voted(institution, election, contest),
            409 if request.method == "POST" else 200,
        )
    check_contest_open(election, contest, today())
    candidates = ballot_candidates(election, entry)
    if request.method == "GET":
        return _ballot_page(institution, election, contest, candidates)
    marks = ballot_marks(request.form)
    if "change" in request.form:
        return _ballot_page(institution, election, contest, candidates, marks)
    try:
        ranking = ranking_from_marks(contest, candidates, *marks)
    except InvalidBallot as problem:
        return _ballot_page(institution, election, contest, candidates, marks, problem)
    by_id = {c.id: c for c in candidates}
    return _no_store(
        render_template(
            "elections/vote_review.html",
            institution=institution,
            election=election,
            contest=contest,
            chosen=[by_id[i] for i in ranking],
            is_ranked=contest.method == CountMethod.stv,
            form=BallotForm(),
        )
    )


def _e2e_data(
    institution: Institution, election: Election, contest: Contest, candidates: list[Candidate]
) -> dict[str, Any] | None:
    """What the ballot page's script needs to read the marks and encrypt them in the browser
    (so that the server never sees them): the key, the contest's candidates in the record's
    order and in the ballot's, and how the ballot is marked."""
    ceremony = election.ceremony
    if not election.e2e or ceremony is None or not ceremony.election_key:
        return None
    ids = [c.id for c in valid_candidates(contest)]
    return {
        "key": ceremony.election_key,
        "label": poll_label(ceremony, contest.poll_id),
        "candidates": len(ids),
        "candidate_ids": ids,
        "ballot_order": [c.id for c in candidates],
        "names": {str(c.id): c.ballot_name for c in candidates},
        "kind": "ranked" if contest.method == CountMethod.stv else "choose",
        "seats": contest.seats,
        "credential_hint": "20 letters and digits, as in the returning officer's letter, "
        "for example ABCDE-FGHJK-LMNPQ-RSTUV",
        "cast_url": url_for(
            "elections.vote_encrypted", slug=institution.slug, election_id=election.id
        ),
        "audit_url": url_for(
            "elections.vote_audit", slug=institution.slug, election_id=election.id
        ),
    }


def _refused_cast(
    voter_id: int,
    slug: str,
    election_id: int,
    marks: tuple[list[tuple[str, str]], list[str]],
    refusal: DomainError,
) -> ResponseReturnValue:
    """The page for a cast that was refused: the ballot page's checks, in its order. A voter
    whose account is disabled (casting does not read it first) is signed out, as every other
    page would do."""
    if get_user(voter_id) is None:
        logout_user()
        return login_manager.unauthorized()
    institution, election = get_election_by_slug(slug, election_id)
    entry = _voter_entry(institution, election)
    contest = entry.contest
    if has_voted(entry):
        return _no_store(_already_voted(institution, election, contest), 409)
    check_contest_open(election, contest, today())
    candidates = ballot_candidates(election, entry)
    try:
        ranking_from_marks(contest, candidates, *marks)
    except InvalidBallot as problem:
        return _ballot_page(institution, election, contest, candidates, marks, problem)
    raise refusal


def _voter_key() -> str:
    """Rate limits on casting count per signed-in voter (many share an address)."""
    return f"voter:{current_user.get_id()}"


# Not an ``election_view``: that would read the election before the writing transaction.
@bp.route("/institutions/<slug>/elections/<int:election_id>/vote/cast", methods=["POST"])
@account_checked_by_view
@login_required
@limiter.limit(
    lambda: current_app.config["CAST_PER_VOTER"], key_func=_voter_key, deduct_when=refused
)
def vote_cast(slug: str, election_id: int) -> ResponseReturnValue:
    """Cast the reviewed ballot, then show the receipt (DESIGN §6).

    Nothing is read before the writing transaction, not even the voter's account: ``cast_marks``
    checks it, reads the voter's ballot paper and the marks, and stores the vote, in a few
    statements. Only when it refuses are the ballot page's own checks run, to show the voter
    what to do.
    """
    marks = ballot_marks(request.form)
    # Read now: begin_writing()'s rollback expires the user, and reading it afterwards would
    # cost a query.
    voter_id = current_user.id
    begin_writing()
    try:
        receipt = cast_marks(current_actor(), slug, election_id, marks, today=today())
    except DomainError as refusal:
        db.session.rollback()
        return _refused_cast(voter_id, slug, election_id, marks, refusal)
    db.session.commit()
    session[RECEIPTS] = {
        **session.get(RECEIPTS, {}),
        str(election_id): {
            "user": voter_id,
            "contest": receipt.contest_id,
            "tracker": receipt.tracker,
            "ballot_hash": receipt.ballot_hash,
            "signed": receipt.signed,
        },
    }
    return redirect(url_for("elections.vote_receipt", slug=slug, election_id=election_id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote/receipt")
@election_view(SIGNED_IN)
def vote_receipt(institution: Institution, election: Election) -> ResponseReturnValue:
    """The voter's receipt: their tracker and ballot hash, from their own session."""
    entry = _voter_entry(institution, election)
    receipt = _session_receipt(election.id)
    if receipt is None:
        return redirect(url_for("elections.vote", slug=institution.slug, election_id=election.id))
    return _no_store(
        render_template(
            "elections/vote_receipt.html",
            institution=institution,
            election=election,
            contest=entry.contest,
            receipt=receipt,
        )
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote/receipt.json")
@election_view(SIGNED_IN)
def vote_receipt_file(institution: Institution, election: Election) -> ResponseReturnValue:
    """The voter's receipt signed by the election key, as a file to keep and to check against
    the published record (``assembly verify RECORD --receipt FILE``)."""
    receipt = _session_receipt(election.id)
    if receipt is None or not receipt.get("signed"):
        abort(404)
    response = _no_store(json.dumps(receipt["signed"], indent=1, sort_keys=True) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="receipt-{institution.slug}-{election.id}.json"'
    )
    return response
