"""Single transferable vote by Meek's method: I. D. Hill, B. A. Wichmann and D. R. Woodall,
"Algorithm 123 — Single Transferable Vote by Meek's method", The Computer Journal 30(3), 1987,
counted in exact rational arithmetic, with the stopping rule and the defeat of sure losers of
the droop package's reference Meek rule ("Meek Parametric", rational arithmetic, ω = 10⁻¹⁰).

Every value is an exact ``Fraction`` (the result declares ``scale`` 1), so nothing is ever
rounded. The steps, with the part of the method each follows (docs/counting.md has the choices):

- Keep factors: each elected candidate keeps the fraction ``kf`` of the value of every paper
  that reaches them and passes on the rest; a hopeful candidate keeps everything (kf = 1), a
  defeated one nothing (kf = 0). A paper's value that nobody keeps is the excess
  (non-transferable).
- Quota: the votes held by all candidates (the valid vote less the excess) divided by one more
  than the number of seats; a hopeful candidate whose votes exceed it is elected (with exact
  arithmetic, "exceeds" replaces the 1987 rounding-up of the quota by 10⁻⁹).
- Iteration: the papers are distributed again and each elected candidate's keep factor becomes
  ``kf × quota ÷ votes``, until a hopeful candidate is elected, or the total surplus is at
  most ω = 10⁻¹⁰, or it stops falling, or a batch of sure losers can be defeated.
- Defeat: the sure losers (the lowest candidates whose votes, with the surplus, are less than
  the next candidate's, leaving enough to fill the seats) are defeated together; otherwise the
  lowest candidate. Candidates within the surplus of the lowest count as equal: the tie goes to
  the most recent preceding stage at which they differed, then to a lot.
- End: when the hopeful candidates are no more than the seats left, they are elected.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from assembly.counting.ballots import Profile
from assembly.counting.lots import Lots
from assembly.counting.results import CountResult, Number, Stage, TieBreak
from assembly.counting.stvcount import check_countable, stv_result
from assembly.counting.ties import break_tie

__all__ = ["KEEP_PLACES", "OMEGA", "RULES", "RULES_VERSION", "count_stv"]

RULES = "meek"
RULES_VERSION = "1"
#: The iteration ends when the total surplus is at most this (droop's rational default).
OMEGA = Fraction(1, 10**10)

#: Keep factors are rounded up to this many decimal places after each update.
KEEP_PLACES = 18
_KEEP_UNIT = 10**KEEP_PLACES
_ZERO = Fraction(0)
_ONE = Fraction(1)


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


class _MeekCount:
    def __init__(self, profile: Profile, seats: int, lots: Lots) -> None:
        check_countable(profile, seats, whole_papers=False)
        self.profile = profile
        self.seats = seats
        self.lots = lots
        self.ids = [c.id for c in profile.candidates]
        self.n = len(self.ids)
        self.rankings = [(ranking, Fraction(weight)) for ranking, weight in profile.rankings]
        self.valid = Fraction(profile.valid)
        self.hopeful = [i not in profile.withdrawn for i in range(self.n)]
        self.keep = [_ONE if self.hopeful[i] else _ZERO for i in range(self.n)]
        self.elected: list[int] = []
        self.excluded: list[int] = []
        self.votes = [_ZERO] * self.n
        self.excess = _ZERO
        self.quota = self.valid / (seats + 1)
        self.surplus = _ZERO
        self.history: list[list[Number]] = []
        self.stages: list[Stage] = []
        self._path_kinds: tuple[int, ...] = ()
        self._path_groups: list[tuple[tuple[int, ...], Fraction]] = []

    # -- helpers ------------------------------------------------------------------------------

    @property
    def seats_left(self) -> int:
        return self.seats - len(self.elected)

    def _hopeful(self) -> list[int]:
        return [c for c in range(self.n) if self.hopeful[c]]

    def _paths(self) -> list[tuple[tuple[int, ...], Fraction]]:
        """The papers grouped by the part of their ranking that a distribution reads.

        A paper's value passes by candidates keeping nothing, is shared at those keeping part,
        and stops at the first keeping all of it, so two papers alike up to that point are
        distributed alike: their weights are added and they go down the path once. The groups
        depend only on which keep factors are 0, 1 or between, so they are made again only
        when that changes (an election or a defeat), not at every iteration; exact arithmetic
        makes the sums the same as paper by paper."""
        kinds = tuple(0 if kf == 0 else 2 if kf == 1 else 1 for kf in self.keep)
        if kinds != self._path_kinds:
            paths: dict[tuple[int, ...], Fraction] = {}
            for ranking, weight in self.rankings:
                path: list[int] = []
                for c in ranking:
                    kind = kinds[c]
                    if kind:
                        path.append(c)
                        if kind == 2:
                            break
                key = tuple(path)
                paths[key] = paths.get(key, _ZERO) + weight
            self._path_groups = list(paths.items())
            self._path_kinds = kinds
        return self._path_groups

    def _distribute(self) -> None:
        """Pass every paper down its ranking: each candidate keeps ``kf`` of what reaches them."""
        votes = [_ZERO] * self.n
        keep = self.keep
        excess = _ZERO
        for path, weight in self._paths():
            remaining = weight
            for c in path:
                kf = keep[c]
                votes[c] += remaining * kf
                remaining = remaining * (1 - kf)
            excess += remaining
        self.votes = votes
        self.excess = excess

    def _total_surplus(self) -> Fraction:
        return sum((self.votes[c] - self.quota for c in self.elected), _ZERO)

    def _sure_losers(self) -> list[int]:
        """The largest set of lowest candidates, not splitting candidates within the surplus of
        each other, whose votes with the surplus are less than the next candidate's, leaving
        enough hopeful candidates to fill the seats left."""
        ordered = sorted(self._hopeful(), key=lambda c: (self.votes[c], c))
        groups: list[list[int]] = []
        for c in ordered:
            if groups and self.votes[groups[-1][0]] + self.surplus >= self.votes[c]:
                groups[-1].append(c)
            else:
                groups.append([c])
        most = len(ordered) - self.seats_left
        batch: list[int] = []
        chosen: list[int] = []
        total = _ZERO
        for index in range(len(groups) - 1):
            batch = batch + groups[index]
            if len(batch) > most:
                break
            total += sum((self.votes[c] for c in groups[index]), _ZERO)
            if total + self.surplus < self.votes[groups[index + 1][0]]:
                chosen = list(batch)
        return chosen

    def _iterate(self) -> tuple[str, list[int]]:
        """Iterate the keep factors; return why the iteration ended, and whom it elected or
        which sure losers can be defeated."""
        last_surplus: Fraction | None = None
        while True:
            self._distribute()
            self.quota = (self.valid - self.excess) / (self.seats + 1)
            reached = sorted(
                (c for c in self._hopeful() if self.votes[c] > self.quota),
                key=lambda c: (-self.votes[c], c),
            )[: self.seats_left]
            for c in reached:
                self.hopeful[c] = False
                self.elected.append(c)
            self.surplus = self._total_surplus()
            if reached:
                return "elected", reached
            if self.surplus <= OMEGA:
                return "omega", []
            if last_surplus is not None and self.surplus >= last_surplus:
                return "stable", []
            losers = self._sure_losers()
            if losers:
                return "batch", losers
            last_surplus = self.surplus
            for c in self.elected:
                # Algorithm 123: kf × quota ÷ votes, rounded up (here to KEEP_PLACES places),
                # so an elected candidate keeps at least the quota and the numbers stay small.
                exact = self.keep[c] * self.quota / self.votes[c]
                units = -(-exact.numerator * _KEEP_UNIT // exact.denominator)
                self.keep[c] = Fraction(units, _KEEP_UNIT)

    def _record(
        self,
        action: str,
        candidate: int | None,
        elected: list[int],
        excluded: list[int],
        ties: list[TieBreak],
        notes: list[str],
    ) -> None:
        before = self.history[-1] if self.history else [_ZERO] * self.n
        totals: list[Number] = list(self.votes)
        self.history.append(totals)
        notes.append(f"quota {_fraction_text(self.quota)}")
        self.stages.append(
            Stage(
                number=len(self.stages) + 1,
                action=action,
                candidate=self.ids[candidate] if candidate is not None else None,
                totals=tuple(totals),
                changes=tuple(a - b for a, b in zip(totals, before, strict=True)),
                non_transferable=self.excess,
                elected=tuple(self.ids[c] for c in elected),
                excluded=tuple(self.ids[c] for c in excluded),
                tie_breaks=tuple(ties),
                notes=tuple(notes),
            )
        )

    def _finish(self, elected: list[int], notes: list[str]) -> None:
        """When the hopeful candidates are no more than the seats left, elect them."""
        hopeful = self._hopeful()
        if self.seats_left and len(hopeful) <= self.seats_left:
            for c in sorted(hopeful, key=lambda c: (-self.votes[c], c)):
                self.hopeful[c] = False
                self.elected.append(c)
                elected.append(c)
                notes.append(f"{self.ids[c]} elected: hopeful candidates equal the seats left")

    def _defeat(self, losers: list[int]) -> None:
        for c in losers:
            self.hopeful[c] = False
            self.keep[c] = _ZERO
            self.excluded.append(c)
        self._distribute()

    # -- the count ----------------------------------------------------------------------------

    def run(self) -> CountResult:
        # The first distribution, with every keep factor 1, is the count of first preferences.
        status, elected = self._iterate()
        notes = [f"{self.ids[c]} elected: votes exceed the quota" for c in elected]
        self._finish(elected, notes)
        self._record("first-preferences", None, elected, [], [], notes)
        while self.seats_left and self._hopeful():
            ties: list[TieBreak] = []
            notes = []
            status, chosen = self._iterate()
            if status == "elected":
                notes = [f"{self.ids[c]} elected: votes exceed the quota" for c in chosen]
                self._finish(chosen, notes)
                self._record("surplus", None, chosen, [], ties, notes)
                continue
            if status == "batch":
                notes.append("sure losers: their votes and the surplus are below the next")
                losers = sorted(chosen)
            else:
                hopeful = self._hopeful()
                lowest = min(self.votes[c] for c in hopeful)
                # Candidates within the surplus of the lowest could change places with it.
                tied = [c for c in hopeful if lowest + self.surplus >= self.votes[c]]
                loser = tied[0]
                if len(tied) > 1:
                    loser, record = break_tie(
                        tied,
                        [*self.history, list(self.votes)],
                        highest=False,
                        purpose="exclusion",
                        lots=self.lots,
                        ids=self.ids,
                    )
                    ties.append(record)
                notes.append(
                    "surplus at most omega" if status == "omega" else "surplus no longer falling"
                )
                losers = [loser]
            for c in losers:
                notes.append(f"{self.ids[c]} defeated with {_fraction_text(self.votes[c])}")
            self._defeat(losers)
            elected_now: list[int] = []
            self._finish(elected_now, notes)
            self._record(
                "exclusion",
                losers[0] if len(losers) == 1 else None,
                elected_now,
                losers,
                ties,
                notes,
            )
        remaining = self._hopeful()
        if remaining and self.stages:
            # Every seat is filled: the rest are defeated, and nothing more is distributed.
            for c in remaining:
                self.hopeful[c] = False
                self.excluded.append(c)
            last = self.stages[-1]
            note = f"{', '.join(self.ids[c] for c in remaining)} defeated: every seat is filled"
            self.stages[-1] = replace(last, notes=(*last.notes, note))
        return stv_result(self, rules=RULES, version=RULES_VERSION, quota=self.quota, scale=1)


def count_stv(profile: Profile, seats: int, *, seed: str | None = None) -> CountResult:
    """Count ``profile`` for ``seats`` seats by Meek's method.

    :param seed: hex seed fixed before the count, used only if a tie must be decided by lot.
    :raises BallotError: the profile cannot be counted (no seats).
    :raises LotNeeded: a tie needs a lot and no seed was given.
    """
    return _MeekCount(profile, seats, Lots.from_hex(seed)).run()
