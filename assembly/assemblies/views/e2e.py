"""Assembly pages of end-to-end verifiable votes: the trustees' page (the returning officer
names them; each takes their ceremony steps in their browser before the doors open, and after
each vote closes shuffles and opens its ballots with ``assembly trustee``), the officer's
voting cards page, and the attendee's encrypted cast and audit (posted by the vote page's
script).

The browser's steps are posted as JSON and answered as JSON (``{"error": …}`` when refused);
a refusal changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from assembly.assemblies import e2e
from assembly.assemblies.access import assembly_view
from assembly.assemblies.models import Assembly, Vote
from assembly.assemblies.queries import open_vote_of
from assembly.assemblies.states import AssemblyState
from assembly.assemblies.views.blueprint import bp
from assembly.assemblies.views.voting import RECEIPT_KEY, attendee
from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import PUBLIC, SIGNED_IN, is_returning_officer
from assembly.clock import today
from assembly.e2e.forms import TrusteesForm, TrusteeUploadForm
from assembly.e2e.operations import CeremonyStep, ceremony_step
from assembly.e2e.pages import (
    ceremony_data,
    fingerprint_shown,
    json_body,
    refused,
    take_ceremony_step,
    take_trustee_upload,
)
from assembly.e2e.uploads import last_upload
from assembly.errors import DomainError, InvalidTransition, RuleViolation
from assembly.extensions import begin_writing, db
from assembly.membership.models import Constituency, Institution


def _is_trustee_or_officer(user: Any, assembly: Assembly) -> bool:
    return assembly.is_returning_officer(user) or e2e.trustee_of(assembly, user) is not None


def _urls(institution: Institution, assembly: Assembly) -> dict[str, str]:
    ids: dict[str, Any] = {"slug": institution.slug, "assembly_id": assembly.id}
    return {
        "page": url_for("assemblies.trustees", **ids),
        "step": url_for("assemblies.trustee_step", **ids),
        "restart": url_for("assemblies.trustees_restart", **ids),
        "task": url_for("assemblies.trustee_task", **ids),
        "shuffle": url_for("assemblies.trustee_upload", part="shuffle", **ids),
        "open": url_for("assemblies.trustee_upload", part="open", **ids),
    }


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/trustees", methods=["GET", "POST"])
@assembly_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the assembly's returning officer and trustees see its key ceremony.",
)
def trustees(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The trustees and the ceremony: the officer names them; each trustee's next step; after
    a vote closes, its shuffles and openings."""
    form = TrusteesForm()
    urls = _urls(institution, assembly)
    if assembly.is_returning_officer(current_user) and form.validate_on_submit():
        try:
            e2e.appoint(
                current_actor(),
                assembly,
                (form.scrutineers.data or "").splitlines(),
                form.threshold.data or 0,
            )
        except DomainError as problem:
            db.session.rollback()
            form.scrutineers.errors = [*form.scrutineers.errors, problem.message]
        else:
            db.session.commit()
            flash("The trustees are named. Each now registers a key on this page.")
            return redirect(urls["page"])
    ceremony = assembly.ceremony
    mine = e2e.trustee_of(assembly, current_user)
    in_ceremony = assembly.state in e2e.TRUSTEE_STATES
    return render_template(
        "e2e/trustees.html",
        institution=institution,
        subject_title=assembly.title,
        back_url=url_for(
            "assemblies.assembly_public", slug=institution.slug, assembly_id=assembly.id
        ),
        closes="each vote closes, in the room",
        not_ready="The assembly cannot open yet:",
        poll_word="Vote",
        is_officer=assembly.is_returning_officer(current_user),
        urls=urls,
        ceremony=ceremony,
        mine=mine,
        upload_status=last_upload(mine),
        step=ceremony_step(ceremony) if ceremony is not None else "",
        steps=CeremonyStep,
        page_data=ceremony_data(ceremony, mine, urls["step"]),
        fingerprint=fingerprint_shown(ceremony),
        can_appoint=assembly.is_returning_officer(current_user)
        and ceremony is None
        and in_ceremony
        and assembly.e2e,
        in_ceremony=in_ceremony,
        after_close=e2e.closed_vote(assembly) is not None,
        progress=e2e.progress(assembly) if ceremony is not None and ceremony.election_key else [],
        problems=e2e.problems(assembly),
        form=form,
        upload=TrusteeUploadForm(),
    ), (400 if form.errors else 200)


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/trustees/step", methods=["POST"])
@assembly_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the assembly's trustees take part in its key ceremony.",
)
def trustee_step(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """A trustee's browser posts its transport key, its dealing or its confirmed key."""
    actor = current_actor()
    try:
        take_ceremony_step(
            json_body(request),
            lambda key: e2e.register_transport_key(actor, assembly, key),
            lambda dealing: e2e.post_dealing(actor, assembly, dealing),
            lambda public: e2e.confirm_key(actor, assembly, public),
        )
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(ok=True)


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/trustees/restart", methods=["POST"])
@assembly_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the assembly's returning officer starts the dealing again.",
)
def trustees_restart(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    TrusteeUploadForm()  # the CSRF check of every form
    e2e.restart_ceremony(current_actor(), assembly)
    db.session.commit()
    flash("The dealing starts again: each trustee deals afresh on this page.")
    return redirect(_urls(institution, assembly)["page"])


def _closed_vote(assembly: Assembly) -> Vote:
    vote = e2e.closed_vote(assembly)
    if vote is None:
        raise InvalidTransition(
            "No vote waits for the trustees: they shuffle and open a vote's ballots after "
            "it closes."
        )
    return vote


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/trustees/task.json")
@assembly_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the assembly's trustees shuffle and open its ballots.",
)
def trustee_task(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """The rows the closed vote's next shuffle (or the opening) takes, with the key."""
    vote = _closed_vote(assembly)
    text = json.dumps(e2e.task(vote), separators=(",", ":"))
    name = f"task-{institution.slug}-assembly-{assembly.id}-vote-{vote.number}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route(
    "/institutions/<slug>/assemblies/<int:assembly_id>/trustees/<any(shuffle, open):part>",
    methods=["POST"],
)
@assembly_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the assembly's trustees shuffle and open its ballots.",
)
def trustee_upload(institution: Institution, assembly: Assembly, part: str) -> ResponseReturnValue:
    """A trustee uploads the shuffle, or the decryption shares, ``assembly trustee`` made:
    kept, and checked in the background (``e2e.uploads``)."""
    actor = current_actor()
    vote = _closed_vote(assembly)
    shuffle = part == "shuffle"
    take_trustee_upload(
        TrusteeUploadForm(),
        part,
        lambda: e2e.trustee_after_close(actor, vote),
        (Vote, vote.id),
        (e2e.check_shuffle, e2e.store_shuffle)
        if shuffle
        else (e2e.check_opening, e2e.store_opening),
        f"Your shuffle of vote {vote.number} was checked and kept."
        if shuffle
        else f"Your decryption shares of vote {vote.number} were checked and kept.",
        institution_id=institution.id,
    )
    return redirect(_urls(institution, assembly)["page"])


