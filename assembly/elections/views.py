"""Board election pages: the list, set-up (with seats shown as they change), the election's
page, returning officer approval and cancellation."""

from __future__ import annotations

import json
from datetime import timedelta
from fractions import Fraction
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user, user_logged_out
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role, RoleGrant, User
from assembly.auth.permissions import (
    account_checked_by_view,
    can_manage,
    institution_view,
    roles_in,
)
from assembly.auth.queries import get_user
from assembly.clock import long_date, today
from assembly.counting import write_blt
from assembly.elections.charts import stage_chart
from assembly.elections.count import ballot_candidates as ballot_candidates_in_order
from assembly.elections.count import (
    contest_profile,
    count_election,
    declare_election,
    read_results,
    seed_commitment,
)
from assembly.elections.forms import (
    DATE_FIELDS,
    METHOD_LABELS,
    ORDER_LABELS,
    BallotForm,
    CancelForm,
    ElectionForm,
    NominationDecisionForm,
    NominationForm,
    PaperBatchForm,
    ballot_marks,
    election_form,
)
from assembly.elections.models import (
    Candidate,
    CandidateOrder,
    CandidateStatus,
    Contest,
    CountMethod,
    Election,
    PaperBatch,
    PaperBatchStatus,
    RollEntry,
)
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
from assembly.elections.notices import key_fingerprints
from assembly.elections.operations import (
    ElectionSettings,
    approve_election,
    cancel_election,
    create_election,
    is_settings_locked,
    preview_seats,
    settings_of,
    timetable_rules,
    update_election,
)
from assembly.elections.paper import can_enter_paper, discard_batch, enter_batch, parse_batch
from assembly.elections.states import ElectionState
from assembly.elections.timetable import Timetable, suggest_timetable
from assembly.elections.voting import (
    POLL_STARTED,
    ballot_candidates,
    cast_marks,
    check_contest_open,
    check_poll_open,
    count_turnout,
    get_roll_entry,
    has_voted,
    list_trackers,
)
from assembly.errors import DomainError, NotEligible
from assembly.extensions import begin_writing, db, limiter, login_manager, refused
from assembly.membership.models import Institution, Membership, Person
from assembly.membership.operations import parse_weight
from assembly.membership.queries import get_institution
from assembly.polls.marks import InvalidBallot, ranking_from_marks
from assembly.records.canonical import rational

bp = Blueprint("elections", __name__)

STATE_LABELS = {
    "draft": "Draft",
    "approved": "Approved",
    "nominations_open": "Nominations open",
    "nominations_closed": "Nominations closed",
    "poll_open": "Poll open",
    "poll_closed": "Poll closed",
    "counted": "Counted",
    "declared": "Declared",
    "cancelled": "Cancelled",
}

PAGE_SIZE = 20
#: Weeks from today to the default close of poll on a new election's form.
DEFAULT_WEEKS = 12
#: Lots for a tie in the seats shown before an election exists (its own seed decides later).
PREVIEW_SEED = "0" * 64


def _get_election(institution: Institution, election_id: int) -> Election:
    election = db.session.get(Election, election_id)
    if election is None or election.institution_id != institution.id:
        abort(404)
    return election


def _officers(institution: Institution) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                RoleGrant.institution_id == institution.id,
                RoleGrant.role == Role.returning_officer,
                RoleGrant.revoked_at.is_(None),
            )
            .order_by(User.display_name, User.email)
        )
    )


def _prepare(form: ElectionForm, institution: Institution) -> None:
    form.returning_officer.choices = [(0, "Choose later")] + [
        (u.id, f"{u.display_name or u.email} ({u.email})") for u in _officers(institution)
    ]


def _defaults(institution: Institution) -> dict[str, object]:
    timetable = suggest_timetable(
        today() + timedelta(weeks=DEFAULT_WEEKS), timetable_rules(institution)
    )
    values: dict[str, object] = {
        "seats": 9,
        "returning_officer": 0,
        **{name: getattr(timetable, name) for name, _ in DATE_FIELDS},
    }
    for constituency in institution.constituencies:
        values[f"weight_{constituency.key}"] = rational(constituency.weight)
        values[f"method_{constituency.key}"] = CountMethod.stv.value
    return values


