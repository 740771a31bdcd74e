"""Board election pages, by audience.

- ``setup``: the secretary and the returning officer — the list, set-up (with the seats shown
  as they change), the election's page, approval, cancellation, the count, the declaration
  and the printed letters.
- ``nominations``: members stand and withdraw; the returning officer checks the nominations;
  the public statement of candidates.
- ``voting``: voters — their ballot, its review, casting and the receipt.
- ``results``: the public — trackers, turnout, the result and its ballots.
- ``paper``: the returning officer, secretary and tellers enter paper and postal batches.
- ``records``: the signed record — the returning officer's signing key, the record of a
  counted election and its download, the officer's countersignature, a member's roll proof.

Every page except casting and the record's loads what it is about with
``elections.access.election_view``; casting reads nothing before its writing transaction
(``voting.vote_cast``), and the record's pages, at ``/records/<id>`` (URLs that name no
institution), load it with ``records.record_of``, for the people who may see the result.
"""

from __future__ import annotations

# Importing the page modules registers their routes on ``bp``.
from assembly.elections.views import (  # noqa: F401
    e2e,
    nominations,
    paper,
    records,
    results,
    setup,
    voting,
)
from assembly.elections.views.blueprint import bp

__all__ = ["bp"]
