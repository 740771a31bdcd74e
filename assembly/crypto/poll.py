"""An end-to-end verifiable poll from key to opened rows, and its section of the record.

The steps, each a function here and each checked by the verifier (``check_section``):

1. **Key ceremony**: the trustees' dealings (``trustees.deal``); the election key is the sum
   of their first commitments.
2. **Credentials**: the public credentials, one per roll entry, published before the poll;
   their secrets are the voters' and never the server's.
3. **Casting**: an encrypted ranking (its row of packed preferences, ``ballot.row_of``)
   with a proof of knowledge of each ciphertext's randomness, signed with a credential; one
   ballot per credential. A ballot the voter chose to audit instead (Benaloh) is published
   with its randomness and the ranking it opens to, and is not counted.
4. **Shuffles**: the cast ballots' rows, in tracker order, re-encrypted
   and permuted by each trustee in turn, with a proof each.
5. **Decryption**: at least ``threshold`` trustees' shares of every ciphertext of the last
   shuffle's rows, with a Chaum–Pedersen proof each; the numbers they open to, and from them
   the rankings that are counted.

Pure: the standard library and ``assembly.crypto``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from assembly.crypto import ballot as ballots
from assembly.crypto.elgamal import Ciphertext, SmallLog
from assembly.crypto.group import (
    IDENTITY,
    G,
    GroupError,
    Point,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
)
from assembly.crypto.proofs import Dleq, Schnorr
from assembly.crypto.shuffle import ShuffleProof, shuffle, verify_shuffle
from assembly.crypto.trustees import (
    Dealing,
    combine,
    deal,
    decryption_share,
    election_key,
    trustee_public,
    trustee_secret,
)

__all__ = [
    "PARTS",
    "Audited",
    "Cast",
    "Opening",
    "Reader",
    "Section",
    "Shuffled",
    "Trustee",
    "as_ranked",
    "audit",
    "ballot_holds",
    "cast",
    "check_section",
    "choice_reader",
    "counted",
    "counted_by_group",
    "first_rows",
    "group_tag",
    "mix",
    "open_rows",
    "opened_numbers",
    "opening_problem",
    "simulate",
]

GROUP = "ristretto255"
#: Version 2: a ballot is its row, each ciphertext with a proof of knowledge of its randomness
#: (version 1, never issued outside this repository's tests, proved every bit 0 or 1).
VERSION = 2


# -- the parts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trustee:
    """A trustee's published dealing: its number, its commitments and the proof of its
    constant term."""

    number: int
    commitments: tuple[Point, ...]
    proof: Schnorr

    @classmethod
    def of(cls, dealing: Dealing) -> Trustee:
        return cls(dealing.dealer, dealing.commitments, dealing.proof)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "commitments": [c.hex() for c in self.commitments],
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> Trustee:
        return cls(
            _integer(value["number"]),
            tuple(Point.from_hex(c) for c in _list(value["commitments"])),
            Schnorr.from_json(value["proof"]),
        )


@dataclass(frozen=True)
class Cast:
    credential: Point
    ballot: ballots.EncryptedBallot
    signature: Schnorr

    @property
    def tracker(self) -> str:
        return ballots.tracker(self.ballot)

    def to_json(self) -> dict[str, Any]:
        return {
            "tracker": self.tracker,
            "credential": self.credential.hex(),
            "ballot": self.ballot.to_json(),
            "signature": self.signature.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> Cast:
        return cls(
            Point.from_hex(value["credential"]),
            ballots.EncryptedBallot.from_json(value["ballot"]),
            Schnorr.from_json(value["signature"]),
        )


@dataclass(frozen=True)
class Audited:
    """A ballot the voter challenged: revealed, so it is never counted."""

    credential: Point
    ballot: ballots.EncryptedBallot
    ranking: tuple[int, ...]
    randomness: tuple[int, ...]

    def to_json(self, ids: Sequence[int | str]) -> dict[str, Any]:
        return {
            "tracker": ballots.tracker(self.ballot),
            "credential": self.credential.hex(),
            "ballot": self.ballot.to_json(),
            "ranking": [ids[c] for c in self.ranking],
            "randomness": [scalar_hex(r) for r in self.randomness],
        }

    @classmethod
    def from_json(cls, value: Any, ids: Sequence[int | str]) -> Audited:
        index = {candidate: i for i, candidate in enumerate(ids)}
        try:
            ranking = tuple(index[c] for c in _list(value["ranking"]))
        except (KeyError, TypeError) as error:
            raise GroupError(
                "an audited ballot's ranking names the contest's candidates"
            ) from error
        return cls(
            Point.from_hex(value["credential"]),
            ballots.EncryptedBallot.from_json(value["ballot"]),
            ranking,
            tuple(scalar_from_hex(r) for r in _list(value["randomness"])),
        )


@dataclass(frozen=True)
class Shuffled:
    trustee: int
    rows: tuple[tuple[Ciphertext, ...], ...]
    proof: ShuffleProof

    def to_json(self) -> dict[str, Any]:
        p = self.proof
        return {
            "trustee": self.trustee,
            "rows": [[c.to_json() for c in row] for row in self.rows],
            "proof": {
                "c": scalar_hex(p.c),
                "s1": scalar_hex(p.s1),
                "s2": scalar_hex(p.s2),
                "s3": scalar_hex(p.s3),
                "s4": [scalar_hex(s) for s in p.s4],
                "s_hat": [scalar_hex(s) for s in p.s_hat],
                "s_prime": [scalar_hex(s) for s in p.s_prime],
                "commitments": [c.hex() for c in p.commitments],
                "chain": [c.hex() for c in p.chain],
            },
        }

    @classmethod
    def from_json(cls, value: Any) -> Shuffled:
        p = value["proof"]
        proof = ShuffleProof(
            c=scalar_from_hex(p["c"]),
            s1=scalar_from_hex(p["s1"]),
            s2=scalar_from_hex(p["s2"]),
            s3=scalar_from_hex(p["s3"]),
            s4=tuple(scalar_from_hex(s) for s in _list(p["s4"])),
            s_hat=tuple(scalar_from_hex(s) for s in _list(p["s_hat"])),
            s_prime=tuple(scalar_from_hex(s) for s in _list(p["s_prime"])),
            commitments=tuple(Point.from_hex(c) for c in _list(p["commitments"])),
            chain=tuple(Point.from_hex(c) for c in _list(p["chain"])),
        )
        rows = tuple(
            tuple(Ciphertext.from_json(c) for c in _list(row)) for row in _list(value["rows"])
        )
        return cls(_integer(value["trustee"]), rows, proof)


@dataclass(frozen=True)
class Opening:
    """One trustee's decryption shares of every ciphertext of the last shuffle's rows."""

    trustee: int
    shares: tuple[tuple[Point, ...], ...]
    proofs: tuple[tuple[Dleq, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "trustee": self.trustee,
            "shares": [[s.hex() for s in row] for row in self.shares],
            "proofs": [[p.to_json() for p in row] for row in self.proofs],
        }

    @classmethod
    def from_json(cls, value: Any) -> Opening:
        return cls(
            _integer(value["trustee"]),
            tuple(tuple(Point.from_hex(s) for s in _list(row)) for row in _list(value["shares"])),
            tuple(tuple(Dleq.from_json(p) for p in _list(row)) for row in _list(value["proofs"])),
        )


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise GroupError("expected a list")
    return value


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GroupError("expected a positive whole number")
    return value


# -- the section -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A contest's ``e2e`` object in the record."""

    #: What every context of this poll starts with.
    label: str
    #: The key ceremony's label (its trustees' proofs and sealed shares): the poll's own,
    #: or one ceremony's for every poll of an election, which then share its key.
    ceremony: str
    candidates: int
    threshold: int
    trustees: tuple[Trustee, ...]
    key: Point
    credentials: tuple[Point, ...]
    cast: tuple[Cast, ...]
    audited: tuple[Audited, ...]
    shuffles: tuple[Shuffled, ...]
    openings: tuple[Opening, ...]
    opened: tuple[tuple[int, ...], ...]
    #: Where the poll counts its ballots by constituency (a weighted assembly vote): each
    #: constituency's key and its credentials, in order of the keys. Every row then ends
    #: with its ballot's constituency, the group's number (1, 2, …) encrypted with no
    #: randomness (``group_tag``), which the shuffles re-encrypt with the rest.
    groups: tuple[tuple[str, tuple[Point, ...]], ...] = ()
    #: The credentials are cards handed out at the door (an assembly's), not one per roll
    #: entry: there may be more of them than the roll, and the roll bounds the ballots.
    cards: bool = False

    @property
    def layout(self) -> ballots.Layout:
        return ballots.Layout(self.candidates)

    def group_of(self) -> dict[Point, int]:
        """Each credential's group number (1, 2, …); empty when the poll has no groups."""
        return {c: n for n, (_, listed) in enumerate(self.groups, start=1) for c in listed}

    def to_json(self, ids: Sequence[int | str]) -> dict[str, Any]:
        return {
            "group": GROUP,
            "version": VERSION,
            "label": self.label,
            "ceremony": self.ceremony,
            "threshold": self.threshold,
            "trustees": [t.to_json() for t in self.trustees],
            "election_key": self.key.hex(),
            **(
                {
                    "groups": [
                        {"key": k, "credentials": [c.hex() for c in cs]} for k, cs in self.groups
                    ]
                }
                if self.groups
                else {"credentials": [c.hex() for c in self.credentials]}
            ),
            **({"cards": True} if self.cards else {}),
            "cast": [c.to_json() for c in self.cast],
            "audited": [a.to_json(ids) for a in self.audited],
            "shuffles": [s.to_json() for s in self.shuffles],
            "decryption": [o.to_json() for o in self.openings],
            "opened": [list(row) for row in self.opened],
        }

    @classmethod
    def from_json(cls, value: Any, ids: Sequence[int | str]) -> Section:
        """Read a contest's ``e2e`` object.

        :raises GroupError: a part that is missing, of the wrong shape, or not canonical.
        """
        try:
            if value.get("group") != GROUP or value.get("version") != VERSION:
                raise GroupError(f"the e2e section must be group {GROUP!r}, version {VERSION}")
            opened = tuple(tuple(int(n) for n in _list(row)) for row in _list(value["opened"]))
            groups = tuple(
                (str(g["key"]), tuple(Point.from_hex(c) for c in _list(g["credentials"])))
                for g in _list(value.get("groups", []))
            )
            listed = (
                tuple(c for _, cs in groups for c in cs)
                if groups
                else tuple(Point.from_hex(c) for c in _list(value["credentials"]))
            )
            if not isinstance(value.get("cards", False), bool):
                raise GroupError("the e2e section's cards must be true or false")
            if "groups" in value and "credentials" in value:
                raise GroupError("the e2e section lists its credentials or its groups, not both")
            return cls(
                label=str(value["label"]),
                ceremony=str(value["ceremony"]),
                candidates=len(ids),
                threshold=_integer(value["threshold"]),
                trustees=tuple(Trustee.from_json(t) for t in _list(value["trustees"])),
                key=Point.from_hex(value["election_key"]),
                credentials=listed,
                cast=tuple(Cast.from_json(c) for c in _list(value["cast"])),
                audited=tuple(Audited.from_json(a, ids) for a in _list(value["audited"])),
                shuffles=tuple(Shuffled.from_json(s) for s in _list(value["shuffles"])),
                openings=tuple(Opening.from_json(o) for o in _list(value["decryption"])),
                opened=opened,
                groups=groups,
                cards=bool(value.get("cards", False)),
            )
        except GroupError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise GroupError(f"the e2e section is malformed: {error!r}") from error


