"""The counting core: pure Python (standard library only), exact, and repeatable by anyone.

Words: a **profile** is the validated ballots in aggregated form; a **count** turns it into a
**result** that keeps every stage; a **lot** is a draw from a seed fixed before the count.
Methods: Scottish STV (SSI 2007/42), IRV, first-past-the-post / block vote, confirmation;
apportionment of seats to constituencies, and constituency weighting.
"""

from __future__ import annotations

from assembly.counting.apportionment import Apportionment, ApportionmentError, apportion
from assembly.counting.ballots import BallotError, Candidate, Profile, build_profile
from assembly.counting.formats import (
    BallotFile,
    BallotFileError,
    EqualRankingsError,
    read_ballot_file,
    read_blt,
    read_preflib,
    write_blt,
)
from assembly.counting.irv import count_irv
from assembly.counting.lots import Draw, LotNeeded, Lots, draw
from assembly.counting.plurality import ConfirmationResult, count_confirmation, count_plurality
from assembly.counting.results import CountResult, Stage, TieBreak
from assembly.counting.rounds import count_round
from assembly.counting.rulesets import DEFAULT_RULES, RULE_SETS, count_by_rules
from assembly.counting.stv import count_stv, droop_quota
from assembly.counting.weighting import (
    WeightedProfile,
    confirmation_per_ballot,
    weight_confirmation,
    weight_constituencies,
)

__all__ = [
    "DEFAULT_RULES",
    "METHODS",
    "RULE_SETS",
    "Apportionment",
    "ApportionmentError",
    "BallotError",
    "BallotFile",
    "BallotFileError",
    "Candidate",
    "ConfirmationResult",
    "CountResult",
    "Draw",
    "EqualRankingsError",
    "LotNeeded",
    "Lots",
    "Profile",
    "Stage",
    "TieBreak",
    "WeightedProfile",
    "apportion",
    "build_profile",
    "confirmation_per_ballot",
    "count",
    "count_by_rules",
    "count_confirmation",
    "count_irv",
    "count_plurality",
    "count_round",
    "count_stv",
    "draw",
    "droop_quota",
    "read_ballot_file",
    "read_blt",
    "read_preflib",
    "weight_confirmation",
    "weight_constituencies",
    "write_blt",
]

METHODS = ("stv", "irv", "fptp")


def count(
    profile: Profile,
    method: str,
    seats: int,
    *,
    seed: str | None = None,
    rules: str = DEFAULT_RULES,
) -> CountResult:
    """Count ``profile`` by ``method`` (stv, irv or fptp) for ``seats`` seats; STV by the
    rule set named ``rules`` (``rulesets``).

    :raises BallotError: an unknown method, or seats that the method cannot fill.
    """
    if method == "stv":
        return count_by_rules(profile, seats, rules, seed=seed)
    if method == "irv":
        if seats != 1:
            raise BallotError("IRV elects exactly one candidate; use --method stv for more seats")
        return count_irv(profile, seed=seed)
    if method == "fptp":
        return count_plurality(profile, seats, seed=seed)
    raise BallotError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
