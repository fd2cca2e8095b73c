"""producer registry and onboarding

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_producers',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
    sa.Column('npn', sa.String(length=10), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('middle_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=False),
    sa.Column('ssn_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('ssn_hash', sa.String(length=64), nullable=True),
    sa.Column('ssn_last4', sa.String(length=4), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_registry_producers_tenant_id'), 'registry_producers', ['tenant_id'])
    op.create_index('uq_registry_producers_tenant_npn', 'registry_producers', ['tenant_id', 'npn'], unique=True)
    op.create_index('ix_registry_producers_tenant_ssn_hash', 'registry_producers', ['tenant_id', 'ssn_hash'])
    op.create_table('registry_licenses',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
    sa.Column('registry_producer_id', sa.String(length=26),
              sa.ForeignKey('registry_producers.id', ondelete='CASCADE'), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('license_number', sa.String(length=100), nullable=False),
    sa.Column('license_class', sa.String(length=100), nullable=True),
    sa.Column('residency', sa.String(length=20), nullable=False),
    sa.Column('lines_of_authority', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('expiration_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("residency IN ('resident', 'non-resident')", name='ck_registry_licenses_residency'),
    )
    op.create_index(op.f('ix_registry_licenses_tenant_id'), 'registry_licenses', ['tenant_id'])
    op.create_index('uq_registry_licenses_tenant_state_number', 'registry_licenses',
                    ['tenant_id', 'state', 'license_number'], unique=True)
    op.create_index('ix_registry_licenses_producer', 'registry_licenses', ['registry_producer_id'])
    op.create_table('onboardings',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
    sa.Column('producer_id', sa.String(length=26), sa.ForeignKey('producers.id'), nullable=False),
    sa.Column('agency_id', sa.String(length=26), sa.ForeignKey('producers.id'), nullable=False),
    sa.Column('registry_producer_id', sa.String(length=26), nullable=True),
    sa.Column('identified_by', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('current_step', sa.String(length=20), nullable=False),
    sa.Column('details_reviewed', sa.Boolean(), nullable=False),
    sa.Column('new_license_paid_by', sa.String(length=20), nullable=True),
    sa.Column('renewal_paid_by', sa.String(length=20), nullable=True),
    sa.Column('auto_renewal', sa.Boolean(), nullable=True),
    sa.Column('states', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('states_assigned', sa.Boolean(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_license_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('bulk_job_id', sa.String(length=26), nullable=True),
    sa.Column('bulk_row_number', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("status IN ('IN_PROGRESS', 'COMPLETED', 'CANCELLED')", name='ck_onboardings_status'),
    sa.CheckConstraint("new_license_paid_by IS NULL OR new_license_paid_by IN ('AGENCY', 'PRODUCER')",
                       name='ck_onboardings_new_license_paid_by'),
    sa.CheckConstraint("renewal_paid_by IS NULL OR renewal_paid_by IN ('AGENCY', 'PRODUCER')",
                       name='ck_onboardings_renewal_paid_by'),
    )
    op.create_index(op.f('ix_onboardings_tenant_id'), 'onboardings', ['tenant_id'])
    op.create_index('ix_onboardings_tenant_status', 'onboardings', ['tenant_id', 'status'])
    op.create_index('ix_onboardings_producer', 'onboardings', ['producer_id'])
    op.create_index('uq_onboardings_bulk_row', 'onboardings', ['bulk_job_id', 'bulk_row_number'], unique=True)


def downgrade() -> None:
    op.drop_table('onboardings')
    op.drop_table('registry_licenses')
    op.drop_table('registry_producers')
