"""Single transferable vote under the NHS foundation trust Model Election Rules 2014 (the STV
counting rules of a trust's constitution), which take their counting rules from the Northern
Ireland local election rules: the Local Elections (Northern Ireland) Order 1985 (SI 1985/454),
now Schedule 5 to the Electoral Law Act (Northern Ireland) 1962, Part IV, rules 47 to 52.

The rule numbers cited here are those of the Northern Ireland text, the text that was read;
the Model Election Rules' own text could not be, and its numbers are not cited (docs/counting.md
says where each text was found, and every choice made where the text is silent).

Values are integers in units of 0.01 of a vote (``SCALE``): every paper is worth 1.00 or a
transfer value calculated to two decimal places, so every total is a whole number of units
and every truncation is the one the rules prescribe. The steps:

- r.47: first preferences are counted; each paper is worth one vote.
- r.48(1)–(2): the quota is the number of valid papers divided by one more than the number of
  seats, any fraction disregarded, plus one.
- r.48(3): a candidate whose votes equal or exceed the quota at any stage is deemed elected.
- r.49(1)–(4): a surplus arising at the first stage is transferred from *all* the candidate's
  papers: the transferable ones are sorted by next available preference, each at a transfer
  value of surplus ÷ number of transferable papers, to two decimal places with the remainder
  ignored, and never more than the 1.00 each paper is worth (49(4)(a): it "reduces" it).
- r.49(5)–(7): a surplus arising later is transferred from the sub-parcel *last received*
  only, at that calculated value or the value at which the papers were received, whichever
  is the less.
- r.49(10): surpluses are not transferred (they are deferred) while all of them together are
  less than the gap between the two lowest continuing candidates, or between the lowest group
  of candidates together and the candidate next above them.
- r.50(1): the largest surplus goes first; equal surpluses by the highest votes at the
  *earliest* preceding stage at which they differed, then by lot.
- r.50(2)(c): what a surplus does not pass on is non-transferable.
- r.51(1)–(9): otherwise the lowest candidate is excluded: first their first-preference
  papers are transferred (one stage), then the papers transferred to them, in sub-parcels by
  transfer value, highest first, each at the value at which it was received (a stage each).
- r.51(11): a surplus that arises meanwhile is transferred after the exclusion is complete.
- r.51(12): the lowest two or more candidates are excluded together when their votes, with
  any surpluses not transferred, are less than the votes of the candidate next above them.
- r.51(13): equal lowest candidates: the one with the fewest votes at the *earliest* stage at
  which they differed is excluded, then by lot.
- r.52: when the continuing candidates are as many as the vacancies they are all elected; and
  when one vacancy is left, a candidate whose votes are at least those of all the other
  continuing candidates together with any surplus not transferred is elected; no further
  transfer is then made.

Every stage records each candidate's total, the value transferred, the non-transferable value
(exhausted papers, the part of a surplus the transferable papers could not carry, and the
hundredths lost to truncation) and every tie-break.
"""

from __future__ import annotations

from collections.abc import Sequence

from assembly.counting.ballots import Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, TieBreak
from assembly.counting.stv import droop_quota
from assembly.counting.stvcount import TransferCount, stv_result
from assembly.counting.ties import break_tie

__all__ = ["RULES", "RULES_VERSION", "SCALE", "count_stv", "quota"]

SCALE = 100
RULES = "nhs-mer-2014"
RULES_VERSION = "1"

#: Papers held by a candidate: (ranking, position of the holder in it, value of each paper in
#: units, number of papers, stage at which the holder received them). Position 0 is a first
#: preference; every paper of one sub-parcel was received at the same stage and value.
Parcel = tuple[tuple[int, ...], int, int, int, int]


def quota(valid: int, seats: int) -> int:
    """r.48(1)–(2): valid papers ÷ (seats + 1), any fraction disregarded, plus one."""
    return droop_quota(valid, seats)


def _units(value: int) -> str:
    whole, part = divmod(value, SCALE)
    return f"{whole}.{part:02d}"


