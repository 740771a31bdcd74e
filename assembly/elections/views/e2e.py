"""Board election pages of an end-to-end verifiable poll: the trustees' page (the returning
officer names them; each takes their ceremony steps in their browser, and after the close
shuffles and opens the ballots with ``assembly trustee``), the officer's credentials page, and
the voter's encrypted cast and audit (posted by the review page's script).

The browser's steps are posted as JSON and answered as JSON (``{"error": …}`` when refused);
a refusal changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from assembly.auth.actors import current_actor
from assembly.auth.models import Role
from assembly.auth.permissions import SIGNED_IN, is_returning_officer
from assembly.clock import today
from assembly.e2e.forms import TrusteesForm, TrusteeUploadForm
from assembly.e2e.operations import CeremonyStep, ceremony_step, credentials_of
from assembly.e2e.pages import (
    ceremony_data,
    fingerprint_shown,
    json_body,
    refused,
    take_ceremony_step,
    take_trustee_upload,
)
from assembly.e2e.uploads import last_upload
from assembly.elections import e2e
from assembly.elections.access import election_view
from assembly.elections.models import Contest, Election, RollEntry
from assembly.elections.queries import e2e_problems
from assembly.elections.states import ElectionState
from assembly.elections.views.blueprint import bp
from assembly.elections.views.voting import RECEIPTS, _voter_entry
from assembly.errors import DomainError, RuleViolation
from assembly.extensions import begin_writing, db
from assembly.membership.models import Institution, Person


def _is_trustee_or_officer(user: Any, election: Election) -> bool:
    return election.is_returning_officer(user) or e2e.trustee_of(election, user) is not None


def _trustees_url(institution: Institution, election: Election) -> str:
    return url_for("elections.trustees", slug=institution.slug, election_id=election.id)


@bp.route("/institutions/<slug>/elections/<int:election_id>/trustees", methods=["GET", "POST"])
@election_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the election's returning officer and trustees see its key ceremony.",
)
def trustees(institution: Institution, election: Election) -> ResponseReturnValue:
    """The trustees and the ceremony: the officer names them; each trustee's next step."""
    form = TrusteesForm()
    if election.is_returning_officer(current_user) and form.validate_on_submit():
        try:
            e2e.appoint(
                current_actor(),
                election,
                (form.scrutineers.data or "").splitlines(),
                form.threshold.data or 0,
            )
        except DomainError as problem:
            db.session.rollback()
            form.scrutineers.errors = [*form.scrutineers.errors, problem.message]
        else:
            db.session.commit()
            flash("The trustees are named. Each now registers a key on this page.")
            return redirect(_trustees_url(institution, election))
    ceremony = election.ceremony
    mine = e2e.trustee_of(election, current_user)
    step = ceremony_step(ceremony) if ceremony is not None else ""
    page_data = ceremony_data(
        ceremony,
        mine,
        url_for("elections.trustee_step", slug=institution.slug, election_id=election.id),
    )
    return render_template(
        "e2e/trustees.html",
        institution=institution,
        subject_title=election.title,
        back_url=url_for("elections.election", slug=institution.slug, election_id=election.id),
        closes="the poll closes",
        not_ready="The poll cannot open yet:",
        poll_word="Contest",
        is_officer=election.is_returning_officer(current_user),
        urls={
            "restart": url_for(
                "elections.trustees_restart", slug=institution.slug, election_id=election.id
            ),
            "task": url_for(
                "elections.trustee_task", slug=institution.slug, election_id=election.id
            ),
            **{
                part: url_for(
                    "elections.trustee_upload",
                    slug=institution.slug,
                    election_id=election.id,
                    part=part,
                )
                for part in ("shuffle", "open")
            },
        },
        ceremony=ceremony,
        mine=mine,
        upload_status=last_upload(mine),
        step=step,
        steps=CeremonyStep,
        page_data=page_data,
        fingerprint=fingerprint_shown(ceremony),
        can_appoint=election.is_returning_officer(current_user)
        and ceremony is None
        and election.state in e2e.TRUSTEE_STATES,
        in_ceremony=election.state in e2e.TRUSTEE_STATES,
        after_close=election.state == ElectionState.poll_closed,
        progress=e2e.progress(election) if ceremony is not None and ceremony.election_key else [],
        problems=e2e_problems(election),
        form=form,
        upload=TrusteeUploadForm(),
    ), (400 if form.errors else 200)


@bp.route("/institutions/<slug>/elections/<int:election_id>/trustees/step", methods=["POST"])
@election_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the election's trustees take part in its key ceremony.",
)
def trustee_step(institution: Institution, election: Election) -> ResponseReturnValue:
    """A trustee's browser posts its transport key, its dealing or its confirmed key."""
    actor = current_actor()
    try:
        take_ceremony_step(
            json_body(request),
            lambda key: e2e.register_transport_key(actor, election, key),
            lambda dealing: e2e.post_dealing(actor, election, dealing),
            lambda public: e2e.confirm_key(actor, election, public),
        )
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(ok=True)


@bp.route("/institutions/<slug>/elections/<int:election_id>/trustees/restart", methods=["POST"])
@election_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the election's returning officer starts the dealing again.",
)
def trustees_restart(institution: Institution, election: Election) -> ResponseReturnValue:
    TrusteeUploadForm()  # the CSRF check of every form
    e2e.restart_ceremony(current_actor(), election)
    db.session.commit()
    flash("The dealing starts again: each trustee deals afresh on this page.")
    return redirect(_trustees_url(institution, election))


