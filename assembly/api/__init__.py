"""The JSON API, version 1: roster pushes for HR and patient systems, and its OpenAPI document.

Words: a **service token** is a bearer JWT scoped to one roster source; a **push** is one
import run sent as JSON, in snapshot or delta mode, with an optional idempotency key.
"""
