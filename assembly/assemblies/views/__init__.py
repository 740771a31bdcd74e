"""Assembly pages, by audience.

- ``public``: anyone — the institution's assemblies and leaders, an assembly's page (notice,
  candidates, votes and result, with the chair's controls for its officers), the projector's
  live screen and the signed record.
- ``chair``: the secretary and the returning officer — the standing rules, scheduling, the
  chair's steps, deciding applications, printed letters, the officer's key and
  countersignature.
- ``members``: members apply to stand for leader, and withdraw.
- ``tellers``: check-in by name or pass, and paper ballots.
- ``voting``: the member's pass, and voting on the phone.

Every page about one assembly loads it with ``assemblies.access.assembly_view``.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue

from assembly.assemblies.models import Assembly
from assembly.extensions import begin_writing

__all__ = [
    "REFRESH_SECONDS",
    "bp",
    "chair",
    "members",
    "public",
    "redirect_to",
    "tellers",
    "voting",
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


# The routes, added to ``bp`` as each module is read.
from assembly.assemblies.views import chair, members, public, tellers, voting  # noqa: E402
