"""Board election pages, by audience.

- ``setup``: the secretary and the returning officer — the list, set-up (with the seats shown
  as they change), the election's page, approval, cancellation, the count, the declaration
  and the printed letters.
- ``nominations``: members stand and withdraw; the returning officer checks the nominations;
  the public statement of candidates.
- ``voting``: voters — their ballot, its review, casting and the receipt.
- ``results``: the public — trackers, turnout, the result and its ballots.
- ``paper``: the returning officer, secretary and tellers enter paper and postal batches.

Every page except casting loads what it is about with ``elections.access.election_view``;
casting reads nothing before its writing transaction (``voting.vote_cast``).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["STATE_LABELS", "bp", "nominations", "paper", "results", "setup", "voting"]

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

# The routes, added to ``bp`` as each module is read.
from assembly.elections.views import nominations, paper, results, setup, voting  # noqa: E402
