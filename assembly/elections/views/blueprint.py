"""The elections pages' blueprint and what several of its page modules share."""

from __future__ import annotations

from flask import Blueprint

__all__ = [
    "STATE_LABELS",
    "bp",
]

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
