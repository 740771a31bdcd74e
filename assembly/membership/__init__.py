"""Membership: institutions, their constituencies, people and their memberships.

Words: an **institution** (school, hospital, other) has **constituencies** (``workers``,
``users``, ``community`` or custom), each with a board-seat **weight**; a **person** is
enrolled as a **member** of an institution in exactly one constituency at a time, and a
**membership** keeps its history (joined, left, opted out).
"""