# --- the returning officer's voting cards -----------------------------------------------------


def _constituencies(institution: Institution) -> list[Constituency]:
    return list(
        db.session.scalars(
            select(Constituency)
            .where(Constituency.institution_id == institution.id)
            .order_by(Constituency.precedence, Constituency.id)
        )
    )


#: The states in which cards are made: before the doors open, and in the room if they run out.
CARD_STATES = frozenset({*e2e.TRUSTEE_STATES, AssemblyState.in_session})


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/cards")
@assembly_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the assembly's returning officer makes its voting cards.",
)
def cards(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Per constituency: the cards published, and a batch more made in this browser."""
    published = e2e.cards_of(assembly)
    groups = _constituencies(institution)
    ready = assembly.e2e and assembly.state in CARD_STATES
    page_data = {
        "title": assembly.title,
        "institution": institution.name,
        "slug": f"{institution.slug}-assembly-{assembly.id}",
        "max": e2e.MAX_CARDS,
        "constituencies": [
            {
                "key": c.key,
                "name": c.name,
                "url": url_for(
                    "assemblies.cards_publish",
                    slug=institution.slug,
                    assembly_id=assembly.id,
                    key=c.key,
                ),
            }
            for c in groups
        ],
    }
    return render_template(
        "assemblies/cards.html",
        institution=institution,
        assembly=assembly,
        rows=[(c, published.get(c.key, 0)) for c in groups],
        ready=ready,
        page_data=page_data if ready else {},
        max_cards=e2e.MAX_CARDS,
    )


@bp.route(
    "/institutions/<slug>/assemblies/<int:assembly_id>/cards/<key>",
    methods=["POST"],
)
@assembly_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the assembly's returning officer publishes its voting cards.",
)
def cards_publish(institution: Institution, assembly: Assembly, key: str) -> ResponseReturnValue:
    try:
        constituency = next((c for c in _constituencies(institution) if c.key == key), None)
        if constituency is None:
            raise RuleViolation(f"{institution.name} has no constituency {key!r}.")
        listed = json_body(request).get("credentials")
        if not isinstance(listed, list):
            raise RuleViolation("Post the cards' public halves as a list.")
        count = e2e.publish_cards(current_actor(), assembly, constituency, listed)
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(ok=True, count=count)


# --- the attendee's encrypted ballot ---------------------------------------------------------


def _open_vote(assembly: Assembly) -> Vote:
    vote = open_vote_of(assembly)
    if vote is None:
        raise InvalidTransition("No vote is open.")
    return vote


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/vote/encrypted", methods=["POST"])
@assembly_view(PUBLIC)
def vote_encrypted(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Cast the ballot the vote page's script encrypted and signed with the attendee's card;
    answer with the vote page's address (which shows the tracker, from this session)."""
    try:
        attendance = attendee(assembly)
        vote = _open_vote(assembly)
        # The proofs are checked before the write lock is taken (as a board election's).
        checked = e2e.check_ballot(vote, json_body(request).get("cast"))
        begin_writing()
        tracker = e2e.cast_ballot(attendance, vote, checked, day=today())
        vote_id = vote.id
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    session[RECEIPT_KEY] = {"vote": vote_id, "tracker": tracker, "encrypted": True}
    return jsonify(
        receipt=url_for("assemblies.vote", slug=institution.slug, assembly_id=assembly.id)
    )


@bp.route("/institutions/<slug>/assemblies/<int:assembly_id>/vote/audit", methods=["POST"])
@assembly_view(PUBLIC)
def vote_audit(institution: Institution, assembly: Assembly) -> ResponseReturnValue:
    """Publish an encryption the attendee chose to audit, and say whether it was honest."""
    try:
        attendee(assembly)
        audit = e2e.audit_ballot(_open_vote(assembly), json_body(request).get("audited"))
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(
        tracker=audit.tracker,
        message=(
            f"The encryption {audit.tracker} opened to exactly your choices, so this phone "
            "encrypted honestly. It is published as audited and will never be counted. "
            "Encrypt your vote again, and cast that one."
        ),
    )
