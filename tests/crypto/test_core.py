"""The end-to-end core: group encodings, ElGamal, proofs (each refused when tampered with),
the trustees' key and threshold decryption, the shuffle, and encrypted rankings."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.crypto import ballot as ballots
from assembly.crypto.elgamal import Ciphertext, SmallLog, decrypt_point, encrypt, reencrypt
from assembly.crypto.group import (
    IDENTITY,
    G,
    GroupError,
    L,
    Point,
    challenge,
    generator,
    random_scalar,
    scalar_from_bytes,
)
from assembly.crypto.proofs import Dleq, Schnorr
from assembly.crypto.shuffle import ShuffleProof, shuffle, verify_shuffle
from assembly.crypto.trustees import (
    combine,
    deal,
    decryption_share,
    election_key,
    share_is_valid,
    trustee_public,
    trustee_secret,
)

scalars = st.integers(min_value=0, max_value=L - 1)


# -- the group ---------------------------------------------------------------------------------


def test_ristretto255_test_vectors() -> None:
    """RFC 9496 Appendix A.1: the encodings of B, 2B and 3B."""
    assert G.hex() == "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"
    assert (G * 2).hex() == "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919"
    assert (G + G + G).hex() == "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259"
    assert IDENTITY.hex() == "00" * 32


def test_non_canonical_points_and_scalars_are_refused() -> None:
    """RFC 9496 A.2's first bad encoding (non-canonical field element) and a scalar ≥ L."""
    with pytest.raises(GroupError):
        Point.from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
    with pytest.raises(GroupError):
        Point.from_hex("zz")
    with pytest.raises(GroupError):
        scalar_from_bytes(L.to_bytes(32, "little"))
    assert scalar_from_bytes((L - 1).to_bytes(32, "little")) == L - 1


@settings(max_examples=40, deadline=None)
@given(scalars, scalars)
def test_scalar_multiplication_is_a_homomorphism(x: int, y: int) -> None:
    assert G * x + G * y == G * ((x + y) % L)
    assert (G * x) * y == G * (x * y % L)
    assert G * x - G * x == IDENTITY
    assert Point.from_bytes((G * x).data) == G * x


def test_generators_are_fixed_and_distinct() -> None:
    """A generator is the hash of its label: the same label the same point, others differ."""
    assert generator("h") == generator("h")
    points = {generator(f"h/{i}").data for i in range(50)}
    assert len(points) == 50 and IDENTITY.data not in points


def test_challenges_separate_their_parts() -> None:
    """Length prefixes: moving a byte between parts changes the challenge; so does the label."""
    assert challenge("x", b"ab", b"c") != challenge("x", b"a", b"bc")
    assert challenge("x", b"ab") != challenge("y", b"ab")
    assert challenge("x", [b"a", b"b"]) == challenge("x", b"a", b"b")
    with pytest.raises(TypeError):
        challenge("x", True)


# -- ElGamal -------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=300))
def test_ciphertexts_add_and_reencrypt(m1: int, m2: int) -> None:
    x = random_scalar()
    key = G * x
    c1, _ = encrypt(key, m1)
    c2, _ = encrypt(key, m2)
    log = SmallLog(600)
    assert log(decrypt_point(x, c1 + c2)) == m1 + m2
    again, _ = reencrypt(key, c1)
    assert again != c1 and log(decrypt_point(x, again)) == m1
    assert log(decrypt_point(x, c1.times(2))) == 2 * m1
    assert SmallLog(10)(G * 11) is None
    assert Ciphertext.from_json(c1.to_json()) == c1


# -- proofs --------------------------------------------------------------------------------------


def test_schnorr_proves_knowledge_and_binds_its_context() -> None:
    x = random_scalar()
    proof = Schnorr.prove(x, "election/1")
    assert proof.verify(G * x, "election/1")
    assert not proof.verify(G * x, "election/2")
    assert not proof.verify(G * (x + 1), "election/1")
    assert not Schnorr(proof.c, (proof.s + 1) % L).verify(G * x, "election/1")
    assert Schnorr.from_json(proof.to_json()) == proof