# -- making one (the trustees, the voters' browsers; here for tests and simulations) ----------


def cast(
    key: Point, layout: ballots.Layout, ranking: Sequence[int], label: str, secret: int
) -> Cast:
    """A voter's ballot: ``ranking`` encrypted and signed with their credential."""
    credential = G * secret
    ballot = ballots.encrypt_ranking(key, layout, ranking, label, credential.hex())
    return Cast(credential, ballot, ballots.sign(secret, label, ballot))


def audit(
    key: Point, layout: ballots.Layout, ranking: Sequence[int], label: str, credential: Point
) -> Audited:
    ballot, randomness = ballots.encrypt_ranking_opened(
        key, layout, ranking, label, credential.hex()
    )
    return Audited(credential, ballot, tuple(ranking), randomness)


def group_tag(group: int) -> Ciphertext:
    """A row's last ciphertext where the poll has groups: the group's number encrypted with
    no randomness, ``(identity, group·G)``, which anyone computes from the ballot's
    credential; the first shuffle hides it with the rest of the row."""
    return Ciphertext(IDENTITY, G * group)


def first_rows(
    layout: ballots.Layout, casts: Sequence[Cast], groups: Mapping[Point, int] | None = None
) -> list[list[Ciphertext]]:
    """The rows the first shuffle takes: every cast ballot's, in tracker order, each ending
    with its group's tag where ``groups`` gives each credential's group."""
    ordered = sorted(casts, key=lambda c: c.tracker)
    if not groups:
        return [ballots.row_of(layout, c.ballot) for c in ordered]
    return [[*ballots.row_of(layout, c.ballot), group_tag(groups[c.credential])] for c in ordered]


