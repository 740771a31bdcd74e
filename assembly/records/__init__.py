"""Election records: canonical JSON, hashes and (in later issues) signatures and the verifier.

The modules ``canonical`` (and, later, ``merkle``, ``signing``, ``verify``) are pure: they
import the standard library and ``cryptography`` only, so anyone can recount a record.
"""