class _MerCount(TransferCount):
    def __init__(self, profile: Profile, seats: int, lots: Lots) -> None:
        super().__init__(profile, seats, lots)
        self.quota = quota(self.valid, seats)
        self.quota_units = self.quota * SCALE
        self.piles: list[list[Parcel]] = [[] for _ in range(self.n)]
        #: Elected candidates whose surplus has not been transferred yet.
        self.pending: list[int] = []
        self.history: list[list[int]] = []

    # -- helpers ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.vacancies == 0 or not any(self.continuing)

    def _surplus(self, candidate: int) -> int:
        return self.totals[candidate] - self.quota_units

    def _untransferred(self) -> int:
        return sum(self._surplus(c) for c in self.pending)

    def _break(self, tied: list[int], *, highest: bool, purpose: str, ties: list[TieBreak]) -> int:
        # rr.50(1)(a)–(b), 51(13): the earliest preceding stage at which they differed, then lot.
        chosen, record = break_tie(
            tied,
            self.history,
            highest=highest,
            purpose=purpose,
            lots=self.lots,
            ids=self.ids,
            earliest=True,
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

    def _lowest_group(self) -> list[int]:
        """r.51(12): the most candidates, from the bottom, who may be excluded together.

        Two or more of the lowest, whose votes together with every surplus not transferred
        are less than the votes of the candidate next above them; never so many that fewer
        continuing candidates than vacancies would be left. Empty if there are none.
        """
        ranked = sorted(self._continuing(), key=lambda c: self.totals[c])
        votes = [self.totals[c] for c in ranked]
        untransferred = self._untransferred()
        most = len(ranked) - self.vacancies
        for k in range(most, 1, -1):
            if sum(votes[:k]) + untransferred < votes[k]:
                return ranked[:k]
        return []

    def _deferred(self) -> bool:
        """r.49(10): whether every surplus not yet transferred may wait.

        (a) together they are less than the gap between the lowest continuing candidate and
        the next lowest, or (b) less than the gap between the lowest two or more candidates
        together and the candidate next above them (a group that r.51(12) could exclude).
        r.49(11): not at an election to one vacancy.
        """
        if self.seats == 1:
            return False
        ranked = sorted(self._continuing(), key=lambda c: self.totals[c])
        votes = [self.totals[c] for c in ranked]
        untransferred = self._untransferred()
        most = len(ranked) - self.vacancies
        return any(untransferred < votes[k] - sum(votes[:k]) for k in range(1, most + 1))

    # -- stages -------------------------------------------------------------------------------

    def _finish_stage(
        self,
        action: str,
        candidate: int | None,
        before: Sequence[int],
        ties: list[TieBreak],
        *,
        surplus: int | None = None,
        from_total: int | None = None,
        excluded: tuple[str, ...] = (),
        notes: Sequence[str] = (),
    ) -> None:
        """Record the totals, deem elected whoever reached the quota (r.48(3)), apply r.52."""
        self.history.append(list(self.totals))
        said = list(notes)
        elected_now: list[int] = []
        reached = [c for c in self._continuing() if self.totals[c] >= self.quota_units]
        for c in self._order(reached, "order of election", ties)[: self.vacancies]:
            self.continuing[c] = False
            self.elected.append(c)
            elected_now.append(c)
            said.append(f"{self.ids[c]} reached the quota (r.48(3))")
            if self.totals[c] > self.quota_units:
                self.pending.append(c)
        continuing = self._continuing()
        if self.vacancies and len(continuing) <= self.vacancies:
            # r.52(1): as many continuing candidates as vacancies: all are elected.
            for c in self._order(continuing, "order of election", ties):
                self.continuing[c] = False
                self.elected.append(c)
                elected_now.append(c)
                said.append(
                    f"{self.ids[c]} elected: continuing candidates equal vacancies (r.52(1))"
                )
        elif self.vacancies == 1 and len(continuing) > 1:
            # r.52(2): one vacancy, and one candidate has at least all the others together
            # with every surplus not transferred. When two are level with nothing else left,
            # both meet the words; the rule then decides nothing, and exclusion (r.51(13))
            # decides between them.
            everyone = sum(self.totals[c] for c in continuing) + self._untransferred()
            leaders = [c for c in continuing if 2 * self.totals[c] >= everyone]
            if len(leaders) == 1:
                c = leaders[0]
                self.continuing[c] = False
                self.elected.append(c)
                elected_now.append(c)
                said.append(
                    f"{self.ids[c]} elected: at least the other continuing candidates together "
                    "with any surplus not transferred (r.52(2))"
                )
        self._add_stage(
            action,
            candidate,
            before,
            surplus=surplus,
            from_total=from_total,
            elected=elected_now,
            excluded=excluded,
            ties=ties,
            notes=said,
        )

    def first_preferences(self) -> None:
        """r.47: sort the papers into parcels by first preference."""
        for ranking, count in self.profile.rankings:
            first = ranking[0]
            self.piles[first].append((ranking, 0, SCALE, int(count), 1))
            self.totals[first] += SCALE * int(count)
        self._finish_stage("first-preferences", None, [0] * self.n, [])

    def transfer_surplus(self) -> None:
        """rr.49–50: transfer the largest surplus from the sub-parcel last received."""
        ties: list[TieBreak] = []
        surpluses = {c: self._surplus(c) for c in self.pending}
        largest = max(surpluses.values())
        tied = [c for c in self.pending if surpluses[c] == largest]
        chosen = (
            tied[0]
            if len(tied) == 1
            else self._break(tied, highest=True, purpose="order of surpluses", ties=ties)
        )
        self.pending.remove(chosen)
        stage = len(self.stages) + 1
        before = list(self.totals)
        total = self.totals[chosen]
        surplus = total - self.quota_units
        # r.49(1): at the first stage, all the candidate's papers; r.49(5): later, the
        # sub-parcel last received. A candidate receives nothing once deemed elected, so both
        # are the papers received at the stage at which the candidate was elected.
        last = max(p[4] for p in self.piles[chosen])
        parcel = [p for p in self.piles[chosen] if p[4] == last]
        transferable: list[tuple[tuple[int, ...], int, int, int, int]] = []
        for ranking, position, value, count, _ in parcel:
            target, at = self._next_continuing(ranking, position)
            if target >= 0:
                transferable.append((ranking, at, value, count, target))
        papers = sum(p[3] for p in transferable)
        # r.49(4)(b): surplus ÷ transferable papers, to two decimal places, remainder ignored
        # (in units of 0.01, integer division is exactly that truncation).
        calculated = surplus // papers if papers else 0
        moved = carried = 0
        values: set[int] = set()
        for ranking, at, value, count, target in transferable:
            # r.49(4)(a), 49(7): never more than the value at which the paper was received.
            new_value = min(calculated, value)
            values.add(new_value)
            carried += value * count
            if new_value == 0:
                continue
            self.piles[target].append((ranking, at, new_value, count, stage))
            self.totals[target] += new_value * count
            moved += new_value * count
        self.piles[chosen] = []
        self.totals[chosen] = self.quota_units
        # r.50(2)(c): the difference between the surplus and the value transferred.
        self.non_transferable += surplus - moved
        self.lost += min(surplus, carried) - moved
        if last == 1:
            source = "all papers (r.49(1))"
        else:
            source = f"the sub-parcel received at stage {last} (r.49(5))"
        shown = ", ".join(_units(v) for v in sorted(values, reverse=True)) or "none"
        notes = [
            f"surplus {_units(surplus)} of {self.ids[chosen]} from {source}: "
            f"{papers} transferable papers, transfer value {shown} (r.49(4), 49(7))"
        ]
        self._finish_stage(
            "surplus", chosen, before, ties, surplus=surplus, from_total=total, notes=notes
        )

    def exclude(self) -> None:
        """r.51: exclude the lowest candidate (or candidates), one sub-parcel per stage."""
        ties: list[TieBreak] = []
        notes: list[str] = []
        if self.pending:
            deferred = ", ".join(f"{self.ids[c]} {_units(self._surplus(c))}" for c in self.pending)
            notes.append(f"surpluses not transferred, too small to matter (r.49(10)): {deferred}")
        group = self._lowest_group()
        if group:
            notes.append(
                "excluded together: with any surplus not transferred, fewer votes than the "
                "candidate next above (r.51(12))"
            )
        else:
            continuing = self._continuing()
            lowest = min(self.totals[c] for c in continuing)
            tied = [c for c in continuing if self.totals[c] == lowest]
            group = [
                tied[0]
                if len(tied) == 1
                else self._break(tied, highest=False, purpose="exclusion", ties=ties)
            ]
        for c in group:
            self.continuing[c] = False
            self.excluded.append(c)
        held = [(owner, p) for owner in group for p in self.piles[owner]]
        for owner in group:
            self.piles[owner] = []
        # r.51(2)–(4): the first-preference papers first; r.51(5)–(9): then the transferred
        # papers, a sub-parcel for each transfer value, the highest first.
        steps: list[tuple[str, list[tuple[int, Parcel]]]] = []
        first = [(owner, p) for owner, p in held if p[1] == 0]
        if first:
            steps.append(("first-preference papers (r.51(2)–(3))", first))
        for value in sorted({p[2] for _, p in held if p[1] > 0}, reverse=True):
            steps.append(
                (
                    f"papers received at {_units(value)} (r.51(5)–(9))",
                    [(owner, p) for owner, p in held if p[1] > 0 and p[2] == value],
                )
            )
        if not steps:
            steps.append(("no papers", []))
        names = tuple(self.ids[c] for c in group)
        for index, (what, parcels) in enumerate(steps):
            stage = len(self.stages) + 1
            before = list(self.totals)
            for owner, (ranking, position, value, count, _) in parcels:
                target, at = self._next_continuing(ranking, position)
                amount = value * count
                self.totals[owner] -= amount
                if target < 0:
                    # r.51(8): no next available preference: non-transferable.
                    self.non_transferable += amount
                else:
                    # r.51(7): at the value at which the paper was received.
                    self.piles[target].append((ranking, at, value, count, stage))
                    self.totals[target] += amount
            self._finish_stage(
                "exclusion",
                group[0],
                before,
                ties if index == 0 else [],
                excluded=names if index == 0 else (),
                notes=[*(notes if index == 0 else []), f"exclusion of {', '.join(names)}: {what}"],
            )
            if self.done:
                # r.51(5), r.52(3): the vacancies are filled; nothing more is transferred.
                break

    def run(self) -> CountResult:
        self.first_preferences()
        while not self.done:
            if self.pending and not self._deferred():
                self.transfer_surplus()
            else:
                self.exclude()
        return stv_result(
            self, rules=RULES, version=RULES_VERSION, quota=self.quota_units, scale=SCALE
        )


def count_stv(profile: Profile, seats: int, *, seed: str | None = None) -> CountResult:
    """Count ``profile`` for ``seats`` seats by the Model Election Rules 2014 STV rules.

    :param seed: hex seed fixed before the count, used only if a tie must be decided by lot.
    :raises BallotError: the profile cannot be counted (no seats, weighted ballots).
    :raises LotNeeded: a tie needs a lot and no seed was given.
    """
    return _MerCount(profile, seats, Lots.from_hex(seed)).run()
