"""Board election pages for nominations: members stand in their constituency's contest and
withdraw, the returning officer checks each nomination, and the public reads the statement of
candidates."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import PUBLIC, SIGNED_IN, is_returning_officer
from assembly.clock import today
from assembly.elections.access import election_view
from assembly.elections.forms import NominationDecisionForm, NominationForm
from assembly.elections.models import Candidate, CandidateStatus, Contest, Election
from assembly.elections.nominations import (
    MAX_STATEMENT_WORDS,
    NominationRefused,
    can_decide_now,
    can_nominate_now,
    can_withdraw_now,
    contest_for_member,
    count_undecided,
    count_words,
    decide_nomination,
    get_nomination,
    is_published,
    is_statement_published,
    list_current_elections,
    list_nominations,
    member_of,
    nominate_candidate,
    valid_candidates,
    withdraw_nomination,
)
from assembly.elections.views.blueprint import bp
from assembly.errors import NotEligible
from assembly.extensions import begin_writing, db
from assembly.membership.models import Institution, Membership

#: Why anyone but the election's returning officer is refused its review of nominations.
ONLY_THE_OFFICER = "Only the election's returning officer checks its nominations."


def _member_contest(institution: Institution, election: Election) -> tuple[Membership, Contest]:
    """The signed-in member's membership and contest in ``election``, or a refusal saying why."""
    membership = member_of(election, current_user)
    if membership is None:
        raise NotEligible(
            f"You are not a current member of {institution.name} with the address "
            f"{current_user.email}, so you cannot stand in its elections. Sign in with the "
            "address the institution has for you, or ask its secretary."
        )
    contest = contest_for_member(election, current_user)
    if contest is None:
        raise NotEligible(
            f"{election.title} has no contest for the {membership.constituency.name} "
            "constituency, so you cannot stand in it."
        )
    return membership, contest


def _field_error(form: Any, error: NominationRefused) -> bool:
    """Show a refused detail beside its field; return False if it belongs to no field."""
    if not error.field or error.field not in form:
        return False
    form[error.field].errors = [*form[error.field].errors, error.message]
    return True


