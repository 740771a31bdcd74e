"""Board election pages for the public: each contest's trackers, turnout, the result with
every stage of the count, and the anonymised ballots to recount."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role
from assembly.auth.permissions import PUBLIC
from assembly.counting import write_blt
from assembly.elections.access import election_view
from assembly.elections.charts import stage_chart
from assembly.elections.count import contest_profile, read_results
from assembly.elections.models import Contest, Election
from assembly.elections.queries import can_see_results
from assembly.elections.states import ElectionState
from assembly.elections.views.blueprint import STATE_LABELS, bp
from assembly.elections.voting import POLL_STARTED, count_turnout, list_trackers
from assembly.extensions import db
from assembly.membership.models import Institution

#: Trackers per page of the public list.
TRACKERS_PER_PAGE = 100
#: From these states on, turnout is public.
TURNOUT_PUBLIC = {ElectionState.poll_closed, ElectionState.counted, ElectionState.declared}


@bp.route("/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/trackers")
@election_view(PUBLIC, states=POLL_STARTED)
def trackers(institution: Institution, election: Election, contest: Contest) -> str:
    """Public: the trackers of the ballots cast so far in a contest, sorted; nothing else."""
    page = db.paginate(list_trackers(contest), per_page=TRACKERS_PER_PAGE, error_out=False)
    return render_template(
        "elections/trackers.html",
        institution=institution,
        election=election,
        contest=contest,
        page=page,
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/turnout")
@election_view(Role.secretary, Role.returning_officer, public_in=TURNOUT_PUBLIC)
def turnout(institution: Institution, election: Election) -> ResponseReturnValue:
    """Each contest's roll and votes cast so far: live for the secretary and returning
    officers during the poll, public once it has closed."""
    return render_template(
        "elections/turnout.html",
        institution=institution,
        election=election,
        rows=count_turnout(election),
        is_started=election.state in POLL_STARTED,
        state_labels=STATE_LABELS,
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/results")
@election_view(PUBLIC, only=can_see_results)
def results(institution: Institution, election: Election) -> str:
    """Who is elected in each contest, every stage of the count, a chart, and turnout."""
    counts = read_results(election)
    return render_template(
        "elections/results.html",
        institution=institution,
        election=election,
        counts=counts,
        chart=stage_chart,
        can_declare=election.state == ElectionState.counted
        and current_user.is_authenticated
        and current_user.id == election.returning_officer_id,
        form=ConfirmForm(),
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/ballots.blt")
@election_view(PUBLIC, only=can_see_results)
def contest_blt(
    institution: Institution, election: Election, contest: Contest
) -> ResponseReturnValue:
    """The contest's ballots, anonymised and aggregated, as a BLT file anyone can recount."""
    if contest.is_uncontested:
        abort(404)
    text = write_blt(
        contest_profile(contest),
        contest.seats,
        f"{election.title}: {contest.constituency.name}",
    )
    return Response(
        text,
        mimetype="text/plain",
        headers={
            "Content-Disposition": (
                f'attachment; filename="election-{election.id}-{contest.constituency.key}.blt"'
            )
        },
    )