def test_dleq_proves_the_same_secret() -> None:
    x, base = random_scalar(), G * random_scalar()
    proof = Dleq.prove(x, base, "share")
    assert proof.verify(G * x, base, base * x, "share")
    assert not proof.verify(G * x, base, base * (x + 1), "share")
    assert not proof.verify(G * x, base, base * x, "other")
    assert Dleq.from_json(proof.to_json()) == proof


# -- trustees ------------------------------------------------------------------------------------


def _ceremony(threshold: int, trustees: int) -> tuple[Point, list[int], list[Point]]:
    dealings = [deal("poll-1", i, threshold, trustees) for i in range(1, trustees + 1)]
    assert all(d.proof_is_valid("poll-1") for d in dealings)
    commitments = [d.commitments for d in dealings]
    for d in dealings:
        for j in range(1, trustees + 1):
            assert share_is_valid(d.commitments, j, d.shares[j - 1])
    secrets_ = [trustee_secret([d.shares[j - 1] for d in dealings]) for j in range(1, trustees + 1)]
    publics = [trustee_public(commitments, j) for j in range(1, trustees + 1)]
    assert all(G * s == p for s, p in zip(secrets_, publics, strict=True))
    return election_key(commitments), secrets_, publics


def test_any_threshold_of_trustees_decrypts_and_fewer_cannot() -> None:
    """3 of 5: every set of three opens the ciphertext to the same point; two do not."""
    key, secrets_, publics = _ceremony(3, 5)
    c, _ = encrypt(key, 42)
    shares = {}
    for j in range(1, 6):
        share, proof = decryption_share(secrets_[j - 1], c, f"d/{j}")
        assert proof.verify(publics[j - 1], c.a, share, f"d/{j}")
        shares[j] = share
    for chosen in itertools.combinations(range(1, 6), 3):
        assert combine(c, {j: shares[j] for j in chosen}) == G * 42
    assert combine(c, shares) == G * 42
    assert combine(c, {1: shares[1], 2: shares[2]}) != G * 42


def test_a_bad_share_or_a_bad_dealing_is_caught() -> None:
    dealing = deal("poll-1", 1, 2, 3)
    assert not share_is_valid(dealing.commitments, 2, (dealing.shares[1] + 1) % L)
    assert not dealing.proof_is_valid("poll-2")
    key, secrets_, publics = _ceremony(2, 3)
    c, _ = encrypt(key, 7)
    share, proof = decryption_share(secrets_[0], c, "d/1")
    assert not proof.verify(publics[0], c.a, share + G, "d/1")  # a share shifted is refused
    assert not proof.verify(publics[1], c.a, share, "d/1")  # by the wrong trustee


def test_threshold_is_checked() -> None:
    with pytest.raises(ValueError):
        deal("poll-1", 1, 4, 3)


# -- the shuffle ---------------------------------------------------------------------------------


def _rows(key: Point, values: list[list[int]]) -> list[list[Ciphertext]]:
    return [[encrypt(key, v)[0] for v in row] for row in values]


@pytest.mark.parametrize(("n", "w"), [(1, 1), (2, 1), (5, 3), (12, 2)])
def test_a_shuffle_proves_and_keeps_the_plaintexts(n: int, w: int) -> None:
    x = random_scalar()
    key = G * x
    rng = random.Random(n * 10 + w)
    values = [[rng.randrange(100) for _ in range(w)] for _ in range(n)]
    rows = _rows(key, values)
    out, proof = shuffle(key, rows, "poll-1/shuffle/1")
    assert verify_shuffle(key, rows, out, proof, "poll-1/shuffle/1")
    log = SmallLog(100)
    opened = sorted([log(decrypt_point(x, c)) for c in row] for row in out)
    assert opened == sorted(values)
    assert not {c for row in out for c in row} & {c for row in rows for c in row}
    assert not verify_shuffle(key, rows, out, proof, "poll-2/shuffle/1")