def _shuffle_label(label: str, trustee: int) -> str:
    return f"{label}/shuffle/{trustee}"


def mix(key: Point, rows: Sequence[Sequence[Ciphertext]], label: str, trustee: int) -> Shuffled:
    out, proof = shuffle(key, rows, _shuffle_label(label, trustee))
    return Shuffled(trustee, tuple(tuple(row) for row in out), proof)


def _share_context(label: str, trustee: int, row: int, column: int) -> str:
    return f"{label}/decrypt/{trustee}/{row}/{column}"


def open_rows(
    secret: int, trustee: int, rows: Sequence[Sequence[Ciphertext]], label: str
) -> Opening:
    """Trustee ``trustee``'s shares of every ciphertext of ``rows``, with their proofs."""
    shares, proofs = [], []
    for i, row in enumerate(rows):
        row_shares, row_proofs = [], []
        for k, c in enumerate(row):
            share, proof = decryption_share(secret, c, _share_context(label, trustee, i, k))
            row_shares.append(share)
            row_proofs.append(proof)
        shares.append(tuple(row_shares))
        proofs.append(tuple(row_proofs))
    return Opening(trustee, tuple(shares), tuple(proofs))


def opening_problem(
    opening: Opening,
    public: Point,
    rows: Sequence[Sequence[Ciphertext]],
    label: str,
    map_: Mapper = map,
) -> str | None:
    """What is wrong with a trustee's shares of ``rows`` (checked against their public key
    ``public``), as a phrase that follows the trustee's name; None when every share is
    there and its proof holds. ``map_`` checks the proofs in chunks of rows (a process
    pool's ``map`` on a large poll)."""
    if len(opening.shares) != len(rows) or len(opening.proofs) != len(rows):
        return f" gave shares for {len(opening.shares)} rows, not {len(rows)}"
    for i, row in enumerate(rows):
        if len(opening.shares[i]) != len(row) or len(opening.proofs[i]) != len(row):
            return f", row {i + 1}: a share for every ciphertext"
    jobs = [
        (
            opening.trustee,
            public,
            start,
            rows[start : start + _CHUNK],
            opening.shares[start : start + _CHUNK],
            opening.proofs[start : start + _CHUNK],
        )
        for start in range(0, len(rows), _CHUNK)
    ]
    for bad in map_(partial(_first_bad_share, label), jobs):
        if bad is not None:
            return f", row {bad + 1}: a decryption share's proof does not hold"
    return None


