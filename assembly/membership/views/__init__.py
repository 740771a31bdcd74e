"""Membership's pages, on the blueprint ``bp`` (``blueprint``), one module per audience:

- ``my``: a member's own pages (home, memberships, their data, rejoining, opting out).
- ``signup``: the public sign-up pages, where a resident joins the community constituency.
- ``institutions``: the admin's institution pages; the secretary's dashboard and settings.
- ``members``: the secretary's members list and its CSV.
- ``rosters``: the secretary's roster uploads and import runs.
- ``sources``: the secretary's roster sources, column mappings and service tokens.
"""

# Importing the page modules registers their routes on ``bp``.
from assembly.membership.views import (  # noqa: F401
    institutions,
    members,
    my,
    rosters,
    signup,
    sources,
)
from assembly.membership.views.blueprint import bp

__all__ = ["bp"]
