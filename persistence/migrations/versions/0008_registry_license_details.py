"""registry license details; license applications; what onboarding leaves behind

The registry keeps what a NIPR extract carries per license: its status (active or inactive) and effective date
besides the issue and expiration dates. A license may be an application (state `applied`, no number yet), and
the system says why it put a license in its state (`state_reason`). An onboarding names the producer code it
gave; a bulk job says where its completion email address came from.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('registry_licenses', sa.Column('status', sa.String(length=20), nullable=False,
                                                 server_default='active'))
    op.add_column('registry_licenses', sa.Column('effective_date', sa.Date(), nullable=True))
    op.alter_column('licenses', 'license_number', existing_type=sa.String(length=100), nullable=True)
    op.drop_constraint('ck_licenses_state', 'licenses', type_='check')
    op.create_check_constraint('ck_licenses_state', 'licenses',
                               "state IN ('draft', 'validated', 'discarded', 'applied')")
    op.create_check_constraint('ck_licenses_number_unless_applied', 'licenses',
                               "license_number IS NOT NULL OR state IN ('applied', 'discarded')")
    op.add_column('licenses', sa.Column('state_reason', sa.Text(), nullable=True))
    op.add_column('onboardings', sa.Column('producer_code_id', sa.String(length=26), nullable=True))
    op.add_column('bulk_jobs', sa.Column('notify_email_source', sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column('bulk_jobs', 'notify_email_source')
    op.drop_column('onboardings', 'producer_code_id')
    op.drop_column('licenses', 'state_reason')
    op.drop_constraint('ck_licenses_number_unless_applied', 'licenses', type_='check')
    op.execute("UPDATE licenses SET state = 'draft' WHERE state = 'applied'")
    op.drop_constraint('ck_licenses_state', 'licenses', type_='check')
    op.create_check_constraint('ck_licenses_state', 'licenses', "state IN ('draft', 'validated', 'discarded')")
    op.execute("UPDATE licenses SET license_number = '' WHERE license_number IS NULL")
    op.alter_column('licenses', 'license_number', existing_type=sa.String(length=100), nullable=False)
    op.drop_column('registry_licenses', 'effective_date')
    op.drop_column('registry_licenses', 'status')
