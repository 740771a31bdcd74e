"""Foundation: institutions, constituencies, people, memberships, users, roles,
sign-in tokens, the audit chain and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

import assembly.sqltypes


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain's single head row; every append updates (and so locks) it.
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('school', 'hospital', 'other', name='institution_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('area', sa.String(length=200), nullable=False),
    sa.Column('leader_title', sa.String(length=100), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('slug', name=op.f('uq_institutions_slug'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_email'), ['email'], unique=False)

    op.create_table('sign_in_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('email_digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_tokens'))
    )
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_tokens_email_digest'), ['email_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_tokens_issued_at'), ['issued_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('is_platform_admin', sa.Boolean(), nullable=False),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_signed_in_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_audit_events_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_events_seq'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_institution_id'), ['institution_id'], unique=False)

    op.create_table('constituencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('weight_numerator', sa.Integer(), nullable=False),
    sa.Column('weight_denominator', sa.Integer(), nullable=False),
    sa.Column('minimum_age', sa.Integer(), nullable=False),
    sa.Column('precedence', sa.Integer(), nullable=False),
    sa.CheckConstraint('minimum_age >= 0', name=op.f('ck_constituencies_minimum_age_not_negative')),
    sa.CheckConstraint('weight_denominator > 0', name=op.f('ck_constituencies_weight_denominator_positive')),
    sa.CheckConstraint('weight_numerator >= 0', name=op.f('ck_constituencies_weight_not_negative')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_constituencies_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_constituencies')),
    sa.UniqueConstraint('institution_id', 'key', name=op.f('uq_constituencies_institution_id_key')),
    sa.UniqueConstraint('institution_id', 'precedence', name=op.f('uq_constituencies_institution_id_precedence'))
    )
    with op.batch_alter_table('constituencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_constituencies_institution_id'), ['institution_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=250), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sent', 'failed', name='outbox_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_outbox_messages_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_institution_id'), ['institution_id'], unique=False)

    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('secretary', 'returning_officer', 'teller', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('granted_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', assembly.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_role_grants_granted_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_role_grants_institution_id_institutions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants'))
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grants_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_role_grants_current', ['user_id', 'institution_id', 'role'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('opted_out_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.CheckConstraint('left_on IS NULL OR left_on >= joined_on', name=op.f('ck_memberships_left_after_joined')),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituencies.id'], name=op.f('fk_memberships_constituency_id_constituencies')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_memberships_institution_id_institutions')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_memberships_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_constituency_id'), ['constituency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_memberships_current', ['institution_id', 'person_id'], unique=True, sqlite_where=sa.text('left_on IS NULL'), postgresql_where=sa.text('left_on IS NULL'))



def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_current', sqlite_where=sa.text('left_on IS NULL'), postgresql_where=sa.text('left_on IS NULL'))
        batch_op.drop_index(batch_op.f('ix_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_institution_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_constituency_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index('uq_role_grants_current', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_role_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_role_grants_institution_id'))

    op.drop_table('role_grants')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_institution_id'))
        batch_op.drop_index('ix_outbox_messages_due')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('constituencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_constituencies_institution_id'))

    op.drop_table('constituencies')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_institution_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('users')
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_tokens_issued_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_tokens_email_digest'))

    op.drop_table('sign_in_tokens')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_email'))

    op.drop_table('people')
    op.drop_table('institutions')
    op.drop_table('audit_head')
