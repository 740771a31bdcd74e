"""Board election pages for the secretary and the returning officer: the list, set-up (with
the seats shown as they change), the election's page, approval, cancellation, the count and
declaration, and printed letters for members without an email address."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from assembly.auth.actors import current_actor
from assembly.auth.forms import ConfirmForm
from assembly.auth.models import Role, RoleGrant, User
from assembly.auth.permissions import can_manage, institution_view
from assembly.clock import today
from assembly.counting.rulesets import DEFAULT_RULES
from assembly.elections.access import election_view
from assembly.elections.count import ballot_candidates as ballot_candidates_in_order
from assembly.elections.count import count_election, declare_election, seed_commitment
from assembly.elections.forms import (
    DATE_FIELDS,
    ORDER_LABELS,
    CancelForm,
    ElectionForm,
    counting_choice,
    counting_label,
    election_form,
    read_counting_choice,
)
from assembly.elections.models import (
    Candidate,
    CandidateOrder,
    Contest,
    CountMethod,
    Election,
    RollEntry,
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
from assembly.elections.queries import e2e_problems
from assembly.elections.states import ElectionState
from assembly.elections.timetable import Timetable, suggest_timetable
from assembly.elections.views.blueprint import STATE_LABELS, bp
from assembly.errors import DomainError
from assembly.extensions import db
from assembly.membership.models import Institution, Membership, Person
from assembly.membership.operations import parse_weight
from assembly.records.canonical import rational

PAGE_SIZE = 20
#: Weeks from today to the default close of poll on a new election's form.
DEFAULT_WEEKS = 12
#: Lots for a tie in the seats shown before an election exists (its own seed decides later).
PREVIEW_SEED = "0" * 64


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
        "e2e": settings.e2e,
        **{name: getattr(settings.timetable, name) for name, _ in DATE_FIELDS},
    }
    for key, weight in settings.weights.items():
        values[f"weight_{key}"] = rational(weight)
        values[f"method_{key}"] = counting_choice(
            settings.methods[key], settings.rules.get(key, DEFAULT_RULES)
        )
    return values


#: A problem to show in the error summary: the id of the field it is about (or "") and why.
Problem = tuple[str, str]


def _settings(
    form: ElectionForm, institution: Institution, problems: list[Problem]
) -> ElectionSettings | None:
    """Read a validated form into settings; weights that are not numbers become problems."""
    weights: dict[str, Fraction] = {}
    methods: dict[str, CountMethod] = {}
    rules: dict[str, str] = {}
    for constituency in institution.constituencies:
        field = form[f"weight_{constituency.key}"]
        try:
            weights[constituency.key] = parse_weight(field.data or "")
        except DomainError as error:
            field.errors = [*field.errors, error.message]
            problems.append((field.id, f"{constituency.name}: {error.message}"))
        methods[constituency.key], rules[constituency.key] = read_counting_choice(
            form[f"method_{constituency.key}"].data
        )
    if problems:
        return None
    return ElectionSettings(
        title=form.title.data or "",
        seats=form.seats.data or 0,
        apportionment=form.apportionment.data or "",
        weights=weights,
        methods=methods,
        rules=rules,
        timetable=Timetable(**{name: form[name].data for name, _ in DATE_FIELDS}),
        candidate_order=CandidateOrder(form.candidate_order.data),
        reminder_days_before_close=form.reminder_days_before_close.data or 0,
        returning_officer_id=form.returning_officer.data or None,
        e2e=bool(form.e2e.data),
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
@election_view(Role.secretary, Role.returning_officer)
def election(institution: Institution, election: Election) -> str:
    """An election: its state, timetable, contests and seats, and the next steps."""
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
        counting_label=counting_label,
        order_labels=ORDER_LABELS,
        # The seed is fixed when the set-up is approved: from then on its commitment is shown.
        seed_sha256=seed_commitment(election)
        if election.state not in {ElectionState.draft, ElectionState.cancelled}
        else "",
        # What the timer waits for before it opens an end-to-end verifiable poll.
        e2e_waiting=e2e_problems(election) if election.state in _BEFORE_POLL else [],
    )


_BEFORE_POLL = {
    ElectionState.approved,
    ElectionState.nominations_open,
    ElectionState.nominations_closed,
}


def _is_editable(election: Election) -> bool:
    """The settings may change until nominations open."""
    return not is_settings_locked(election)


def _settings_fixed(institution: Institution, election: Election) -> ResponseReturnValue:
    """Back to the election's page, saying why its settings cannot change."""
    flash("The settings are fixed once nominations have opened.")
    return redirect(url_for("elections.election", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/edit", methods=["GET", "POST"])
@election_view(Role.secretary, states=_is_editable, not_now=_settings_fixed)
def election_edit(institution: Institution, election: Election) -> ResponseReturnValue:
    """Change a draft or approved election (an approved one needs approving again)."""
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
@election_view(Role.returning_officer)
def election_approve(institution: Institution, election: Election) -> ResponseReturnValue:
    """The returning officer approves the set-up."""
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
@election_view(Role.secretary, Role.returning_officer)
def election_cancel(institution: Institution, election: Election) -> ResponseReturnValue:
    """Ask why, then cancel the election."""
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


# -- count and declaration ------------------------------------------------------------------


@bp.route("/institutions/<slug>/elections/<int:election_id>/count", methods=["POST"])
@election_view(Role.returning_officer)
def election_count(institution: Institution, election: Election) -> ResponseReturnValue:
    """The returning officer counts the closed poll with the counting core."""
    if ConfirmForm().validate_on_submit():
        count_election(current_actor(), election)
        db.session.commit()
        flash("The votes are counted. Check the result, then declare it.")
    return redirect(url_for("elections.results", slug=institution.slug, election_id=election.id))


@bp.route("/institutions/<slug>/elections/<int:election_id>/declare", methods=["POST"])
@election_view(Role.returning_officer)
def election_declare(institution: Institution, election: Election) -> ResponseReturnValue:
    """The returning officer declares the counted result; every member is told."""
    if ConfirmForm().validate_on_submit():
        declare_election(current_actor(), election)
        db.session.commit()
        flash("You declared the result. The declaration is on its way to every member.")
    return redirect(url_for("elections.results", slug=institution.slug, election_id=election.id))


# -- printed letters for members without an email address ------------------------------------

LETTERS = {
    "notice_of_election": "Notice of election",
    "voting_information": "Voting information and ballot paper",
}


@bp.route("/institutions/<slug>/elections/<int:election_id>/letters/<kind>")
@election_view(Role.secretary, Role.returning_officer)
def letters(institution: Institution, election: Election, kind: str) -> ResponseReturnValue:
    """A batch of print-ready letters, one per page, for the members the notices could not
    reach by email: the notice of election, or voting information with a ballot paper."""
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