@bp.route("/institutions/<slug>/elections/<int:election_id>/trustees/task.json")
@election_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the election's trustees shuffle and open its ballots.",
    states={ElectionState.poll_closed},
    not_now="The ballots are shuffled and opened after the poll closes.",
)
def trustee_task(institution: Institution, election: Election) -> ResponseReturnValue:
    """The rows every contest's next shuffle (or the opening) takes, with the key."""
    text = json.dumps(e2e.task(election), separators=(",", ":"))
    name = f"task-{institution.slug}-{election.id}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/trustees/<any(shuffle, open):part>",
    methods=["POST"],
)
@election_view(
    SIGNED_IN,
    only=_is_trustee_or_officer,
    denied="Only the election's trustees shuffle and open its ballots.",
)
def trustee_upload(institution: Institution, election: Election, part: str) -> ResponseReturnValue:
    """A trustee uploads the shuffles, or the decryption shares, ``assembly trustee`` made:
    kept, and checked in the background (``e2e.uploads``)."""
    actor = current_actor()
    shuffle = part == "shuffle"
    take_trustee_upload(
        TrusteeUploadForm(),
        part,
        lambda: e2e.trustee_after_close(actor, election),
        (Election, election.id),
        (e2e.check_shuffles, e2e.store_shuffles)
        if shuffle
        else (e2e.check_openings, e2e.store_openings),
        "Your shuffle of every contest was checked and kept."
        if shuffle
        else "Your decryption shares of every contest were checked and kept.",
        institution_id=institution.id,
    )
    return redirect(_trustees_url(institution, election))


# --- the returning officer's credentials ----------------------------------------------------


@bp.route("/institutions/<slug>/elections/<int:election_id>/credentials")
@election_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the election's returning officer makes its voters' credentials.",
)
def credentials(institution: Institution, election: Election) -> ResponseReturnValue:
    """Per contest: make the credentials in this browser from the frozen roll."""
    contests = e2e.polled_contests(election) if election.e2e else []
    rows = []
    for contest in contests:
        published = len(credentials_of(contest.poll_id))
        rows.append((contest, published))
    ready = election.e2e and election.state == ElectionState.nominations_closed
    page_data = {
        "contests": [
            {
                "id": contest.id,
                "slug": f"{institution.slug}-{election.id}-{contest.constituency.key}",
                "url": url_for(
                    "elections.credentials_publish",
                    slug=institution.slug,
                    election_id=election.id,
                    contest_id=contest.id,
                ),
                "roll": [
                    {"number": number, "email": email or ""}
                    for number, email in db.session.execute(
                        db.select(RollEntry.number, Person.email)
                        .join(Person, Person.id == RollEntry.person_id)
                        .where(RollEntry.contest_id == contest.id)
                        .order_by(RollEntry.number)
                    )
                ],
            }
            for contest, published in rows
            if ready and not published
        ]
    }
    return render_template(
        "elections/credentials.html",
        institution=institution,
        election=election,
        rows=rows,
        ready=ready,
        page_data=page_data,
        form=TrusteeUploadForm(),
    )


@bp.route(
    "/institutions/<slug>/elections/<int:election_id>/credentials/<int:contest_id>",
    methods=["POST"],
)
@election_view(
    Role.returning_officer,
    only=is_returning_officer,
    denied="Only the election's returning officer publishes its voters' credentials.",
)
def credentials_publish(
    institution: Institution, election: Election, contest: Contest
) -> ResponseReturnValue:
    try:
        body = json_body(request)
        listed = body.get("credentials")
        if not isinstance(listed, list):
            raise RuleViolation("Post the credentials as a list.")
        e2e.publish_contest_credentials(current_actor(), election, contest, listed)
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(ok=True)


# --- the voter's encrypted ballot -------------------------------------------------------------


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote/encrypted", methods=["POST"])
@election_view(SIGNED_IN)
def vote_encrypted(institution: Institution, election: Election) -> ResponseReturnValue:
    """Cast the ballot the review page's script encrypted and signed; answer with the
    receipt page's address (the receipt is kept in this browser's session, as today's)."""
    try:
        entry = _voter_entry(institution, election)
        contest, person_id = entry.contest, entry.person_id
        # The voter's entry is read and the proofs checked before the write lock is taken:
        # on SQLite one writer at a time holds it, so the less is done under it, the more
        # casts go side by side. (Writing from the start saves the reads begin_writing's
        # rollback makes again, a third of a cast's CPU, but holds the lock through them:
        # measured, 15-candidate casts fell from 136 to 100 a second.)
        checked = e2e.check_ballot(election, contest, json_body(request).get("cast"))
        begin_writing()
        receipt = e2e.cast_ballot(
            current_actor(), election, contest, person_id, checked, today=today()
        )
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    session[RECEIPTS] = {
        **session.get(RECEIPTS, {}),
        str(election.id): {
            "user": current_user.id,
            "contest": receipt.contest_id,
            "tracker": receipt.tracker,
            "ballot_hash": receipt.ballot_hash,
            "signed": receipt.signed,
            "encrypted": True,
        },
    }
    return jsonify(
        receipt=url_for("elections.vote_receipt", slug=institution.slug, election_id=election.id)
    )


@bp.route("/institutions/<slug>/elections/<int:election_id>/vote/audit", methods=["POST"])
@election_view(SIGNED_IN)
def vote_audit(institution: Institution, election: Election) -> ResponseReturnValue:
    """Publish an encryption the voter chose to audit, and say whether it was honest."""
    try:
        entry = _voter_entry(institution, election)
        audit = e2e.audit_ballot(
            current_actor(),
            election,
            entry.contest,
            json_body(request).get("audited"),
            today=today(),
        )
    except DomainError as problem:
        return refused(problem)
    db.session.commit()
    return jsonify(
        tracker=audit.tracker,
        message=(
            f"The encryption {audit.tracker} opened to exactly your choices, so this browser "
            "encrypted honestly. It is published as audited and will never be counted. "
            "Encrypt your ballot again, and cast that one."
        ),
    )
