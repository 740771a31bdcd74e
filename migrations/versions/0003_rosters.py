"""Rosters: roster sources, the people each source knows, import runs; postcode districts on
constituencies; notices queued in bulk (template and context, rendered at delivery).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "roster_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("constituency_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "hr",
                "pupil_register",
                "patient_register",
                "community_signup",
                "other",
                name="roster_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("column_mapping", sa.Text(), nullable=False),
        sa.Column("created_at", assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["constituency_id"],
            ["constituencies.id"],
            name=op.f("fk_roster_sources_constituency_id_constituencies"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_roster_sources_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_sources")),
        sa.UniqueConstraint(
            "institution_id", "key", name=op.f("uq_roster_sources_institution_id_key")
        ),
    )
    with op.batch_alter_table("roster_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roster_sources_constituency_id"), ["constituency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_roster_sources_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "previewed",
                "applied",
                "refused",
                name="import_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("samples", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("created_at", assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["roster_sources.id"],
            name=op.f("fk_import_runs_source_id_roster_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_runs_source_id"), ["source_id"], unique=False)

    op.create_table(
        "source_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("is_present", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_source_records_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["roster_sources.id"],
            name=op.f("fk_source_records_source_id_roster_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_records")),
        sa.UniqueConstraint(
            "source_id", "external_id", name=op.f("uq_source_records_source_id_external_id")
        ),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_records_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("constituencies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("postcode_districts", sa.Text(), nullable=False, server_default="")
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("context", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("context")
        batch_op.drop_column("template")

    with op.batch_alter_table("constituencies", schema=None) as batch_op:
        batch_op.drop_column("postcode_districts")

    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_person_id"))

    op.drop_table("source_records")
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_runs_source_id"))

    op.drop_table("import_runs")
    with op.batch_alter_table("roster_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_sources_institution_id"))
        batch_op.drop_index(batch_op.f("ix_roster_sources_constituency_id"))

    op.drop_table("roster_sources")
