"""Operational endpoints: liveness and readiness for load balancers and systemd."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from assembly.extensions import csrf, db

bp = Blueprint("ops", __name__)
csrf.exempt(bp)


@bp.route("/healthz")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@bp.route("/readyz")
def ready() -> tuple[dict[str, str], int]:
    """The process can reach its database."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means not ready; the reason goes to the log, not the wire
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200