def test_a_tampered_shuffle_is_caught() -> None:
    """Replacing an output ciphertext (a changed vote), dropping or duplicating a row, or
    altering any response makes the proof fail."""
    x = random_scalar()
    key = G * x
    rows = _rows(key, [[1, 2], [3, 4], [5, 6], [7, 8]])
    out, proof = shuffle(key, rows, "s")
    assert verify_shuffle(key, rows, out, proof, "s")
    changed = [list(row) for row in out]
    changed[0][1] = encrypt(key, 9)[0]
    assert not verify_shuffle(key, rows, changed, proof, "s")
    shifted = [list(row) for row in out]
    shifted[2][0] = Ciphertext(shifted[2][0].a, shifted[2][0].b + G)  # plaintext + 1
    assert not verify_shuffle(key, rows, shifted, proof, "s")
    duplicated = [out[0], out[0], out[2], out[3]]
    assert not verify_shuffle(key, rows, duplicated, proof, "s")
    assert not verify_shuffle(key, rows, out[:3], proof, "s")
    for field in ("s1", "s2", "s3"):
        bad = ShuffleProof(**{**proof.__dict__, field: (getattr(proof, field) + 1) % L})
        assert not verify_shuffle(key, rows, out, bad, "s")
    bad = ShuffleProof(**{**proof.__dict__, "s_prime": (proof.s_prime[0] + 1, *proof.s_prime[1:])})
    assert not verify_shuffle(key, rows, out, bad, "s")
    swapped = ShuffleProof(**{**proof.__dict__, "commitments": proof.commitments[::-1]})
    assert not verify_shuffle(key, rows, out, swapped, "s")


# -- encrypted rankings ----------------------------------------------------------------------------


@pytest.mark.parametrize("candidates", [1, 3, 15, 16, 40])
def test_layouts_hold_every_ranking(candidates: int) -> None:
    layout = ballots.Layout(candidates)
    assert layout.per * layout.bits <= 16 and layout.width * layout.per >= candidates
    assert layout.largest < 2**16


@settings(max_examples=10, deadline=None)
@given(
    st.integers(min_value=1, max_value=7).flatmap(
        lambda n: st.tuples(
            st.just(n), st.permutations(range(n)), st.integers(min_value=0, max_value=n)
        )
    )
)
def test_an_encrypted_ranking_proves_and_opens_to_itself(case) -> None:
    n, order, length = case
    ranking = tuple(order[:length])
    x = random_scalar()
    key = G * x
    layout = ballots.Layout(n)
    credential = random_scalar()
    public = (G * credential).hex()
    ballot = ballots.encrypt_ranking(key, layout, ranking, "poll-1", public)
    assert ballots.ballot_is_valid(key, layout, ballot, "poll-1", public)
    assert not ballots.ballot_is_valid(key, layout, ballot, "poll-1", (G * 5).hex())
    signature = ballots.sign(credential, "poll-1", ballot)
    assert ballots.signature_is_valid(G * credential, "poll-1", ballot, signature)
    row = ballots.row_of(layout, ballot)
    assert len(row) == layout.width
    log = SmallLog(layout.largest)
    numbers = [log(decrypt_point(x, c)) for c in row]
    assert None not in numbers
    assert ballots.read_row(layout, numbers) == ranking


def test_a_tampered_ballot_or_signature_is_caught() -> None:
    x = random_scalar()
    key = G * x
    layout = ballots.Layout(4)
    credential = random_scalar()
    public = (G * credential).hex()
    ballot = ballots.encrypt_ranking(key, layout, (2, 0), "poll-1", public)
    row = list(ballot.row)
    row[0] = Ciphertext(row[0].a, row[0].b + G)  # the packed number made one more
    tampered = ballots.EncryptedBallot(tuple(row), ballot.proofs)
    assert not ballots.ballot_is_valid(key, layout, tampered, "poll-1", public)
    assert ballots.tracker(tampered) != ballots.tracker(ballot)
    signature = ballots.sign(credential, "poll-1", ballot)
    assert not ballots.signature_is_valid(G * credential, "poll-1", tampered, signature)
    assert not ballots.signature_is_valid(G * credential, "poll-2", ballot, signature)
    short = ballots.EncryptedBallot(ballot.row[:-1], ballot.proofs[:-1])
    assert ballots.ballot_is_valid(key, ballots.Layout(3), short, "poll-1", public) is False
    longer = ballots.EncryptedBallot(ballot.row * 2, ballot.proofs * 2)
    assert not ballots.ballot_is_valid(key, layout, longer, "poll-1", public)


