"""Board election pages for paper and postal ballots: the returning officer, the secretary and
tellers enter each batch twice, independently, and it counts only when both entries match."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.elections.access import election_view
from assembly.elections.count import ballot_candidates as ballot_candidates_in_order
from assembly.elections.forms import PaperBatchForm
from assembly.elections.models import Contest, Election
from assembly.elections.paper import can_enter_paper, discard_batch, enter_batch, parse_batch
from assembly.elections.views.blueprint import bp
from assembly.errors import DomainError
from assembly.extensions import begin_writing, db
from assembly.membership.models import Institution
from assembly.polls.models import BatchStatus, PaperBatch


def _check_paper_contest(contest: Contest) -> None:
    """Refuse (404) a contest with no poll, or one whose papers this visitor does not enter."""
    if contest.is_uncontested or not can_enter_paper(current_user, contest):
        abort(404)


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/paper",
    methods=["GET", "POST"],
)
@election_view(Role.returning_officer, Role.secretary, Role.teller)
def paper_batches(
    institution: Institution, election: Election, contest: Contest
) -> ResponseReturnValue:
    """Enter a batch of paper or postal ballots (twice, by two people) and see the batches."""
    _check_paper_contest(contest)
    form = PaperBatchForm()
    problem = None
    if form.validate_on_submit():
        # As a writer from here: on SQLite two entries at once (a double click) would
        # otherwise both read, and the second to write fail with "database is locked".
        begin_writing()
        try:
            entry = parse_batch(form.voters.data or "", form.papers.data or "", contest)
            batch, accepted = enter_batch(current_actor(), contest, form.label.data or "", entry)
        except DomainError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            if accepted:
                flash(
                    f"Both entries of {batch.label} match: {len(entry.papers)} ballot(s) accepted."
                )
            elif batch.status == BatchStatus.rejected:
                flash(
                    f"The two entries of {batch.label} differ, so it is rejected and nothing of "
                    "it counts. Check the papers and enter the batch again, twice."
                )
            else:
                flash(f"First entry of {batch.label} saved. Someone else now enters it again.")
            return redirect(request.path)
    batches = db.session.scalars(
        select(PaperBatch)
        .where(PaperBatch.poll_id == contest.poll_id)
        .order_by(PaperBatch.id.desc())
    ).all()
    return render_template(
        "elections/paper.html",
        institution=institution,
        election=contest.election,
        contest=contest,
        candidates=ballot_candidates_in_order(contest),
        batches=batches,
        form=form,
        problem=problem,
        confirm=ConfirmForm(),
    ), (400 if problem or form.errors else 200)


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/paper/"
    "<int:batch_id>/discard",
    methods=["POST"],
)
@election_view(Role.returning_officer, Role.secretary, Role.teller)
def paper_batch_discard(
    institution: Institution, election: Election, contest: Contest, batch: PaperBatch
) -> ResponseReturnValue:
    """Set aside a batch waiting for its second entry."""
    _check_paper_contest(contest)
    # Made before the commit, which expires the rows it names.
    back = url_for(
        "elections.paper_batches",
        slug=institution.slug,
        election_id=election.id,
        contest_id=contest.id,
    )
    if ConfirmForm().validate_on_submit():
        begin_writing()
        discard_batch(current_actor(), contest, batch)
        db.session.commit()
        flash(f"{batch.label} is set aside: nothing of it counts.")
    return redirect(back)
