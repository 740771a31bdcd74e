"""JSON API v1: roster pushes, and the OpenAPI document that describes them."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from assembly.api.openapi import OPENAPI
from assembly.api.tokens import authenticate
from assembly.auth.actors import SystemActor
from assembly.clock import today
from assembly.errors import NotFound, RuleViolation
from assembly.extensions import csrf, db
from assembly.membership.imports import RosterRefused, apply_import, parse_records, plan_import
from assembly.membership.models import ImportRun, RosterSource
from assembly.membership.queries import get_institution

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _summary(run: ImportRun) -> dict[str, Any]:
    import json

    return {
        "run_id": run.id,
        "status": run.status.value,
        "mode": run.mode,
        "effective_on": run.effective_on.isoformat(),
        "counts": json.loads(run.counts),
        "problems": json.loads(run.problems)[:100],
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(OPENAPI)


@bp.post("/institutions/<slug>/rosters/<source_key>/imports")
def roster_push(slug: str, source_key: str) -> ResponseReturnValue:
    """Import a roster sent as JSON by an HR or patient system holding a service token."""
    institution = get_institution(slug)
    source = None
    if institution is not None:
        source = db.session.scalars(
            select(RosterSource).where(
                RosterSource.institution_id == institution.id, RosterSource.key == source_key
            )
        ).first()
    if source is None:
        raise NotFound("There is no such institution or roster source.")
    token = authenticate(request.headers.get("Authorization"), source)
    idempotency_key = (request.headers.get("Idempotency-Key") or "").strip() or None
    if idempotency_key is not None:
        if len(idempotency_key) > 100:
            raise RuleViolation("The Idempotency-Key header must be at most 100 characters.")
        earlier = db.session.scalars(
            select(ImportRun).where(
                ImportRun.source_id == source.id, ImportRun.idempotency_key == idempotency_key
            )
        ).first()
        if earlier is not None:
            db.session.commit()
            return jsonify({**_summary(earlier), "replayed": True}), 200
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RuleViolation("The body must be a JSON object with a 'people' list.")
    mode = body.get("mode", "snapshot")
    if mode not in {"snapshot", "delta"}:
        raise RuleViolation("'mode' must be 'snapshot' or 'delta'.")
    people = body.get("people")
    if not isinstance(people, list):
        raise RuleViolation("'people' must be a list of objects.")
    leavers = body.get("leavers", [])
    if not isinstance(leavers, list) or not all(isinstance(x, str) for x in leavers):
        raise RuleViolation("'leavers' must be a list of external ids.")
    if leavers and mode != "delta":
        raise RuleViolation("'leavers' is for delta pushes; a snapshot's absent people leave.")
    rows = parse_records(people)
    try:
        if body.get("dry_run"):
            plan = plan_import(source, rows, mode=mode, effective_on=today(), leaving_ids=leavers)
            if plan.is_refused:
                raise RosterRefused(plan)
            db.session.rollback()
            return jsonify({"dry_run": True, "counts": plan.counts(), "samples": plan.samples}), 200
        _, run = apply_import(
            SystemActor(f"service token: {token.name}"),
            source,
            rows,
            mode=mode,
            effective_on=today(),
            leaving_ids=leavers,
            file_name="api push",
            file_sha256=hashlib.sha256(request.get_data()).hexdigest(),
            idempotency_key=idempotency_key,
        )
    except RosterRefused as refused:
        db.session.rollback()
        problems = [
            {"line": p.line, "external_id": p.external_id, "reason": p.reason}
            for p in refused.plan.invalid
        ]
        return jsonify(
            {
                "error": "RosterError",
                "message": f"{refused.plan.invalid_total} cannot be imported, so nothing was "
                "imported.",
                "problems": problems[:1000],
            }
        ), 422
    db.session.commit()
    return jsonify(_summary(run)), 201