def _values_of(election: Election) -> dict[str, object]:
    settings = settings_of(election)
    values: dict[str, object] = {
        "title": settings.title,
        "seats": settings.seats,
        "apportionment": settings.apportionment,
        "candidate_order": settings.candidate_order.value,
        "reminder_days_before_close": settings.reminder_days_before_close,
        "returning_officer": settings.returning_officer_id or 0,
        **{name: getattr(settings.timetable, name) for name, _ in DATE_FIELDS},
    }
    for key, weight in settings.weights.items():
        values[f"weight_{key}"] = rational(weight)
        values[f"method_{key}"] = settings.methods[key].value
    return values


#: A problem to show in the error summary: the id of the field it is about (or "") and why.
Problem = tuple[str, str]


def _settings(
    form: ElectionForm, institution: Institution, problems: list[Problem]
) -> ElectionSettings | None:
    """Read a validated form into settings; weights that are not numbers become problems."""
    weights: dict[str, Fraction] = {}
    methods: dict[str, CountMethod] = {}
    for constituency in institution.constituencies:
        field = form[f"weight_{constituency.key}"]
        try:
            weights[constituency.key] = parse_weight(field.data or "")
        except DomainError as error:
            field.errors = [*field.errors, error.message]
            problems.append((field.id, f"{constituency.name}: {error.message}"))
        methods[constituency.key] = CountMethod(form[f"method_{constituency.key}"].data)
    if problems:
        return None
    return ElectionSettings(
        title=form.title.data or "",
        seats=form.seats.data or 0,
        apportionment=form.apportionment.data or "",
        weights=weights,
        methods=methods,
        timetable=Timetable(**{name: form[name].data for name, _ in DATE_FIELDS}),
        candidate_order=CandidateOrder(form.candidate_order.data),
        reminder_days_before_close=form.reminder_days_before_close.data or 0,
        returning_officer_id=form.returning_officer.data or None,
    )


def _seat_preview(
    institution: Institution, settings: ElectionSettings | None, seed: str
) -> dict[str, int] | None:
    if settings is None:
        return None
    try:
        return preview_seats(
            institution, settings.seats, settings.weights, settings.apportionment, seed
        )
    except DomainError:
        return None


def _render_form(
    institution: Institution,
    form: ElectionForm,
    election: Election | None,
    seats: dict[str, int] | None,
    problems: list[Problem],
) -> ResponseReturnValue:
    total = sum(seats.values()) if seats else 0
    majority = [c for c in institution.constituencies if seats and seats[c.key] * 2 > total]
    return render_template(
        "elections/election_form.html",
        institution=institution,
        election=election,
        form=form,
        seats=seats,
        majority=majority,
        rules=timetable_rules(institution),
        date_fields=DATE_FIELDS,
        problems=problems,
    ), (400 if problems else 200)


