"""Make audit_events append-only: a trigger refuses UPDATE and DELETE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op

from assembly.audit.models import append_only_statements

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    for statement in append_only_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