#: Rows to a chunk where a process pool checks shares or opens rows.
_CHUNK = 500

#: Trustee, public key, first row's index, rows, their shares and proofs.
ShareJob = tuple[
    int,
    Point,
    int,
    Sequence[Sequence[Ciphertext]],
    Sequence[Sequence[Point]],
    Sequence[Sequence[Dleq]],
]


def _first_bad_share(label: str, job: ShareJob) -> int | None:
    """The index of the first row of ``job`` with a share whose proof fails, or None."""
    trustee, public, start, rows, shares, proofs = job
    for i, row in enumerate(rows, start=start):
        for k, c in enumerate(row):
            context = _share_context(label, trustee, i, k)
            if not proofs[i - start][k].verify(public, c.a, shares[i - start][k], context):
                return i
    return None


#: The largest number a row's ciphertexts may open to, its rows and their shares by trustee.
OpenJob = tuple[int, Sequence[Sequence[Ciphertext]], Sequence[Mapping[int, Sequence[Point]]]]


def _open_chunk(job: OpenJob) -> list[list[int]]:
    limit, rows, shares = job
    log = _log(limit)
    opened = []
    for row, by in zip(rows, shares, strict=True):
        numbers = (log(combine(c, {t: s[k] for t, s in by.items()})) for k, c in enumerate(row))
        opened.append([-1 if n is None else n for n in numbers])
    return opened


