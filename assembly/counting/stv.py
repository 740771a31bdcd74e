"""Single transferable vote under the Scottish rules: the Scottish Local Government Elections
Order 2007 (SSI 2007/42), Schedule 1, rules 45 to 52.

Values are integers in units of 0.00001 of a vote (``SCALE``), so every division is exact
integer arithmetic and every truncation is the one the rules prescribe. The steps, with the
rule each follows (see docs/counting.md for the full text):

- r.45: first preferences are counted; each paper is worth one vote.
- r.46: the quota is the number of valid papers divided by one more than the number of seats,
  ignoring any decimal places, plus one.
- r.47: a candidate whose votes equal or exceed the quota at any stage is elected.
- r.48: a surplus is transferred by passing on *all* the elected candidate's papers, each at
  a transfer value of (its value × surplus ÷ the candidate's total), calculated to five decimal
  places with any remainder ignored; the candidate keeps exactly the quota.
- r.49: the highest surplus goes first; equal surpluses are ordered by the most recent
  preceding stage at which the candidates' votes differed (49(2)), then by lot (49(3)).
- r.50: when no papers remain to be transferred, the candidate with the fewest votes is
  excluded and all their papers pass on at the value at which they were received, in one stage.
- r.51: equal lowest candidates are decided by the most recent preceding stage at which they
  differed (51(2)(a)), then by lot (51(2)(b)).
- r.52: when the continuing candidates are as many as the vacancies, they are elected, and no
  further transfer is made.

Every stage records each candidate's total, the value transferred, the non-transferable value
(exhausted papers and the fractions lost to truncation) and every tie-break.
"""

from __future__ import annotations

from assembly.counting.ballots import Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, TieBreak
from assembly.counting.stvcount import TransferCount, stv_result
from assembly.counting.ties import break_tie

__all__ = ["RULES", "RULES_VERSION", "SCALE", "count_stv", "droop_quota"]

SCALE = 100_000
RULES = "scottish-2007"
RULES_VERSION = "1"

#: A parcel of papers held by a candidate: (ranking, position of the holder in it, value of
#: each paper in units, number of papers).
Parcel = tuple[tuple[int, ...], int, int, int]


def droop_quota(valid: int, seats: int) -> int:
    """r.46: valid papers ÷ (seats + 1), ignoring decimal places, plus one."""
    return valid // (seats + 1) + 1