@bp.route("/institutions/<slug>/elections/<int:election_id>/nomination")
@election_view(SIGNED_IN, states=is_published)
def nomination(institution: Institution, election: Election) -> str:
    """The member's page for an election: whether they can stand, and their nomination."""
    membership, contest = _member_contest(institution, election)
    day = today()
    candidate = get_nomination(contest, membership.person_id)
    return render_template(
        "elections/nomination.html",
        institution=institution,
        election=election,
        contest=contest,
        candidate=candidate,
        can_nominate=candidate is None and can_nominate_now(election, day),
        can_withdraw=candidate is not None
        and candidate.status != CandidateStatus.withdrawn
        and can_withdraw_now(election, day),
        is_statement_published=is_statement_published(election),
    )


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/nomination/new", methods=["GET", "POST"]
)
@election_view(SIGNED_IN, states=is_published)
def nomination_new(institution: Institution, election: Election) -> ResponseReturnValue:
    """Stand as a candidate in the member's own constituency's contest."""
    membership, contest = _member_contest(institution, election)
    page = url_for("elections.nomination", slug=institution.slug, election_id=election.id)
    if request.method == "GET" and (
        get_nomination(contest, membership.person_id) is not None
        or not can_nominate_now(election, today())
    ):
        # The member's page says why they cannot stand now (or shows their nomination).
        return redirect(page)
    form = NominationForm()
    if request.method == "GET":
        form.ballot_name.data = membership.person.full_name
    words = count_words(form.statement.data or "")
    if form.validate_on_submit():
        # What was read so far is rolled back: the operation checks again as a writer.
        begin_writing()
        try:
            nominate_candidate(
                current_actor(),
                contest,
                ballot_name=form.ballot_name.data or "",
                statement=form.statement.data or "",
                declares_eligible=bool(form.declares_eligible.data),
                interests=form.interests.data or "",
                today=today(),
            )
        except NominationRefused as error:
            db.session.rollback()
            if not _field_error(form, error):
                raise
        else:
            db.session.commit()
            flash(
                "Your nomination is made. The returning officer will check it and tell you "
                "whether it is valid."
            )
            return redirect(page)
    return render_template(
        "elections/nomination_form.html",
        institution=institution,
        election=election,
        contest=contest,
        form=form,
        words=words,
        max_words=MAX_STATEMENT_WORDS,
    ), (400 if form.errors else 200)


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/nomination/withdraw",
    methods=["GET", "POST"],
)
@election_view(SIGNED_IN, states=is_published)
def nomination_withdraw(institution: Institution, election: Election) -> ResponseReturnValue:
    """Ask the candidate to confirm, then withdraw their nomination for good."""
    membership, contest = _member_contest(institution, election)
    candidate = get_nomination(contest, membership.person_id)
    if candidate is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        # Read before begin_writing(), whose rollback expires them.
        page = url_for("elections.nomination", slug=institution.slug, election_id=election.id)
        begin_writing()
        withdraw_nomination(current_actor(), candidate, today=today())
        db.session.commit()
        flash("You have withdrawn your nomination.")
        return redirect(page)
    return render_template(
        "elections/nomination_withdraw.html",
        institution=institution,
        election=election,
        contest=contest,
        candidate=candidate,
        can_withdraw=candidate.status != CandidateStatus.withdrawn
        and can_withdraw_now(election, today()),
        form=form,
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/nominations")
@election_view(Role.returning_officer, only=is_returning_officer, denied=ONLY_THE_OFFICER)
def nominations(institution: Institution, election: Election) -> str:
    """The returning officer's review: every contest's nominations, with their statements."""
    contests = list_nominations(election)
    return render_template(
        "elections/nominations.html",
        institution=institution,
        election=election,
        contests=contests,
        waiting=sum(
            1
            for _, candidates in contests
            for c in candidates
            if c.status == CandidateStatus.nominated
        ),
        can_decide=can_decide_now(election, today()),
    )


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/nominations/<int:candidate_id>/decide",
    methods=["GET", "POST"],
)
@election_view(Role.returning_officer, only=is_returning_officer, denied=ONLY_THE_OFFICER)
def nomination_decide(
    institution: Institution, election: Election, candidate: Candidate
) -> ResponseReturnValue:
    """The returning officer marks one nomination valid, or invalid with a reason."""
    decided = candidate.status in {CandidateStatus.valid, CandidateStatus.invalid}
    form = NominationDecisionForm(
        data={"decision": candidate.status.value, "reason": candidate.reason} if decided else None
    )
    if form.validate_on_submit():
        is_valid = form.decision.data == "valid"
        begin_writing()
        try:
            changed = decide_nomination(
                current_actor(),
                candidate,
                valid=is_valid,
                reason=form.reason.data or "",
                today=today(),
            )
        except NominationRefused as error:
            db.session.rollback()
            if not _field_error(form, error):
                raise
        else:
            db.session.commit()
            if not changed:
                flash("Nothing was changed.")
            else:
                flash(
                    f"You marked {candidate.ballot_name}'s nomination "
                    f"{'valid' if is_valid else 'invalid'}. They have been told."
                )
            return redirect(
                url_for("elections.nominations", slug=institution.slug, election_id=election.id)
            )
    return render_template(
        "elections/nomination_decide.html",
        institution=institution,
        election=election,
        candidate=candidate,
        can_decide=candidate.status != CandidateStatus.withdrawn
        and can_decide_now(election, today()),
        form=form,
    ), (400 if form.errors else 200)


@bp.route("/institutions/<slug>/elections/<int:election_id>/candidates")
@election_view(PUBLIC, states=is_published)
def statement_of_candidates(institution: Institution, election: Election) -> str:
    """Public: the statement of candidates, each contest's valid candidates with their
    statements, from the close of nominations ("not yet published" while they are open)."""
    published = is_statement_published(election)
    return render_template(
        "elections/candidates.html",
        institution=institution,
        election=election,
        is_published=published,
        contests=[(c, valid_candidates(c)) for c in election.contests] if published else [],
        waiting=count_undecided(election) if published else 0,
    )


@bp.app_context_processor
def _election_links() -> dict[str, Any]:
    """Let any page list an institution's current elections (the member's home page does)."""
    return {"current_elections": list_current_elections}