def opened_numbers(
    layout: ballots.Layout,
    rows: Sequence[Sequence[Ciphertext]],
    openings: Sequence[Opening],
    groups: int = 0,
    map_: Mapper = map,
) -> list[list[int]]:
    """What the rows open to with these trustees' shares (-1: not a small number, which
    only a hand-made ciphertext gives);
    ``groups`` is how many groups a row's last number may name; ``map_`` opens the rows in
    chunks (a process pool's ``map`` on a large poll)."""
    limit = max(layout.largest, groups)
    jobs: list[OpenJob] = [
        (
            limit,
            rows[start : start + _CHUNK],
            [
                {o.trustee: o.shares[i] for o in openings}
                for i in range(start, min(start + _CHUNK, len(rows)))
            ],
        )
        for start in range(0, len(rows), _CHUNK)
    ]
    return [numbers for chunk in map_(_open_chunk, jobs) for numbers in chunk]


def simulate(
    label: str,
    candidates: int,
    rankings: Sequence[Sequence[int]],
    *,
    trustees: int = 3,
    threshold: int = 2,
    audits: int = 1,
    roll: int | None = None,
    shufflers: Sequence[int] | None = None,
    openers: Sequence[int] | None = None,
    ceremony: str | None = None,
    groups: Sequence[str] = (),
    cards: bool = False,
    voter_groups: Sequence[int] | None = None,
) -> tuple[Section, list[int]]:
    """A whole poll played by one process, as the trustees and voters would each play their
    part: for tests, benchmarks and the demo. Returns the section and the trustees' secrets.
    The key ceremony is the poll's own unless ``ceremony`` names another. With ``groups``
    (constituency keys, in order), voter ``i`` is in group ``voter_groups[i]`` (1, 2, …), or
    by default group ``1 + i mod len(groups)``."""
    ceremony = label if ceremony is None else ceremony
    dealings = [deal(ceremony, i, threshold, trustees) for i in range(1, trustees + 1)]
    secrets_ = [trustee_secret([d.shares[j - 1] for d in dealings]) for j in range(1, trustees + 1)]
    key = election_key([d.commitments for d in dealings])
    layout = ballots.Layout(candidates)
    voter_secrets = [random_scalar() for _ in range(roll if roll is not None else len(rankings))]
    credentials = sorted((G * x for x in voter_secrets), key=lambda p: p.data)
    member = (
        {
            G * x: voter_groups[i] if voter_groups is not None else 1 + i % len(groups)
            for i, x in enumerate(voter_secrets)
        }
        if groups
        else {}
    )
    listed = tuple(
        (key_, tuple(c for c in credentials if member[c] == n))
        for n, key_ in enumerate(groups, start=1)
    )
    casts = sorted(
        (cast(key, layout, r, label, x) for r, x in zip(rankings, voter_secrets, strict=False)),
        key=lambda c: c.tracker,
    )
    audited = [
        audit(
            key,
            layout,
            rankings[i % len(rankings)] if rankings else (),
            label,
            G * voter_secrets[i],
        )
        for i in range(min(audits, len(voter_secrets)))
    ]
    rows: Sequence[Sequence[Ciphertext]] = first_rows(layout, casts, member)
    shuffles = []
    for t in shufflers if shufflers is not None else range(1, trustees + 1):
        if rows:
            shuffled = mix(key, rows, label, t)
            shuffles.append(shuffled)
            rows = shuffled.rows
    chosen = list(openers) if openers is not None else list(range(1, threshold + 1))
    openings = [open_rows(secrets_[t - 1], t, rows, label) for t in chosen] if rows else []
    numbers = opened_numbers(layout, rows, openings, len(groups))
    section = Section(
        label=label,
        ceremony=ceremony,
        candidates=candidates,
        threshold=threshold,
        trustees=tuple(Trustee.of(d) for d in dealings),
        key=key,
        credentials=tuple(c for _, cs in listed for c in cs) if groups else tuple(credentials),
        cast=tuple(casts),
        audited=tuple(audited),
        shuffles=tuple(shuffles),
        openings=tuple(openings),
        opened=tuple(tuple(row) for row in numbers),
        groups=listed,
        cards=cards,
    )
    return section, secrets_