def _save(
    institution: Institution, form: ElectionForm, election: Election | None
) -> ResponseReturnValue:
    """Handle the form's two buttons: "Show the seats" shows them, "Save" saves."""
    problems: list[Problem] = []
    settings = None
    if form.validate_on_submit():
        settings = _settings(form, institution, problems)
    else:
        problems += [(form[name].id, e) for name, errors in form.errors.items() for e in errors]
    seed = election.seed if election is not None else PREVIEW_SEED
    seats = _seat_preview(institution, settings, seed)
    if settings is None or "preview" in request.form:
        return _render_form(institution, form, election, seats, problems)
    try:
        if election is None:
            election = create_election(current_actor(), institution, settings)
            message = "The election is set up as a draft. The returning officer approves it next."
        else:
            was_approved = election.state == ElectionState.approved
            changed = update_election(current_actor(), election, settings)
            message = "Saved." if changed else "Nothing was changed."
            if changed and was_approved:
                message += " The returning officer needs to approve the election again."
    except DomainError as error:
        db.session.rollback()
        problems.append(("", error.message))
        return _render_form(institution, form, election, seats, problems)
    db.session.commit()
    flash(message)
    return redirect(url_for("elections.election", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections")
@institution_view(Role.secretary, Role.returning_officer)
def elections(institution: Institution) -> str:
    """The institution's board elections, newest first."""
    page = db.paginate(
        select(Election)
        .where(Election.institution_id == institution.id)
        .order_by(Election.poll_closes_on.desc(), Election.id.desc()),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    return render_template(
        "elections/elections.html",
        institution=institution,
        page=page,
        can_set_up=can_manage(current_user, institution),
        state_labels=STATE_LABELS,
    )


@bp.route("/institutions/<slug>/elections/new", methods=["GET", "POST"])
@institution_view(Role.secretary)
def election_new(institution: Institution) -> ResponseReturnValue:
    """Set up a board election: seats, weights, methods, timetable, returning officer."""
    form = election_form(
        institution, data=None if request.method == "POST" else _defaults(institution)
    )
    _prepare(form, institution)
    if request.method == "POST":
        return _save(institution, form, None)
    settings = _settings(form, institution, [])
    return _render_form(
        institution, form, None, _seat_preview(institution, settings, PREVIEW_SEED), []
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>")
@institution_view(Role.secretary, Role.returning_officer)
def election(institution: Institution, election_id: int) -> str:
    """An election: its state, timetable, contests and seats, and the next steps."""
    election = _get_election(institution, election_id)
    seats = {c.constituency.key: c.seats for c in election.contests}
    majority = [c for c in election.contests if c.seats * 2 > election.seats]
    is_officer = current_user.id == election.returning_officer_id
    return render_template(
        "elections/election.html",
        institution=institution,
        election=election,
        seats=seats,
        majority=majority,
        can_edit=can_manage(current_user, institution) and not is_settings_locked(election),
        can_approve=is_officer and election.state == ElectionState.draft,
        can_count=is_officer and election.state == ElectionState.poll_closed,
        can_cancel=(can_manage(current_user, institution) or is_officer)
        and election.state not in {ElectionState.declared, ElectionState.cancelled},
        form=ConfirmForm(),
        date_fields=DATE_FIELDS,
        state_labels=STATE_LABELS,
        method_labels=METHOD_LABELS,
        order_labels=ORDER_LABELS,
        # The seed is fixed when the set-up is approved: from then on its commitment is shown.
        seed_sha256=seed_commitment(election)
        if election.state not in {ElectionState.draft, ElectionState.cancelled}
        else "",
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/edit", methods=["GET", "POST"])
@institution_view(Role.secretary)
def election_edit(institution: Institution, election_id: int) -> ResponseReturnValue:
    """Change a draft or approved election (an approved one needs approving again)."""
    election = _get_election(institution, election_id)
    if is_settings_locked(election):
        flash("The settings are fixed once nominations have opened.")
        return redirect(
            url_for("elections.election", slug=institution.slug, election_id=election.id)
        )
    form = election_form(
        institution, data=None if request.method == "POST" else _values_of(election)
    )
    _prepare(form, institution)
    if request.method == "POST":
        return _save(institution, form, election)
    return _render_form(
        institution, form, election, {c.constituency.key: c.seats for c in election.contests}, []
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/approve", methods=["POST"])
@institution_view(Role.returning_officer)
def election_approve(institution: Institution, election_id: int) -> ResponseReturnValue:
    """The returning officer approves the set-up."""
    election = _get_election(institution, election_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        approve_election(current_actor(), election, today=today())
        db.session.commit()
        flash(
            "You approved the election. Its settings are locked: a change needs your approval "
            "again."
        )
    return redirect(url_for("elections.election", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/cancel", methods=["GET", "POST"])
@institution_view(Role.secretary, Role.returning_officer)
def election_cancel(institution: Institution, election_id: int) -> ResponseReturnValue:
    """Ask why, then cancel the election."""
    election = _get_election(institution, election_id)
    form = CancelForm()
    if form.validate_on_submit():
        cancel_election(current_actor(), election, form.reason.data or "")
        db.session.commit()
        flash("The election is cancelled.")
        return redirect(
            url_for("elections.election", slug=institution.slug, election_id=election.id)
        )
    return render_template(
        "elections/election_cancel.html", institution=institution, election=election, form=form
    ), (400 if form.errors else 200)


# --- voting ----------------------------------------------------------------------------------

#: Trackers per page of the public list.
TRACKERS_PER_PAGE = 100
#: The session key under which the voter's own browser keeps their receipts. The server keeps
#: no link between a voter and their tracker; the signed session cookie, which only that
#: browser holds, carries it to the receipt page.
RECEIPTS = "vote_receipts"


def _no_store(body: str, status: int = 200) -> Response:
    """A page with the voter's choices or tracker on it: never kept by a cache or the browser."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _public_election(slug: str, election_id: int) -> tuple[Institution, Election]:
    """The institution and its election, in one query (voters' pages are the busiest)."""
    election = db.session.scalars(
        select(Election)
        .join(Election.institution)
        .options(contains_eager(Election.institution))
        .where(Institution.slug == slug, Election.id == election_id)
    ).first()
    if election is None:
        abort(404)
    return election.institution, election


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
        ),
        400 if problem else 200,
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote", methods=["GET", "POST"])
@login_required
def vote(slug: str, election_id: int) -> ResponseReturnValue:
    """The member's ballot (their contest only); a posted ballot is checked and shown back for
    review, or shown again with what to correct; "Change" on the review goes back to it."""
    institution, election = _public_election(slug, election_id)
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
    institution, election = _public_election(slug, election_id)
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
@login_required
def vote_receipt(slug: str, election_id: int) -> ResponseReturnValue:
    """The voter's receipt: their tracker and ballot hash, from their own session."""
    institution, election = _public_election(slug, election_id)
    entry = _voter_entry(institution, election)
    receipt = _session_receipt(election_id)
    if receipt is None:
        return redirect(url_for("elections.vote", slug=slug, election_id=election_id))
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
@login_required
def vote_receipt_file(slug: str, election_id: int) -> ResponseReturnValue:
    """The voter's receipt signed by the election key, as a file to keep and to check against
    the published record (``assembly verify RECORD --receipt FILE``)."""
    _public_election(slug, election_id)
    receipt = _session_receipt(election_id)
    if receipt is None or not receipt.get("signed"):
        abort(404)
    response = _no_store(json.dumps(receipt["signed"], indent=1, sort_keys=True) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="receipt-{slug}-{election_id}.json"'
    )
    return response


@bp.route("/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/trackers")
def trackers(slug: str, election_id: int, contest_id: int) -> str:
    """Public: the trackers of the ballots cast so far in a contest, sorted; nothing else."""
    institution, election = _public_election(slug, election_id)
    contest = db.session.get(Contest, contest_id)
    if contest is None or contest.election_id != election.id or election.state not in POLL_STARTED:
        abort(404)
    page = db.paginate(list_trackers(contest), per_page=TRACKERS_PER_PAGE, error_out=False)
    return render_template(
        "elections/trackers.html",
        institution=institution,
        election=election,
        contest=contest,
        page=page,
    )


#: From these states on, turnout is public.
TURNOUT_PUBLIC = {ElectionState.poll_closed, ElectionState.counted, ElectionState.declared}


@bp.route("/institutions/<slug>/elections/<int:election_id>/turnout")
def turnout(slug: str, election_id: int) -> ResponseReturnValue:
    """Each contest's roll and votes cast so far: live for the secretary and returning
    officers during the poll, public once it has closed."""
    institution, election = _public_election(slug, election_id)
    if election.state not in TURNOUT_PUBLIC:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_platform_admin and not (
            roles_in(current_user, institution) & {Role.secretary, Role.returning_officer}
        ):
            abort(403)
    return render_template(
        "elections/turnout.html",
        institution=institution,
        election=election,
        rows=count_turnout(election),
        is_started=election.state in POLL_STARTED,
        state_labels=STATE_LABELS,
    )


# --- nominations -----------------------------------------------------------------------------


def _noticed_election(slug: str, election_id: int) -> tuple[Institution, Election]:
    """The institution and election, if its notice is out (members and the public see it)."""
    institution = get_institution(slug)
    if institution is None:
        abort(404)
    election = _get_election(institution, election_id)
    if not is_published(election):
        abort(404)
    return institution, election


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


def _officer_election(institution: Institution, election_id: int) -> Election:
    """The election, if the signed-in user is its returning officer."""
    election = _get_election(institution, election_id)
    if current_user.id != election.returning_officer_id:
        raise NotEligible("Only the election's returning officer checks its nominations.")
    return election


def _field_error(form: Any, error: NominationRefused) -> bool:
    """Show a refused detail beside its field; return False if it belongs to no field."""
    if not error.field or error.field not in form:
        return False
    form[error.field].errors = [*form[error.field].errors, error.message]
    return True


@bp.route("/institutions/<slug>/elections/<int:election_id>/nomination")
@login_required
def nomination(slug: str, election_id: int) -> str:
    """The member's page for an election: whether they can stand, and their nomination."""
    institution, election = _noticed_election(slug, election_id)
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
@login_required
def nomination_new(slug: str, election_id: int) -> ResponseReturnValue:
    """Stand as a candidate in the member's own constituency's contest."""
    institution, election = _noticed_election(slug, election_id)
    membership, contest = _member_contest(institution, election)
    page = url_for("elections.nomination", slug=slug, election_id=election_id)
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
@login_required
def nomination_withdraw(slug: str, election_id: int) -> ResponseReturnValue:
    """Ask the candidate to confirm, then withdraw their nomination for good."""
    institution, election = _noticed_election(slug, election_id)
    membership, contest = _member_contest(institution, election)
    candidate = get_nomination(contest, membership.person_id)
    if candidate is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        begin_writing()
        withdraw_nomination(current_actor(), candidate, today=today())
        db.session.commit()
        flash("You have withdrawn your nomination.")
        return redirect(url_for("elections.nomination", slug=slug, election_id=election_id))
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
@institution_view(Role.returning_officer)
def nominations(institution: Institution, election_id: int) -> str:
    """The returning officer's review: every contest's nominations, with their statements."""
    election = _officer_election(institution, election_id)
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
@institution_view(Role.returning_officer)
def nomination_decide(
    institution: Institution, election_id: int, candidate_id: int
) -> ResponseReturnValue:
    """The returning officer marks one nomination valid, or invalid with a reason."""
    election = _officer_election(institution, election_id)
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None or candidate.contest.election_id != election.id:
        abort(404)
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
def statement_of_candidates(slug: str, election_id: int) -> str:
    """Public: the statement of candidates, each contest's valid candidates with their
    statements, from the close of nominations ("not yet published" while they are open)."""
    institution, election = _noticed_election(slug, election_id)
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


# -- count, result and declaration ----------------------------------------------------------


def _results_visible(institution: Institution, election: Election) -> bool:
    """Results are public once declared; the secretary and returning officer see them from
    the count."""
    if election.state == ElectionState.declared:
        return True
    if election.state != ElectionState.counted or not current_user.is_authenticated:
        return False
    return bool(
        can_manage(current_user, institution) or current_user.id == election.returning_officer_id
    )


def _counted_election(slug: str, election_id: int) -> tuple[Institution, Election]:
    """The election, if its results may be shown to this visitor (else 404)."""
    institution, election = _public_election(slug, election_id)
    if not _results_visible(institution, election):
        abort(404)
    return institution, election


@bp.route("/institutions/<slug>/elections/<int:election_id>/count", methods=["POST"])
@institution_view(Role.returning_officer)
def election_count(institution: Institution, election_id: int) -> ResponseReturnValue:
    """The returning officer counts the closed poll with the counting core."""
    election = _get_election(institution, election_id)
    if ConfirmForm().validate_on_submit():
        count_election(current_actor(), election)
        db.session.commit()
        flash("The votes are counted. Check the result, then declare it.")
    return redirect(url_for("elections.results", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/declare", methods=["POST"])
@institution_view(Role.returning_officer)
def election_declare(institution: Institution, election_id: int) -> ResponseReturnValue:
    """The returning officer declares the counted result; every member is told."""
    election = _get_election(institution, election_id)
    if ConfirmForm().validate_on_submit():
        declare_election(current_actor(), election)
        db.session.commit()
        flash("You declared the result. The declaration is on its way to every member.")
    return redirect(url_for("elections.results", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/results")
def results(slug: str, election_id: int) -> str:
    """Who is elected in each contest, every stage of the count, a chart, and turnout."""
    institution, election = _counted_election(slug, election_id)
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
def contest_blt(slug: str, election_id: int, contest_id: int) -> ResponseReturnValue:
    """The contest's ballots, anonymised and aggregated, as a BLT file anyone can recount."""
    _, election = _counted_election(slug, election_id)
    contest = next((c for c in election.contests if c.id == contest_id), None)
    if contest is None or contest.is_uncontested:
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


# -- paper and postal ballots ---------------------------------------------------------------


def _paper_contest(institution: Institution, election_id: int, contest_id: int) -> Contest:
    election = _get_election(institution, election_id)
    contest = next((c for c in election.contests if c.id == contest_id), None)
    if contest is None or contest.is_uncontested or not can_enter_paper(current_user, contest):
        abort(404)
    return contest


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/contests/<int:contest_id>/paper",
    methods=["GET", "POST"],
)
@institution_view(Role.returning_officer, Role.secretary, Role.teller)
def paper_batches(
    institution: Institution, election_id: int, contest_id: int
) -> ResponseReturnValue:
    """Enter a batch of paper or postal ballots (twice, by two people) and see the batches."""
    contest = _paper_contest(institution, election_id, contest_id)
    form = PaperBatchForm()
    problem = None
    if form.validate_on_submit():
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
            elif batch.status == PaperBatchStatus.rejected:
                flash(
                    f"The two entries of {batch.label} differ, so it is rejected and nothing of "
                    "it counts. Check the papers and enter the batch again, twice."
                )
            else:
                flash(f"First entry of {batch.label} saved. Someone else now enters it again.")
            return redirect(request.path)
    batches = db.session.scalars(
        select(PaperBatch).where(PaperBatch.contest_id == contest.id).order_by(PaperBatch.id.desc())
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
@institution_view(Role.returning_officer, Role.secretary, Role.teller)
def paper_batch_discard(
    institution: Institution, election_id: int, contest_id: int, batch_id: int
) -> ResponseReturnValue:
    """Set aside a batch waiting for its second entry."""
    contest = _paper_contest(institution, election_id, contest_id)
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None or batch.contest_id != contest.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        discard_batch(current_actor(), batch)
        db.session.commit()
        flash(f"{batch.label} is set aside: nothing of it counts.")
    return redirect(
        url_for(
            "elections.paper_batches",
            slug=institution.slug,
            election_id=election_id,
            contest_id=contest_id,
        )
    )


# -- printed letters for members without an email address ------------------------------------

LETTERS = {
    "notice_of_election": "Notice of election",
    "voting_information": "Voting information and ballot paper",
}


@bp.route("/institutions/<slug>/elections/<int:election_id>/letters/<kind>")
@institution_view(Role.secretary, Role.returning_officer)
def letters(institution: Institution, election_id: int, kind: str) -> ResponseReturnValue:
    """A batch of print-ready letters, one per page, for the members the notices could not
    reach by email: the notice of election, or voting information with a ballot paper."""
    election = _get_election(institution, election_id)
    if kind not in LETTERS:
        abort(404)
    if kind == "notice_of_election":
        if election.state in {ElectionState.draft, ElectionState.approved}:
            abort(404)
        rows: list[tuple[Membership | None, RollEntry | None, list[Candidate] | None]] = [
            (membership, None, None)
            for membership in db.session.scalars(
                select(Membership)
                .join(Person, Person.id == Membership.person_id)
                .where(
                    Membership.institution_id == institution.id,
                    Membership.left_on.is_(None),
                    (Person.email.is_(None)) | (Person.email == ""),
                )
                .order_by(Person.family_name, Person.given_name)
            )
        ]
    else:
        if election.state not in {ElectionState.poll_open, ElectionState.poll_closed}:
            abort(404)
        rows = [
            (None, entry, ballot_candidates_in_order(entry.contest))
            for entry in db.session.scalars(
                select(RollEntry)
                .join(Person, Person.id == RollEntry.person_id)
                .join(Contest, Contest.id == RollEntry.contest_id)
                .where(
                    Contest.election_id == election.id,
                    Contest.is_uncontested.is_(False),
                    (Person.email.is_(None)) | (Person.email == ""),
                )
                .order_by(Contest.id, RollEntry.number)
            )
        ]
    return render_template(
        "elections/letters.html",
        institution=institution,
        election=election,
        kind=kind,
        title=LETTERS[kind],
        rows=rows,
        keys=key_fingerprints(election) if kind == "voting_information" else {},
        seed_sha256=seed_commitment(election),
    )
