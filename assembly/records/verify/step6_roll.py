"""Step 6, Roll: no contest has more ballots than voters on its roll, and an empty roll has
the empty tree's root. (A member checks their own entry against the root in step 9.)

Pure: standard library and the pure modules.
"""

from __future__ import annotations

from assembly.records.merkle import EMPTY_ROOT
from assembly.records.verify.report import Outcome, Verification, contest_label, short

__all__ = ["check_roll"]


def check_roll(state: Verification) -> Outcome:
    """Step 6: every contest's ballots against its roll's size and root."""
    passed = True
    details: list[str] = []
    for contest in state.body["contests"]:
        label = contest_label(contest)
        voters = contest["roll"]["voters"]
        root = contest["roll"]["merkle_root"]
        cast = max(contest["ballots"]["count"], len(contest["ballots"]["items"]))
        if cast > voters:
            passed = False
            details.append(
                f"{label}: {cast:,} ballot(s) but only {voters:,} voter(s) on the roll: "
                "more ballots than voters"
            )
        elif voters == 0 and root != EMPTY_ROOT:
            passed = False
            details.append(
                f"{label}: the roll is empty, so its root is {EMPTY_ROOT} (SHA-256 of "
                f"nothing), not {root}"
            )
        else:
            details.append(
                f"{label}: {cast:,} ballot(s) from a roll of {voters:,}; the roll's Merkle "
                f"root {short(root)} is a SHA-256 hash"
            )
    return passed, details