#: How a contest reads an opened ranking (candidate indexes) as the ballot it counts.
Reader = Callable[[tuple[int, ...]], tuple[int, ...]]


def as_ranked(ranking: tuple[int, ...]) -> tuple[int, ...]:
    """A ranked contest's reading of an opened ranking: as it is."""
    return ranking


def choice_reader(seats: int, ids: Sequence[int]) -> Reader:
    """A first-past-the-post contest's reading of an opened ranking: its first ``seats``
    candidates (as the count reads a ranking), listed in increasing order of their ids (as
    the record lists a choice). A browser never encrypts more choices than seats; a
    hand-made ballot that does is read as the count would read it."""

    def read(ranking: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(ranking[:seats], key=lambda index: ids[index]))

    return read


def counted(section: Section, read: Reader = as_ranked) -> list[tuple[str, tuple[int, ...]]]:
    """The encrypted ballots a record counts: each opened row's tracker and ranking (read
    by ``read``), blank rows left out, in tracker order."""
    rows = _last_rows(section)
    found = [
        (ballots.row_tracker(row), read(ballots.read_row(section.layout, numbers)))
        for row, numbers in zip(rows, section.opened, strict=True)
    ]
    return sorted((t, r) for t, r in found if r)


def counted_by_group(
    section: Section, read: Reader = as_ranked
) -> list[tuple[str, str, tuple[int, ...]]]:
    """As ``counted``, for a poll with groups: each opened row's tracker, its group's key
    and its ranking. A row whose tag names no group is read as a blank (not counted)."""
    rows = _last_rows(section)
    keys = [k for k, _ in section.groups]
    found = []
    for row, numbers in zip(rows, section.opened, strict=True):
        tag = numbers[-1] if numbers else 0
        if not 1 <= tag <= len(keys):
            continue
        ranking = read(ballots.read_row(section.layout, numbers[:-1]))
        if ranking:
            found.append((ballots.row_tracker(row), keys[tag - 1], ranking))
    return sorted(found)


@cache
def _log(limit: int) -> SmallLog:
    """The table of small logarithms up to ``limit``, built once per process."""
    return SmallLog(limit)


# -- checking one ---------------------------------------------------------------------------------

#: The parts of a poll the verifier checks, in order (docs/e2e.md).
PARTS = (
    "key ceremony",
    "credentials",
    "ballots",
    "audited ballots",
    "shuffles",
    "decryption",
    "opened rows",
)

#: Applies a check to each item (``map``, or a process pool's ``map``): the checks it is
#: given are picklable ``partial``s of module functions.
Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]

#: A check's outcome: passed, and what it says.
Finding = tuple[bool, str]


def check_section(
    section: Section,
    *,
    roll: int,
    stated: Sequence[tuple[Any, ...]],
    map_: Mapper = map,
    read: Reader = as_ranked,
) -> list[tuple[str, Finding]]:
    """Every check of the section, in order, each named by its part: ``key ceremony``,
    ``credentials``, ``ballots``, ``audited ballots``, ``shuffles``, ``decryption``,
    ``opened rows``. ``roll`` is the contest's roll size; ``stated`` the ballots the record
    counts as encrypted ones (their trackers and rankings; with groups, their trackers,
    constituencies and rankings); ``map_`` checks the ballots and
    the shuffles (a process pool's ``map`` on a large poll); ``read`` how the contest reads
    an opened ranking (``choice_reader`` for first past the post)."""
    findings: list[tuple[str, Finding]] = []
    checks: list[Callable[[], Finding]] = [
        lambda: _ceremony(section),
        lambda: _credentials(section, roll),
        lambda: _ballots(section, map_),
        lambda: _audited(section),
        lambda: _shuffles(section, map_),
        lambda: _decryption(section, map_),
        lambda: _opened(section, stated, read),
    ]
    for name, check in zip(PARTS, checks, strict=True):
        finding = check()
        findings.append((name, finding))
        if not finding[0]:
            break
    return findings


