"""``assembly audit …``: check the audit chain."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from assembly.audit.operations import verify_chain

audit_cli = AppGroup("audit", help="Check the hash-chained audit log.")


@audit_cli.command("verify")
def verify() -> None:
    """Recompute every event's hash; exit 1 and name the first broken event."""
    report = verify_chain()
    if not report.ok:
        click.echo(f"audit chain BROKEN at event {report.broken_seq}: {report.reason}", err=True)
        raise SystemExit(1)
    click.echo(f"audit chain intact: {report.checked} events, head {report.head_hash}")
