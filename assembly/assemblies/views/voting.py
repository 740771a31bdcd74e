"""Assembly pages for members on the day: their pass (the QR code's link, which also lets a
teller check them in) and voting on their phone once checked in."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from assembly.assemblies import e2e
from assembly.assemblies.access import assembly_view
from assembly.assemblies.models import (
    Assembly,
    Attendance,
    Vote,
    VoteKind,
)
from assembly.assemblies.notices import pass_qr_svg, pass_url, read_pass
from assembly.assemblies.operations import can_check_in, cast_assembly_vote
from assembly.assemblies.queries import eligible_to_vote, open_vote_of, vote_candidates
from assembly.assemblies.states import AssemblyState
from assembly.assemblies.views.blueprint import REFRESH_SECONDS, bp
from assembly.assemblies.views.tellers import attendance_of, mark_present
from assembly.auth.forms import ConfirmForm
from assembly.auth.permissions import PUBLIC
from assembly.clock import today
from assembly.elections.models import CountMethod
from assembly.errors import NotEligible
from assembly.extensions import db, limiter, refused
from assembly.membership.models import Institution, Membership, Person
from assembly.polls.casting import AlreadyVoted
from assembly.polls.marks import InvalidBallot, ranking_from_marks
from assembly.polls.queries import has_voted
from assembly.records.record import CHOICES

_SESSION_PASS = "assembly_pass"  # noqa: S105 - a session key, not a secret
#: The session key under which the attendee's phone keeps the tracker of its last vote.
RECEIPT_KEY = "assembly_receipt"


# --- the member's pass --------------------------------------------------------------------------


def _pass_holder(assembly: Assembly, token: str) -> Person:
    """The member a pass to this assembly names, or 404."""
    value = read_pass(token)
    if value is None or value[0] != assembly.id:
        abort(404)
    person = db.session.get(Person, value[1])
    if person is None:
        abort(404)
    return person


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/pass/<token>", methods=["GET", "POST"])
@assembly_view(PUBLIC)
def member_pass(institution: Institution, assembly: Assembly, token: str) -> ResponseReturnValue:
    """The QR code's link. A teller who opens it checks the member in. The member who opens
    it sees their pass to show at the door, and once checked in is signed in to vote."""
    person = _pass_holder(assembly, token)
    attendance = attendance_of(assembly, person.id)
    teller = current_user.is_authenticated and can_check_in(current_user, assembly)
    if request.method == "POST":
        if not teller:
            raise NotEligible("Only a teller can check members in.")
        if ConfirmForm().validate_on_submit():
            mark_present(assembly, person)
        return redirect(request.path)
    if teller:
        membership = db.session.scalars(
            select(Membership).where(
                Membership.institution_id == assembly.institution_id,
                Membership.person_id == person.id,
                Membership.left_on.is_(None),
            )
        ).first()
        return render_template(
            "assemblies/pass_teller.html",
            institution=assembly.institution,
            assembly=assembly,
            person=person,
            membership=membership,
            attendance=attendance,
            form=ConfirmForm(),
            open_vote=open_vote_of(assembly),
        )
    if attendance is not None and assembly.state == AssemblyState.in_session:
        session[_SESSION_PASS] = {"assembly": assembly.id, "attendance": attendance.id}
        return redirect(url_for("assemblies.vote", slug=institution.slug, assembly_id=assembly.id))
    return render_template(
        "assemblies/pass.html",
        institution=assembly.institution,
        assembly=assembly,
        person=person,
        qr=pass_qr_svg(pass_url(assembly, person.id)),
        attendance=attendance,
    )


# --- voting on the phone ------------------------------------------------------------------------


def attendee(assembly: Assembly) -> Attendance:
    """The attendee this phone holds the pass of (it opened the pass after check-in).

    :raises NotEligible: it holds none for this assembly.
    """
    held = session.get(_SESSION_PASS)
    attendance = None
    if isinstance(held, dict) and held.get("assembly") == assembly.id:
        attendance = db.session.get(Attendance, held.get("attendance"))
    if attendance is None or attendance.assembly_id != assembly.id:
        raise NotEligible(
            "Open the pass from your notice of assembly on this phone, after a teller has "
            "checked you in."
        )
    return attendance


def _e2e_data(institution: Institution, assembly: Assembly, vote: Vote) -> dict[str, Any] | None:
    """What the vote page's script needs to read the marks and encrypt them on the phone (so
    that the server never sees them); None when the vote takes no encrypted ballots."""
    if not e2e.is_encrypted(vote):
        return None
    ceremony = assembly.ceremony
    assert ceremony is not None
    candidates = vote_candidates(vote)
    confirm = vote.kind == VoteKind.confirmation
    ids: dict[str, Any] = {"slug": institution.slug, "assembly_id": assembly.id}
    return {
        "key": ceremony.election_key,
        "label": e2e.vote_label(assembly, vote),
        "candidates": len(e2e.candidate_ids(vote)),
        "candidate_ids": e2e.candidate_ids(vote),
        "ballot_order": list(CHOICES) if confirm else [c.id for c in candidates],
        "names": {"yes": "Yes", "no": "No", "abstain": "Abstain"}
        if confirm
        else {str(c.id): c.ballot_name for c in candidates},
        "kind": {VoteKind.confirmation: "confirm", VoteKind.irv: "ranked"}.get(vote.kind, "choose"),
        "seats": 1,
        "credential_hint": "The 20 letters and digits on the voting card a teller gave you, "
        "for example ABCDE-FGHJK-LMNPQ-RSTUV",
        "cast_url": url_for("assemblies.vote_encrypted", **ids),
        "audit_url": url_for("assemblies.vote_audit", **ids),
    }


class _Rules:
    """The vote as ``ranking_from_marks`` reads marks: ranked (IRV) or one choice (a round)."""

    def __init__(self, vote: Vote) -> None:
        self.method = CountMethod.stv if vote.kind == VoteKind.irv else CountMethod.plurality
        self.seats = 1


def _attendee_key() -> str:
    """Rate limits on casting at an assembly count per pass (a hall shares one address)."""
    held = session.get(_SESSION_PASS)
    attendance = held.get("attendance") if isinstance(held, dict) else None
    return f"attendee:{attendance}" if attendance else f"address:{request.remote_addr}"


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/vote", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["CAST_PER_VOTER"],
    key_func=_attendee_key,
    methods=["POST"],
    deduct_when=refused,
)
@assembly_view(PUBLIC)
def vote(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The attendee's ballot for the vote that is open (the page waits for one)."""
    attendance = attendee(assembly)
    current = open_vote_of(assembly)
    voted = current is not None and has_voted(current.poll_id, attendance.person_id)
    error = None
    if request.method == "POST" and current is not None and not voted:
        if not ConfirmForm().validate_on_submit():
            abort(400)
        candidates = vote_candidates(current)
        try:
            if current.kind == VoteKind.confirmation:
                choice = request.form.get("choice", "")
                if choice not in CHOICES:
                    raise InvalidBallot("Choose yes, no or abstain.", "choice-yes")
                ranking: list[int] = []
            else:
                choice = ""
                preferences = [
                    (k.removeprefix("pref-"), v)
                    for k, v in request.form.items()
                    if k.startswith("pref-")
                ]
                choices = request.form.getlist("choice")
                ranking = ranking_from_marks(_Rules(current), candidates, preferences, choices)
            tracker = cast_assembly_vote(
                attendance, current, ranking=ranking, choice=choice, day=today()
            )
        except InvalidBallot as problem:
            db.session.rollback()
            error = problem
        except AlreadyVoted:
            db.session.rollback()
            voted = True
        else:
            # Read before the commit, which would expire the rows and read them again.
            session[RECEIPT_KEY] = {"vote": current.id, "tracker": tracker}
            back = url_for("assemblies.vote", slug=institution.slug, assembly_id=assembly.id)
            db.session.commit()
            return redirect(back)
    receipt = session.get(RECEIPT_KEY)
    if not (
        isinstance(receipt, dict) and current is not None and receipt.get("vote") == current.id
    ):
        receipt = None
    return render_template(
        "assemblies/vote.html",
        institution=assembly.institution,
        assembly=assembly,
        attendance=attendance,
        vote=current,
        voted=voted,
        receipt=receipt,
        eligible=current is None or eligible_to_vote(current, attendance),
        candidates=vote_candidates(current) if current is not None else [],
        error=error,
        form=ConfirmForm(),
        refresh=REFRESH_SECONDS if current is None or voted else None,
        marks=request.form if error else {},
        e2e_data=_e2e_data(institution, assembly, current) if current is not None else None,
    ), 400 if error else 200
