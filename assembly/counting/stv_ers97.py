"""Single transferable vote under the Electoral Reform Society's 1997 rules: "How to conduct an
election by the Single Transferable Vote", 3rd edition (ERS97), sections 5 and 6.

Values are integers in units of 0.01 of a vote (``SCALE``): the rules take every division to two
decimal places. The steps, with the paragraph each follows (docs/counting.md has the choices the
text leaves open):

- 5.1.2: every valid paper is worth one vote (100 units), sorted by first preference.
- 5.1.6: the quota is the total valid vote divided by one more than the places to be filled,
  taken to two decimal places; if not exact, the remainder is ignored and 0.01 added.
- 5.1.7, 5.3.13, 5.4.9: in descending order of votes, a continuing candidate is deemed elected
  whose vote equals or exceeds the quota, or (rarely lower) the total active vote divided by one
  more than the places not yet filled; 5.6.2 decides equal votes for too few places by the
  earliest point at which they differed, and if they never differed none of them is elected yet.
- 5.2.2: the transfer of surpluses is deferred while their total does not exceed the gap between
  the lowest candidates and the candidate next above them.
- 5.2.3: the largest surplus goes first; equal surpluses by the greatest vote at the earliest
  point at which they differed, then by lot.
- 5.3.1–5.3.2: a surplus arising at the first stage takes all the candidate's papers; a later one
  only the last batch received, which gave rise to it.
- 5.3.7: the transfer value is the surplus divided by the number of transferable papers, to two
  decimal places ignoring the remainder, unless their value does not exceed the surplus, when
  each passes at its present value; the remainder is the non-transferable difference (6.11).
- 5.2.5: with no surplus to transfer, as many of the lowest candidates are excluded together as
  leave enough to fill the places and whose votes, with any deferred surpluses, do not exceed
  the vote of the candidate next above; equal lowest by the fewest votes at the earliest point
  at which they differed, then by lot.
- 5.4: the excluded candidates' papers pass in batches, in descending order of transfer value;
  after each batch the quota may be reduced (5.4.8) and candidates deemed elected (5.4.9), who
  then receive no more papers (5.4.10).
- 5.5.1: if an exclusion would leave as many continuing candidates as places, they are deemed
  elected; 5.5.2: once every place is filled, nothing more is transferred and the rest are
  formally excluded.
"""

from __future__ import annotations

from dataclasses import replace

from assembly.counting.ballots import Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, TieBreak
from assembly.counting.stvcount import TransferCount, stv_result
from assembly.counting.ties import narrow, settle

__all__ = ["RULES", "RULES_VERSION", "SCALE", "count_stv", "ers97_quota"]

SCALE = 100
RULES = "ers97"
RULES_VERSION = "1"

#: Papers of one ranking in a batch: (ranking, position of the holder in it, number of papers).
Papers = tuple[tuple[int, ...], int, int]
#: A batch (6.1): all the papers of one value received in one transfer.
Batch = tuple[int, list[Papers]]


