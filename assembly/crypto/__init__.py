"""End-to-end verifiable polls: the group, the encryption, the proofs, the trustees' key and
decryption, the shuffle and the encrypted ballot.

Pure like ``assembly.counting``: the standard library and one group-arithmetic library
(rbcl, libsodium's ristretto255), no Flask and no database, so the verifier can check every
proof of a record offline with it. docs/e2e.md gives every encoding.
"""
