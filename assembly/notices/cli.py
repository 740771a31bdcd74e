"""``assembly notices …``: deliver the outbox."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from assembly.notices.delivery import deliver_due

notices_cli = AppGroup("notices", help="Deliver queued notices.")


@notices_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Most messages to try this run.")
def send(limit: int) -> None:
    """Deliver the queued notices that are due (SMTP, or .eml files in development)."""
    config = current_app.config
    report = deliver_due(config, limit=limit)
    where = (
        f"SMTP {config['SMTP_HOST']}:{config['SMTP_PORT']}"
        if config["MAIL_BACKEND"] == "smtp"
        else config["OUTBOX_DIR"]
    )
    click.echo(
        f"notices: {report.sent} sent, {report.retrying} to retry, {report.failed} failed ({where})"
    )
    if report.failed:
        raise SystemExit(1)
