"""The assemblies pages' blueprint and what several of its page modules share."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue

from assembly.assemblies.models import Assembly
from assembly.extensions import begin_writing

__all__ = [
    "REFRESH_SECONDS",
    "bp",
    "redirect_to",
]

bp = Blueprint("assemblies", __name__)

#: How often the live screen and a waiting voter's page reload themselves, in seconds.
REFRESH_SECONDS = 5


@bp.before_request
def _write_from_the_start() -> None:
    """Every POST here writes (a check-in, a ballot, a paper batch, a chair's step), and many
    come at once on the day: each begins as a writer, so that on SQLite it waits for the
    write lock rather than failing when another worker wrote after it read."""
    if request.method == "POST":
        begin_writing()


def redirect_to(assembly: Assembly) -> ResponseReturnValue:
    """Back to the assembly's own page."""
    return redirect(
        url_for(
            "assemblies.assembly_public", slug=assembly.institution.slug, assembly_id=assembly.id
        )
    )
