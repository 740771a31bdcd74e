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
- ``e2e``: end-to-end verifiable votes — the trustees' page, the officer's voting cards,
  and the attendee's encrypted cast and audit.

Every page about one assembly loads it with ``assemblies.access.assembly_view``.
"""

from __future__ import annotations

# Importing the page modules registers their routes on ``bp``.
from assembly.assemblies.views import (  # noqa: F401
    chair,
    e2e,
    members,
    public,
    tellers,
    voting,
)
from assembly.assemblies.views.blueprint import bp

__all__ = ["bp"]
