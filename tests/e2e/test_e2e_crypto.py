"""The browser's ballot encryption (assets/js/e2e.js, @noble/curves) against the Python core
(assembly/crypto, libsodium): the same challenges and generators byte for byte, and a ranking
encrypted in Chromium proves, signs and opens in Python."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assembly.crypto import ballot as ballots
from assembly.crypto.elgamal import SmallLog, decrypt_point, encrypt
from assembly.crypto.group import (
    G,
    GroupError,
    Point,
    challenge,
    generator,
    random_scalar,
    scalar_from_hex,
)
from assembly.crypto.proofs import Schnorr
from assembly.crypto.trustees import (
    combine,
    decryption_share,
    election_key,
    open_share,
    share_is_valid,
    trustee_public,
)

BUNDLE = Path(__file__).resolve().parents[2] / "assembly" / "static" / "e2e.js"


@pytest.fixture(scope="module")
def js(browser: Any) -> Iterator[Any]:
    """A blank page with the bundle loaded: ``js(expression, arg)`` evaluates in it."""
    assert BUNDLE.exists(), "make assets builds assembly/static/e2e.js"
    page = browser.new_page()
    page.goto("about:blank")
    page.add_script_tag(content=BUNDLE.read_text(encoding="utf-8"), type="module")
    page.wait_for_function("() => globalThis.assemblyE2E !== undefined")
    yield page.evaluate
    page.close()


def test_challenges_and_generators_agree(js: Any) -> None:
    """Points, scalars, text, bytes and nested lists hash alike in both implementations."""
    point = G * 12345
    expected = challenge("t", point, 7, "text", b"\x00\x01", [point, 0])
    got = js(
        "([label, parts]) => globalThis.assemblyE2E.challengeHex(label, parts)",
        [
            "t",
            [
                ["point", point.hex()],
                ["scalar", "07"],
                ["text", "text"],
                ["bytes", "0001"],
                ["list", [["point", point.hex()], ["scalar", "00"]]],
            ],
        ],
    )
    assert int(got) == expected
    assert (
        js("(l) => globalThis.assemblyE2E.generator(l)", "poll-1/h/3")
        == generator("poll-1/h/3").hex()
    )
    assert js("() => globalThis.assemblyE2E.base()") == G.hex()
    k = random_scalar()
    assert (
        js(
            "([p, k]) => globalThis.assemblyE2E.times(p, k)",
            [point.hex(), k.to_bytes(32, "little").hex()],
        )
        == (point * k).hex()
    )


@pytest.mark.parametrize(
    ("candidates", "ranking"), [(3, [2, 0]), (15, list(range(14, -1, -1))), (15, [])]
)
def test_a_ranking_encrypted_in_the_browser_verifies_and_opens_in_python(
    js: Any, candidates: int, ranking: list[int]
) -> None:
    x = random_scalar()
    key = G * x
    credential = js("() => globalThis.assemblyE2E.newCredential()")
    made = js(
        """([key, n, ranking, poll, credential]) => {
             const e = globalThis.assemblyE2E;
             const made = e.encryptRanking(key, n, ranking, poll, credential.public);
             return { ...made, signature: e.signBallot(credential.secret, poll, made.ballot) };
           }""",
        [key.hex(), candidates, ranking, "poll-7", credential],
    )
    layout = ballots.Layout(candidates)
    ballot = ballots.EncryptedBallot.from_json(json.loads(json.dumps(made["ballot"])))
    assert ballots.ballot_is_valid(key, layout, ballot, "poll-7", credential["public"])
    assert ballots.tracker(ballot) == made["tracker"]
    public = Point.from_hex(credential["public"])
    signature = Schnorr.from_json(made["signature"])
    assert ballots.signature_is_valid(public, "poll-7", ballot, signature)
    assert not ballots.signature_is_valid(public, "poll-8", ballot, signature)
    log = SmallLog(layout.largest)
    numbers = [log(decrypt_point(x, c)) for c in ballots.row_of(layout, ballot)]
    assert ballots.read_row(layout, numbers) == tuple(ranking)
    randomness = [scalar_from_hex(r) for r in made["randomness"]]
    assert ballots.opens_to(key, layout, ballot, randomness, ranking)
    if len(ranking) > 1:
        assert not ballots.opens_to(key, layout, ballot, randomness, ranking[::-1])


def test_a_key_ceremony_in_the_browser_gives_a_key_python_decrypts_with(js: Any) -> None:
    """Three trustees, any two of whom decrypt, deal and receive in Chromium: Python finds
    every proof and share good, the same election key and trustee keys, and two trustees'
    secrets from the browser open what Python encrypted."""
    label = "inst/election/3/contest/9"
    made = js(
        """(label) => {
             const e = globalThis.assemblyE2E;
             const keys = [1, 2, 3].map(() => e.transportKey());
             const recipients = keys.map((k, i) => ({ number: i + 1, transport: k.public }));
             const dealings = [1, 2, 3].map((n) => e.deal(label, n, 2, recipients));
             const received = [1, 2, 3].map(
               (n) => e.receive(label, n, 2, keys[n - 1].secret, dealings));
             return { keys, dealings, received };
           }""",
        label,
    )
    dealings = made["dealings"]
    commitments = [[Point.from_hex(c) for c in d["commitments"]] for d in dealings]
    for d, cs in zip(dealings, commitments, strict=True):
        assert Schnorr.from_json(d["proof"]).verify(cs[0], f"{label}/trustee/{d['number']}")
        for sealed in d["shares"]:
            j = sealed["to"]
            secret = int.from_bytes(bytes.fromhex(made["keys"][j - 1]["secret"]), "little")
            share = open_share(label, d["number"], j, secret, sealed)
            assert share_is_valid(cs, j, share)
    key = election_key(commitments)
    for j, received in enumerate(made["received"], start=1):
        assert received["failed"] == []
        assert received["electionKey"] == key.hex()
        assert received["public"] == trustee_public(commitments, j).hex()
    c, _ = encrypt(key, 12)
    secrets_ = {
        j: int.from_bytes(bytes.fromhex(made["received"][j - 1]["secret"]), "little")
        for j in (1, 3)
    }
    shares = {j: decryption_share(x, c, "d")[0] for j, x in secrets_.items()}
    assert combine(c, shares) == G * 12


def test_a_tampered_dealing_is_refused_by_the_receiving_browser(js: Any) -> None:
    """A share's box changed in transit, or a commitment replaced, names the dealer."""
    failed = js(
        """(label) => {
             const e = globalThis.assemblyE2E;
             const keys = [1, 2].map(() => e.transportKey());
             const recipients = keys.map((k, i) => ({ number: i + 1, transport: k.public }));
             const dealings = [1, 2].map((n) => e.deal(label, n, 2, recipients));
             const box = dealings[0].shares[1].box;
             dealings[0].shares[1].box = (box[0] === '0' ? '1' : '0') + box.slice(1);
             dealings[1].commitments[1] = dealings[0].commitments[1];
             return e.receive(label, 2, 2, keys[1].secret, dealings);
           }""",
        "p",
    )
    assert failed["failed"] == [1, 2] and failed["secret"] is None