def _ceremony(section: Section) -> Finding:
    numbers = [t.number for t in section.trustees]
    if sorted(numbers) != list(range(1, len(numbers) + 1)):
        return False, f"trustees must be numbered 1 … {len(numbers)}, not {numbers}"
    if not 1 <= section.threshold <= len(numbers):
        return False, f"threshold {section.threshold} of {len(numbers)} trustees"
    for t in section.trustees:
        if len(t.commitments) != section.threshold:
            return (
                False,
                f"trustee {t.number} committed to {len(t.commitments)} coefficients, "
                f"not {section.threshold}",
            )
        if not t.proof.verify(t.commitments[0], f"{section.ceremony}/trustee/{t.number}"):
            return False, f"trustee {t.number}'s proof of knowledge of its secret does not hold"
    key = election_key([t.commitments for t in section.trustees])
    if key != section.key:
        return False, "the election key is not the sum of the trustees' first commitments"
    return (
        True,
        f"{len(numbers)} trustees, any {section.threshold} of whom decrypt; "
        "the election key is theirs",
    )


def _credentials(section: Section, roll: int) -> Finding:
    credentials = section.credentials
    if len(set(credentials)) != len(credentials):
        return False, "a public credential is listed twice"
    if IDENTITY in credentials:
        return False, "a credential is the identity point"
    keys = [k for k, _ in section.groups]
    if keys != sorted(set(keys)):
        return False, "the credentials' groups are not in order of their keys, each once"
    if section.cards:
        # Cards are handed out at the door, one to each member present: the roll (those
        # present) bounds the ballots, not the cards printed.
        if len(section.cast) > roll:
            return False, f"{len(section.cast)} ballots cast with cards for a roll of {roll}"
        return True, (
            f"{len(credentials)} distinct public credentials on cards; "
            f"{len(section.cast)} ballots for a roll of {roll}"
        )
    if len(credentials) > roll:
        return False, f"{len(credentials)} credentials for a roll of {roll}"
    return True, f"{len(credentials)} distinct public credentials for a roll of {roll}"


def _cast_holds(key: Point, candidates: int, label: str, c: Cast) -> bool:
    layout = ballots.Layout(candidates)
    return ballots.signature_is_valid(c.credential, label, c.ballot, c.signature) and (
        ballots.ballot_is_valid(key, layout, c.ballot, label, c.credential.hex())
    )


def ballot_holds(key: Point, layout: ballots.Layout, label: str) -> Callable[[Cast], bool]:
    """The check of one cast ballot: its credential's signature and every ciphertext's proof (a
    ``partial``, so that a process pool can send it to its workers)."""
    return partial(_cast_holds, key, layout.candidates, label)


#: One shuffle to check: the rows it took, and what it gave with its proof.
ShuffleJob = tuple[Sequence[Sequence[Ciphertext]], "Shuffled"]


def _shuffle_holds(key: Point, label: str, job: ShuffleJob) -> bool:
    rows, s = job
    return verify_shuffle(key, rows, s.rows, s.proof, _shuffle_label(label, s.trustee))


def _ballots(section: Section, map_: Mapper) -> Finding:
    listed = set(section.credentials)
    used: set[Point] = set()
    trackers = [c.tracker for c in section.cast]
    if trackers != sorted(trackers) or len(set(trackers)) != len(trackers):
        return False, "the cast ballots are not in tracker order, each once"
    for c in section.cast:
        if c.credential not in listed:
            return False, f"ballot {c.tracker} is signed with a credential not on the list"
        if c.credential in used:
            return False, f"ballot {c.tracker} uses a credential another ballot used"
        used.add(c.credential)
    for c, holds in zip(
        section.cast,
        map_(ballot_holds(section.key, section.layout, section.label), section.cast),
        strict=True,
    ):
        if not holds:
            return (
                False,
                f"ballot {c.tracker}: its signature or a proof that it is well formed "
                "does not hold",
            )
    return (
        True,
        f"{len(section.cast)} ballots, each well formed and signed with its own listed credential",
    )


