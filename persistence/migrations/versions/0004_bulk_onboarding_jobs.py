"""bulk onboarding jobs

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JOB_STATES = "('UPLOADED', 'VALIDATED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')"
ROW_STATES = "('INVALID', 'VALID', 'PENDING', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'SKIPPED')"


def upgrade() -> None:
    op.create_table('bulk_jobs',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), nullable=False),
    sa.Column('agency_id', sa.String(length=26), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('principal', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('notify_email', sa.String(length=320), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('invalid_rows', sa.Integer(), nullable=False),
    sa.Column('queued_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('succeeded_rows', sa.Integer(), nullable=False),
    sa.Column('failed_rows', sa.Integer(), nullable=False),
    sa.Column('rate_base', sa.Integer(), nullable=False),
    sa.Column('payment', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint(f"status IN {JOB_STATES}", name='ck_bulk_jobs_status'),
    )
    op.create_index(op.f('ix_bulk_jobs_tenant_id'), 'bulk_jobs', ['tenant_id'], unique=False)
    op.create_index('ix_bulk_jobs_tenant_status', 'bulk_jobs', ['tenant_id', 'status'], unique=False)
    op.create_table('bulk_rows',
    sa.Column('job_id', sa.String(length=26), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('npn', sa.String(length=10), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('ssn_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('ssn_hash', sa.String(length=64), nullable=True),
    sa.Column('ssn_last4', sa.String(length=4), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('problems', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=100), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('producer_id', sa.String(length=26), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['bulk_jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'row_number'),
    sa.CheckConstraint(f"status IN {ROW_STATES}", name='ck_bulk_rows_status'),
    )
    op.create_index('ix_bulk_rows_job_status', 'bulk_rows', ['job_id', 'status'], unique=False)
    op.create_index('ix_bulk_rows_claimable', 'bulk_rows', ['status', 'job_id', 'row_number'], unique=False,
                    postgresql_where=sa.text("status IN ('PENDING', 'PROCESSING')"))


def downgrade() -> None:
    op.drop_index('ix_bulk_rows_claimable', table_name='bulk_rows')
    op.drop_index('ix_bulk_rows_job_status', table_name='bulk_rows')
    op.drop_table('bulk_rows')
    op.drop_index('ix_bulk_jobs_tenant_status', table_name='bulk_jobs')
    op.drop_index(op.f('ix_bulk_jobs_tenant_id'), table_name='bulk_jobs')
    op.drop_table('bulk_jobs')
