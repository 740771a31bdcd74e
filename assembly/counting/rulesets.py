"""STV rule sets behind one interface: a count by the rules a contest names.

Each rule set is a module of its own that cites its published text beside each step, and
exposes ``RULES`` (its name here), ``RULES_VERSION`` and ``count_stv(profile, seats, *, seed)``
returning a ``CountResult`` whose ``rules`` is its name. A record names the rule set its
contests were counted by, and the verifier recounts by the same name, with this module.

- ``scottish-2007``: the Scottish Local Government Elections Order 2007 (``stv``).
- ``ers97``: the Electoral Reform Society's 1997 rules, 3rd edition (``stv_ers97``).
- ``meek``: Meek's method, Hill, Wichmann and Woodall 1987, exact arithmetic (``stv_meek``).
- ``nhs-mer-2014``: the NHS foundation trust Model Election Rules 2014, after the Northern
  Ireland local election rules (``stv_mer2014``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from assembly.counting import stv, stv_ers97, stv_meek, stv_mer2014
from assembly.counting.ballots import BallotError, Profile
from assembly.counting.results import CountResult

__all__ = ["DEFAULT_RULES", "RULE_SETS", "StvRules", "count_by_rules"]


class StvRules(Protocol):
    def __call__(self, profile: Profile, seats: int, *, seed: str | None = None) -> CountResult:
        """Count ``profile`` for ``seats`` seats; ``seed`` decides a tie that needs a lot."""
        ...


#: What a contest or a record is counted by when it names no rules (every record before
#: rule sets were selectable was counted by these).
DEFAULT_RULES = stv.RULES

RULE_SETS: Mapping[str, StvRules] = MappingProxyType(
    {
        stv.RULES: stv.count_stv,
        stv_ers97.RULES: stv_ers97.count_stv,
        stv_meek.RULES: stv_meek.count_stv,
        stv_mer2014.RULES: stv_mer2014.count_stv,
    }
)


def count_by_rules(
    profile: Profile, seats: int, rules: str = DEFAULT_RULES, *, seed: str | None = None
) -> CountResult:
    """Count ``profile`` for ``seats`` seats by the STV rule set named ``rules``.

    :raises BallotError: no such rule set, or a profile the rule set cannot count.
    :raises LotNeeded: a tie needs a lot and no seed was given.
    """
    counter = RULE_SETS.get(rules)
    if counter is None:
        raise BallotError(f"unknown STV rules {rules!r}; use one of {', '.join(sorted(RULE_SETS))}")
    return counter(profile, seats, seed=seed)