def _audited(section: Section) -> Finding:
    cast = {c.tracker for c in section.cast}
    for a in section.audited:
        tracker = ballots.tracker(a.ballot)
        if tracker in cast:
            return False, f"audited ballot {tracker} was also cast"
        if not ballots.opens_to(section.key, section.layout, a.ballot, a.randomness, a.ranking):
            return False, f"audited ballot {tracker} does not open to the ranking it states"
    return (
        True,
        f"{len(section.audited)} audited ballots, each the encryption of its stated ranking",
    )


def _shuffles(section: Section, map_: Mapper) -> Finding:
    if not section.cast:
        return (
            not section.shuffles
        ), "no ballots, so no shuffle" if not section.shuffles else "a shuffle of no ballots"
    if not section.shuffles:
        return False, "the ballots were not shuffled before they were opened"
    numbers = {t.number for t in section.trustees}
    for s in section.shuffles:
        if s.trustee not in numbers:
            return False, f"a shuffle by {s.trustee}, who is not a trustee"
    # Each shuffle takes the rows the one before it gave: the proofs are checked independently
    # (on every core, for a large poll).
    inputs: list[Sequence[Sequence[Ciphertext]]] = [
        first_rows(section.layout, section.cast, section.group_of())
    ]
    inputs += [s.rows for s in section.shuffles[:-1]]
    jobs: list[ShuffleJob] = list(zip(inputs, section.shuffles, strict=True))
    holds = partial(_shuffle_holds, section.key, section.label)
    for s, ok in zip(section.shuffles, map_(holds, jobs), strict=True):
        if not ok:
            return False, f"trustee {s.trustee}'s shuffle: its proof does not hold"
    by = ", ".join(str(s.trustee) for s in section.shuffles)
    return True, f"{len(section.shuffles)} shuffles (by trustees {by}), each proved"


def _last_rows(section: Section) -> Sequence[Sequence[Ciphertext]]:
    return section.shuffles[-1].rows if section.shuffles else ()


def _decryption(section: Section, map_: Mapper) -> Finding:
    rows = _last_rows(section)
    numbers = [o.trustee for o in section.openings]
    if len(set(numbers)) != len(numbers):
        return False, "a trustee's shares are given twice"
    if rows and len(numbers) < section.threshold:
        return False, f"{len(numbers)} trustees' shares; {section.threshold} are needed"
    publics: Mapping[int, Point] = {
        t.number: trustee_public([x.commitments for x in section.trustees], t.number)
        for t in section.trustees
    }
    for o in section.openings:
        if o.trustee not in publics:
            return False, f"shares from {o.trustee}, who is not a trustee"
        problem = opening_problem(o, publics[o.trustee], rows, section.label, map_)
        if problem:
            return False, f"trustee {o.trustee}{problem}"
    if not rows:
        return True, "no rows to open"
    opened = opened_numbers(section.layout, rows, section.openings, len(section.groups), map_)
    if [list(r) for r in section.opened] != opened:
        for i, (stated, found) in enumerate(zip(section.opened, opened, strict=False)):
            if list(stated) != found:
                return False, f"row {i + 1} opens to {found}, not the {list(stated)} stated"
        return False, f"{len(section.opened)} opened rows stated for {len(opened)} rows"
    return (
        True,
        f"{len(rows)} rows opened by trustees "
        f"{', '.join(map(str, sorted(numbers)))}, every share proved",
    )


def _opened(section: Section, stated: Sequence[tuple[Any, ...]], read: Reader) -> Finding:
    # A row of no preference is a blank paper: not counted.
    expected: Sequence[tuple[Any, ...]] = (
        counted_by_group(section, read) if section.groups else counted(section, read)
    )
    if sorted(stated) != expected:
        return False, "the encrypted ballots counted are not the opened rows' rankings"
    return (
        True,
        f"{len(expected)} rankings read from the opened rows are the encrypted ballots counted",
    )
