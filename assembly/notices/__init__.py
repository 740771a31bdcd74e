"""Notices: emails (and, later, printable letters) to members and officers.

Words: a **notice** is queued as an **outbox message** in the same transaction as the change
that causes it, then **delivered** by ``assembly notices send`` through SMTP or, in
development, written as a ``.eml`` file under ``instance/outbox/``. Failed deliveries are
retried with back-off.
"""
