"""The records service's own pages, which know no feature: ``keys`` (the deployment's
election keys) and ``verifying`` (the verify page, which checks a published or uploaded record
of any kind in the browser's request and stores nothing). ``uploads`` reads the files they, and
the features' record pages, take.

Each feature serves the pages of its own records (the record and its download, the returning
officer's key and countersignature). The verify page lists and checks every kind of record
through ``records.kinds``, as each feature registered it.
"""

from __future__ import annotations

# Importing the page modules registers their routes on ``bp``.
from assembly.records.views import (  # noqa: F401
    keys,
    uploads,
    verifying,
)
from assembly.records.views.blueprint import bp

__all__ = ["bp"]
