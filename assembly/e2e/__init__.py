"""End-to-end verifiable polls, around the pure core in ``assembly.crypto``.

Words:

- **ceremony** — the trustees' key ceremony for an election (or an assembly): each trustee
  registers a **transport key** from their browser, deals a polynomial's commitments and a
  share sealed to every other trustee, and confirms the decryption key their browser derived
  from the shares it received. The **election key** is theirs together; the server never holds
  any secret of it.
- **trustee** — the returning officer or a scrutineer chosen by the members; any
  ``threshold`` of them open the ballots.
- **credential** — a voter's signing key, made in the returning officer's browser from the
  frozen roll: the public list is published, the secrets go to the voters by the officer's
  own channel, never through the server.
- **encrypted ballot** — a ranking encrypted in the voter's browser, with proofs that it is
  well formed, signed with their credential; its tracker is the hash of its ciphertexts.
- **audited ballot** — an encryption the voter challenged (Benaloh): revealed, never counted.
- **shuffle**, **opening** — each trustee's proved re-encryption and permutation of the
  ballots, and their proved decryption shares of the last shuffle's rows.
"""