def test_credential_codes_mean_the_same_secret_in_the_browser_and_in_python(js: Any) -> None:
    """A code made in Chromium has the form Python reads and stands for the same secret and
    public credential; a code made in Python, typed in lower case with spaces, does too in the
    browser; a code with a letter outside the alphabet is refused by both."""
    made = js(
        """() => {
             const e = globalThis.assemblyE2E;
             return Array.from({ length: 8 }, () => {
               const code = e.newCredentialCode();
               return [code, e.credentialSecret(code), e.publicCredential(code)];
             });
           }"""
    )
    assert len({code for code, _, _ in made}) == 8
    for code, secret, public in made:
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{5}(-[2-9A-HJ-NP-Z]{5}){3}", code), code
        assert int.from_bytes(bytes.fromhex(secret), "little") == ballots.credential_secret(code)
        assert (G * ballots.credential_secret(code)).hex() == public
    code = ballots.new_credential_code()
    typed = code.lower().replace("-", " ")
    assert (
        js("(c) => globalThis.assemblyE2E.publicCredential(c)", typed)
        == (G * ballots.credential_secret(code)).hex()
    )
    bad = "O" + code[1:]
    with pytest.raises(GroupError):
        ballots.credential_secret(bad)
    refused = js(
        """(c) => { try { globalThis.assemblyE2E.credentialSecret(c); return ""; }
                    catch (error) { return error.message; } }""",
        bad,
    )
    assert "20 letters and digits" in refused
