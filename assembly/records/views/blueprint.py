"""The records pages' blueprint and what several of its page modules share."""

from __future__ import annotations

from flask import Blueprint

__all__ = [
    "bp",
]

bp = Blueprint("records", __name__)