def test_nobody_can_cast_a_copy_of_another_voters_ciphertexts() -> None:
    """The proofs name the credential and each ciphertext's position and second point, and
    prove knowledge of its randomness: a copy under another credential, a ciphertext moved
    to another position, or one re-randomised by someone who does not know its randomness
    fails (the attack on Helios ballots that Belenios's proofs close)."""
    key = G * random_scalar()
    layout = ballots.Layout(15)  # 4 bits, 4 per ciphertext: 4 ciphertexts
    voter, copier = (G * random_scalar()).hex(), (G * random_scalar()).hex()
    ballot = ballots.encrypt_ranking(key, layout, (3, 1, 4), "poll-1", voter)
    assert ballots.ballot_is_valid(key, layout, ballot, "poll-1", voter)
    assert not ballots.ballot_is_valid(key, layout, ballot, "poll-1", copier)
    assert not ballots.ballot_is_valid(key, layout, ballot, "poll-2", voter)
    swapped = ballots.EncryptedBallot(
        (ballot.row[1], ballot.row[0], *ballot.row[2:]),
        (ballot.proofs[1], ballot.proofs[0], *ballot.proofs[2:]),
    )
    assert not ballots.ballot_is_valid(key, layout, swapped, "poll-1", voter)
    fresh, _ = encrypt(key, 0)
    rerandomised = ballots.EncryptedBallot(
        (Ciphertext(ballot.row[0].a + fresh.a, ballot.row[0].b + fresh.b), *ballot.row[1:]),
        ballot.proofs,
    )
    assert not ballots.ballot_is_valid(key, layout, rerandomised, "poll-1", voter)


def test_an_audit_opens_only_to_the_ranking_encrypted() -> None:
    key = G * random_scalar()
    layout = ballots.Layout(6)
    ballot, randomness = ballots.encrypt_ranking_opened(key, layout, (5, 0), "p", "c")
    assert len(randomness) == layout.width == len(ballot.row)
    assert ballots.opens_to(key, layout, ballot, randomness, (5, 0))
    assert not ballots.opens_to(key, layout, ballot, randomness, (0, 5))
    assert not ballots.opens_to(key, layout, ballot, randomness, (5,))
    assert not ballots.opens_to(key, layout, ballot, randomness[:-1], (5, 0))
    assert not ballots.opens_to(key, layout, ballot, [r + 1 for r in randomness], (5, 0))
    assert not ballots.opens_to(key, layout, ballot, randomness, (5, 5))  # not a ranking


def test_a_hand_made_row_reads_up_to_its_first_fault() -> None:
    """A repeated candidate, a number above n or a 0 ends the ranking (docs/e2e.md)."""
    layout = ballots.Layout(5)  # 3 bits, 5 per ciphertext

    def row(*values: int) -> list[int]:
        return [sum(v << (3 * q) for q, v in enumerate(values))]

    assert ballots.read_row(layout, row(2, 1, 5)) == (1, 0, 4)
    assert ballots.read_row(layout, row(2, 2, 5)) == (1,)
    assert ballots.read_row(layout, row(3, 7, 1)) == (2,)
    assert ballots.read_row(layout, row(0, 1)) == ()


def test_a_row_that_opens_to_no_small_number_is_a_spoilt_paper() -> None:
    """A hand-made ciphertext of a number a row cannot hold opens to no small number (-1 in
    the record) or to one above the largest: the row reads as no ranking, never as a
    candidate (docs/e2e.md)."""
    layout = ballots.Layout(15)  # 4 bits, 4 per ciphertext, so -1's low bits would read 15
    good = [1 | 2 << 4, 0, 0, 0]
    assert ballots.read_row(layout, good) == (0, 1)
    assert ballots.read_row(layout, [*good[:3], -1]) == ()
    assert ballots.read_row(layout, [-1, *good[1:]]) == ()
    assert ballots.read_row(layout, [layout.largest + 1, *good[1:]]) == ()


def test_rankings_are_refused_before_encryption_when_malformed() -> None:
    layout = ballots.Layout(3)
    with pytest.raises(ValueError):
        layout.preferences((0, 0))
    with pytest.raises(ValueError):
        layout.preferences((3,))