class _ScottishCount(TransferCount):
    def __init__(self, profile: Profile, seats: int, lots: Lots) -> None:
        super().__init__(profile, seats, lots)
        self.quota = droop_quota(self.valid, seats)
        self.quota_units = self.quota * SCALE
        self.piles: list[list[Parcel]] = [[] for _ in range(self.n)]
        #: Elected candidates whose surplus has not been transferred yet.
        self.pending: list[int] = []
        self.history: list[list[int]] = []

    # -- helpers ------------------------------------------------------------------------------

    def _break(self, tied: list[int], *, highest: bool, purpose: str, ties: list[TieBreak]) -> int:
        chosen, record = break_tie(
            tied, self.history, highest=highest, purpose=purpose, lots=self.lots, ids=self.ids
        )
        ties.append(record)
        return chosen

    def _order(self, group: list[int], purpose: str, ties: list[TieBreak]) -> list[int]:
        """Order candidates by current votes, highest first, breaking ties by the rules."""
        ordered: list[int] = []
        remaining = sorted(group, key=lambda c: -self.totals[c])
        while remaining:
            top = self.totals[remaining[0]]
            tied = [c for c in remaining if self.totals[c] == top]
            first = (
                tied[0]
                if len(tied) == 1
                else self._break(tied, highest=True, purpose=purpose, ties=ties)
            )
            ordered.append(first)
            remaining.remove(first)
        return ordered

    # -- stages -------------------------------------------------------------------------------

    def _finish_stage(
        self,
        action: str,
        candidate: int | None,
        before: list[int],
        ties: list[TieBreak],
        *,
        surplus: int | None = None,
        from_total: int | None = None,
        excluded: tuple[str, ...] = (),
    ) -> None:
        """Record the totals, elect whoever reached the quota (r.47), apply r.52."""
        self.history.append(list(self.totals))
        notes: list[str] = []
        elected_now: list[int] = []
        vacancies = self.seats - len(self.elected)
        reached = [
            c for c in range(self.n) if self.continuing[c] and self.totals[c] >= self.quota_units
        ]
        for c in self._order(reached, "order of election", ties)[:vacancies]:
            self.continuing[c] = False
            self.elected.append(c)
            elected_now.append(c)
            notes.append(f"{self.ids[c]} reached the quota")
            if self.totals[c] > self.quota_units:
                self.pending.append(c)
        vacancies = self.seats - len(self.elected)
        continuing = [c for c in range(self.n) if self.continuing[c]]
        if vacancies and len(continuing) <= vacancies:
            # r.52: as many continuing candidates as vacancies: all are elected.
            for c in self._order(continuing, "order of election", ties):
                self.continuing[c] = False
                self.elected.append(c)
                elected_now.append(c)
                notes.append(f"{self.ids[c]} elected: continuing candidates equal vacancies (r.52)")
        self._add_stage(
            action,
            candidate,
            before,
            surplus=surplus,
            from_total=from_total,
            elected=elected_now,
            excluded=excluded,
            ties=ties,
            notes=notes,
        )

    def first_preferences(self) -> None:
        """r.45: sort the papers by first preference."""
        for ranking, count in self.profile.rankings:
            first = ranking[0]
            self.piles[first].append((ranking, 0, SCALE, int(count)))
            self.totals[first] += SCALE * int(count)
        self._finish_stage("first-preferences", None, [0] * self.n, [])

    def transfer_surplus(self) -> None:
        """r.48–49: pass on all papers of the candidate with the highest surplus."""
        ties: list[TieBreak] = []
        surpluses = {c: self.totals[c] - self.quota_units for c in self.pending}
        largest = max(surpluses.values())
        tied = [c for c in self.pending if surpluses[c] == largest]
        chosen = (
            tied[0]
            if len(tied) == 1
            else self._break(tied, highest=True, purpose="order of surpluses", ties=ties)
        )
        self.pending.remove(chosen)
        before = list(self.totals)
        total = self.totals[chosen]
        surplus = total - self.quota_units
        moved = exhausted = 0
        for ranking, position, value, count in self.piles[chosen]:
            # r.48(3): value × surplus ÷ total, truncated to five decimal places.
            new_value = value * surplus // total
            if new_value == 0:
                continue
            target, at = self._next_continuing(ranking, position)
            amount = new_value * count
            if target < 0:
                exhausted += amount
            else:
                self.piles[target].append((ranking, at, new_value, count))
                self.totals[target] += amount
                moved += amount
        self.piles[chosen] = []
        self.totals[chosen] = self.quota_units
        self.non_transferable += surplus - moved
        self.lost += surplus - moved - exhausted
        self._finish_stage("surplus", chosen, before, ties, surplus=surplus, from_total=total)

    def exclude_lowest(self) -> None:
        """r.50–51: exclude the lowest continuing candidate; papers pass on at their value."""
        ties: list[TieBreak] = []
        continuing = [c for c in range(self.n) if self.continuing[c]]
        lowest = min(self.totals[c] for c in continuing)
        tied = [c for c in continuing if self.totals[c] == lowest]
        chosen = (
            tied[0]
            if len(tied) == 1
            else self._break(tied, highest=False, purpose="exclusion", ties=ties)
        )
        before = list(self.totals)
        self.continuing[chosen] = False
        self.excluded.append(chosen)
        for ranking, position, value, count in self.piles[chosen]:
            target, at = self._next_continuing(ranking, position)
            amount = value * count
            if target < 0:
                self.non_transferable += amount
            else:
                self.piles[target].append((ranking, at, value, count))
                self.totals[target] += amount
        self.piles[chosen] = []
        self.totals[chosen] = 0
        self._finish_stage("exclusion", chosen, before, ties, excluded=(self.ids[chosen],))

    def run(self) -> CountResult:
        self.first_preferences()
        while len(self.elected) < self.seats and any(self.continuing):
            if self.pending:
                self.transfer_surplus()
            else:
                self.exclude_lowest()
        return stv_result(
            self, rules=RULES, version=RULES_VERSION, quota=self.quota * SCALE, scale=SCALE
        )


def count_stv(profile: Profile, seats: int, *, seed: str | None = None) -> CountResult:
    """Count ``profile`` for ``seats`` seats by the Scottish STV rules.

    :param seed: hex seed fixed before the count, used only if a tie must be decided by lot.
    :raises BallotError: the profile cannot be counted (no seats, weighted ballots).
    :raises LotNeeded: a tie needs a lot and no seed was given.
    """
    return _ScottishCount(profile, seats, Lots.from_hex(seed)).run()
