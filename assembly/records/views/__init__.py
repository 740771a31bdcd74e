"""Pages of election records, by audience: ``published`` (a counted election's record, to
read and download; a member's roll proof; the returning officer's countersignature), ``keys``
(the deployment's election keys; the returning officer's signing key) and ``verifying`` (the
verify page, which checks a published or uploaded record in the browser's request and stores
nothing). ``uploads`` reads the files they take.

A record is shown to the same people as the result (``elections.queries.can_see_results``):
everyone once it is declared; the secretary and the returning officer from the count, so that
the officer can download and countersign it before they declare.
"""

from __future__ import annotations

# Importing the page modules registers their routes on ``bp``.
from assembly.records.views import (  # noqa: F401
    keys,
    published,
    uploads,
    verifying,
)
from assembly.records.views.blueprint import bp

__all__ = ["bp"]
