"""Tests of election records: Merkle trees, signatures, the verifier and its commands."""
