"""Roster imports checked and applied in the background: running and failed states, lines.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD = ("previewed", "applied", "refused")
NEW = ("checking", "previewed", "applying", "applied", "refused", "failed")


def _statuses(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lines_total", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("error", sa.Text(), server_default="", nullable=False))
        batch_op.drop_constraint(op.f("ck_import_runs_import_status"), type_="check")
        batch_op.create_check_constraint("import_status", _statuses(NEW))


def downgrade():
    op.execute(
        "UPDATE import_runs SET status = 'refused' "
        "WHERE status IN ('checking', 'applying', 'failed')"
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_import_runs_import_status"), type_="check")
        batch_op.create_check_constraint("import_status", _statuses(OLD))
        batch_op.drop_column("error")
        batch_op.drop_column("lines_total")