def ers97_quota(total: int, seats: int) -> int:
    """5.1.6: ``total`` (units) ÷ (seats + 1) to two places; if inexact, truncate and add 0.01."""
    return -(-total // (seats + 1))


class _Ers97Count(TransferCount):
    def __init__(self, profile: Profile, seats: int, lots: Lots) -> None:
        super().__init__(profile, seats, lots)
        self.quota = ers97_quota(self.valid * SCALE, seats)
        self.batches: list[list[Batch]] = [[] for _ in range(self.n)]
        #: Candidates deemed elected whose surplus has not been transferred, with whether it
        #: arose at the first stage (5.3.1) or later (5.3.2).
        self.pending: dict[int, bool] = {}
        #: The first stage and every point after the transfer of a batch: (stage, totals).
        self.points: list[tuple[int, list[int]]] = []

    # -- helpers ------------------------------------------------------------------------------

    @property
    def stage_number(self) -> int:
        return len(self.stages) + 1

    def _surplus(self, c: int) -> int:
        return self.totals[c] - self.quota

    def _earliest_difference(
        self, tied: list[int], *, highest: bool
    ) -> tuple[list[int], int | None]:
        """5.2.3, 5.2.5, 5.6.2: narrow ``tied`` by the first stage or the earliest point after
        the transfer of a batch at which their votes were unequal, going forward among those
        still level; return those left and the stage of the last point that separated any."""
        return narrow(tied, self.points, highest=highest, earliest=True)

    def _break(self, tied: list[int], *, highest: bool, purpose: str, ties: list[TieBreak]) -> int:
        """Break a tie by the earliest point of difference, then by lot (5.2.3, 5.2.5)."""
        group, stage = self._earliest_difference(tied, highest=highest)
        chosen, tie = settle(tied, group, stage, purpose=purpose, lots=self.lots, ids=self.ids)
        ties.append(tie)
        return chosen

    def _total_active_vote(self, awaiting: int) -> int:
        """6.20: the votes of all continuing candidates, plus any votes awaiting transfer."""
        pending = sum(max(self._surplus(c), 0) for c in self.pending)
        return sum(self.totals[c] for c in self._continuing()) + pending + awaiting

    def _reaches(self, c: int, awaiting: int) -> bool:
        """5.1.7(a)–(b): the vote equals or exceeds the quota, or the total active vote divided
        by one more than the places not yet filled (compared exactly: a vote is a whole number
        of units, so this equals comparing with that value rounded up to 0.01)."""
        vote = self.totals[c]
        return vote >= self.quota or vote * (self.vacancies + 1) >= self._total_active_vote(
            awaiting
        )

    def _deem_elected(
        self, ties: list[TieBreak], notes: list[str], elected_now: list[int], *, awaiting: int = 0
    ) -> None:
        """5.1.7, 5.3.13, 5.4.9 with 5.6.2: deem elected, highest vote first, up to the places."""
        first_stage = not self.stages
        while self.vacancies:
            continuing = sorted(self._continuing(), key=lambda c: -self.totals[c])
            if not continuing or not self._reaches(continuing[0], awaiting):
                return
            top = self.totals[continuing[0]]
            level = [c for c in continuing if self.totals[c] == top]
            if len(level) > self.vacancies:
                # 5.6.2: equal votes and too few places: the earliest point of difference.
                group, stage = self._earliest_difference(level, highest=True)
                if len(group) > self.vacancies:
                    notes.append(
                        f"{', '.join(self.ids[c] for c in level)} are equal and were equal at "
                        "every point: none is deemed elected at this stage (5.6.2)"
                    )
                    return
                ties.append(
                    TieBreak(
                        purpose="order of election",
                        candidates=tuple(self.ids[c] for c in level),
                        chosen=self.ids[group[0]],
                        stage=stage,
                    )
                )
                level = group
            for c in level:
                self.continuing[c] = False
                self.elected.append(c)
                elected_now.append(c)
                how = "the quota" if self.totals[c] >= self.quota else "the total active vote"
                notes.append(f"{self.ids[c]} deemed elected: reached {how}")
                if self.totals[c] > self.quota:
                    self.pending[c] = first_stage

    def _finish_stage(
        self,
        action: str,
        candidate: int | None,
        before: list[int],
        ties: list[TieBreak],
        notes: list[str],
        elected_now: list[int],
        *,
        surplus: int | None = None,
        from_total: int | None = None,
        excluded: tuple[str, ...] = (),
    ) -> None:
        """Record the stage; 4.3: when as many candidates continue as places, they are elected."""
        continuing = self._continuing()
        if self.vacancies and len(continuing) <= self.vacancies:
            for c in sorted(continuing, key=lambda c: (-self.totals[c], c)):
                self.continuing[c] = False
                self.elected.append(c)
                elected_now.append(c)
                notes.append(f"{self.ids[c]} deemed elected: continuing candidates equal places")
        notes.append(f"quota {self.quota}")
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

    # -- stages -------------------------------------------------------------------------------

    def first_stage(self) -> None:
        """5.1: sort the papers by first preference; the quota; deem elected."""
        for ranking, count in self.profile.rankings:
            first = ranking[0]
            self.batches[first] = self.batches[first] or [(SCALE, [])]
            self.batches[first][0][1].append((ranking, 0, int(count)))
            self.totals[first] += SCALE * int(count)
        self.points.append((1, list(self.totals)))
        ties: list[TieBreak] = []
        notes: list[str] = []
        elected_now: list[int] = []
        self._deem_elected(ties, notes, elected_now)
        self._finish_stage("first-preferences", None, [0] * self.n, ties, notes, elected_now)

    def _lowest_first(self) -> list[int]:
        return sorted(self._continuing(), key=lambda c: self.totals[c])

    def _deferred(self) -> bool:
        """5.2.2: defer if the total of surpluses does not exceed (a) the difference between the
        two lowest candidates or (b) that between the total of two or more lowest candidates who
        could be excluded under 5.2.5 and the vote of the candidate next above."""
        total = sum(self._surplus(c) for c in self.pending)
        return self._exclusion_size(total) > 0

    def _exclusion_size(self, deferred: int) -> int:
        """The most lowest candidates that can be excluded together (5.2.5(a)–(b)) with
        ``deferred`` surpluses outstanding; 0 if not even the lowest can."""
        lowest = self._lowest_first()
        most = len(lowest) - self.vacancies
        size = 0
        running = 0
        for k in range(1, min(most, len(lowest) - 1) + 1):
            running += self.totals[lowest[k - 1]]
            if running + deferred <= self.totals[lowest[k]]:
                size = k
        return size

    def transfer_surplus(self) -> None:
        """5.2.3, 5.3: transfer the largest surplus, from the papers 5.3.1–5.3.2 select."""
        ties: list[TieBreak] = []
        notes: list[str] = []
        largest = max(self._surplus(c) for c in self.pending)
        tied = [c for c in self.pending if self._surplus(c) == largest]
        chosen = (
            tied[0]
            if len(tied) == 1
            else self._break(tied, highest=True, purpose="order of surpluses", ties=ties)
        )
        at_first_stage = self.pending.pop(chosen)
        before = list(self.totals)
        total = self.totals[chosen]
        surplus = total - self.quota
        # 5.3.1: all the papers (one batch of value 1 at the first stage); 5.3.2: the last batch.
        batches = self.batches[chosen] if at_first_stage else self.batches[chosen][-1:]
        routed: dict[int, list[Papers]] = {}
        transferable = 0
        value = batches[-1][0]
        for _, papers in batches:
            for ranking, position, count in papers:
                target, at = self._next_continuing(ranking, position)
                if target >= 0:
                    routed.setdefault(target, []).append((ranking, at, count))
                    transferable += count
        # 5.3.7: surplus ÷ transferable papers, to two places ignoring the remainder, unless
        # their present value does not exceed the surplus.
        if transferable * value > surplus:
            transfer_value = surplus // transferable
            self.lost += surplus - transfer_value * transferable
            notes.append(f"transfer value {transfer_value} of {transferable} transferable papers")
        else:
            transfer_value = value
            notes.append(f"{transferable} transferable papers pass at their present value")
        moved = 0
        for target in sorted(routed):
            papers = routed[target]
            self.batches[target].append((transfer_value, papers))
            amount = transfer_value * sum(count for _, _, count in papers)
            self.totals[target] += amount
            moved += amount
        # 5.3.9–5.3.10: the non-transferable difference joins the non-transferable vote.
        self.non_transferable += surplus - moved
        self.totals[chosen] = self.quota
        self.batches[chosen] = []
        self.points.append((self.stage_number, list(self.totals)))
        elected_now: list[int] = []
        self._deem_elected(ties, notes, elected_now)
        self._finish_stage(
            "surplus",
            chosen,
            before,
            ties,
            notes,
            elected_now,
            surplus=surplus,
            from_total=total,
        )

    def exclude(self) -> None:
        """5.2.5, 5.4, 5.5.1: exclude the lowest candidate or candidates and transfer their
        papers batch by batch, in descending order of transfer value."""
        ties: list[TieBreak] = []
        notes: list[str] = []
        deferred = sum(self._surplus(c) for c in self.pending)
        if deferred:
            notes.append(f"surpluses of {deferred} deferred (5.2.2)")
        size = max(self._exclusion_size(deferred), 1)
        lowest = self._lowest_first()
        boundary = self.totals[lowest[size - 1]]
        chosen = [c for c in lowest[:size] if self.totals[c] < boundary]
        level = [c for c in lowest if self.totals[c] == boundary]
        if len(level) == size - len(chosen):
            chosen.extend(level)
        while len(chosen) < size:
            # 5.2.5: equal lowest: the fewest votes at the earliest point of difference, then lot.
            pick = (
                level[0]
                if len(level) == 1
                else self._break(level, highest=False, purpose="exclusion", ties=ties)
            )
            chosen.append(pick)
            level.remove(pick)
        before = list(self.totals)
        for c in chosen:
            self.continuing[c] = False
            self.excluded.append(c)
        excluded_ids = tuple(self.ids[c] for c in chosen)
        elected_now: list[int] = []
        if len(self._continuing()) == self.vacancies:
            # 5.5.1: the exclusion leaves as many continuing candidates as places: they are all
            # deemed elected, and (5.5.2) no papers are transferred.
            notes.append("5.5.1: continuing candidates equal the places left")
            self._finish_stage(
                "exclusion", None, before, ties, notes, elected_now, excluded=excluded_ids
            )
            return
        # 5.4.1: all the excluded candidates' papers, in batches by value, highest value first.
        by_value: dict[int, list[tuple[int, Papers]]] = {}
        for c in chosen:
            for value, papers in self.batches[c]:
                by_value.setdefault(value, []).extend((c, p) for p in papers)
        for value in sorted(by_value, reverse=True):
            if not self.vacancies:
                break  # 5.5.2: every place is filled; nothing more is transferred.
            routed: dict[int, list[Papers]] = {}
            for holder, (ranking, position, count) in by_value.pop(value):
                amount = value * count
                self.totals[holder] -= amount
                target, at = self._next_continuing(ranking, position)
                if target < 0:
                    self.non_transferable += amount
                else:
                    routed.setdefault(target, []).append((ranking, at, count))
            for target in sorted(routed):
                papers = routed[target]
                self.batches[target].append((value, papers))
                self.totals[target] += value * sum(count for _, _, count in papers)
            if not self.elected:
                # 5.4.8: before anyone is deemed elected, papers that became non-transferable
                # reduce the quota.
                self.quota = ers97_quota(self.valid * SCALE - self.non_transferable, self.seats)
            self.points.append((self.stage_number, list(self.totals)))
            awaiting = sum(
                later * count for later, rest in by_value.items() for _, (_, _, count) in rest
            )
            self._deem_elected(ties, notes, elected_now, awaiting=awaiting)
        for c in chosen:
            # Untransferred papers (5.5.2) stay with their candidate; the rest have gone.
            self.batches[c] = [
                (value, [p for holder, p in rest if holder == c])
                for value, rest in by_value.items()
            ]
        self._finish_stage(
            "exclusion",
            chosen[0] if len(chosen) == 1 else None,
            before,
            ties,
            notes,
            elected_now,
            excluded=excluded_ids,
        )

    def run(self) -> CountResult:
        self.first_stage()
        while self.vacancies and any(self.continuing):
            if self.pending and not self._deferred():
                self.transfer_surplus()
            else:
                self.exclude()
        remaining = self._continuing()
        if remaining and self.stages:
            # 5.5.2: the remaining continuing candidates are formally excluded.
            for c in remaining:
                self.continuing[c] = False
                self.excluded.append(c)
            last = self.stages[-1]
            note = f"5.5.2: {', '.join(self.ids[c] for c in remaining)} formally excluded"
            self.stages[-1] = replace(last, notes=(*last.notes, note))
        return stv_result(self, rules=RULES, version=RULES_VERSION, quota=self.quota, scale=SCALE)


def count_stv(profile: Profile, seats: int, *, seed: str | None = None) -> CountResult:
    """Count ``profile`` for ``seats`` seats by the ERS97 rules.

    :param seed: hex seed fixed before the count, used only if a tie must be decided by lot.
    :raises BallotError: the profile cannot be counted (no seats, weighted ballots).
    :raises LotNeeded: a tie needs a lot and no seed was given.
    """
    return _Ers97Count(profile, seats, Lots.from_hex(seed)).run()
