"""registry sync and compliance digests: onboardings found by registry producer, the lease of each agency's daily
digest, and the alerts each digest already told

Revision ID: 0012
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_onboardings_tenant_registry_producer', 'onboardings', ['tenant_id', 'registry_producer_id'])
    op.create_table(
        'compliance_digests',
        sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('agency_id', sa.String(length=26), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('alert_count', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('recipients', sa.ARRAY(sa.Text()), nullable=False, server_default='{}'),
        sa.PrimaryKeyConstraint('tenant_id', 'agency_id', 'day'),
    )
    op.create_table(
        'compliance_alert_notices',
        sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('entity_id', sa.String(length=26), nullable=False),
        sa.Column('alert_window', sa.String(length=20), nullable=False),
        sa.Column('agency_id', sa.String(length=26), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'entity_id', 'alert_window'),
    )


def downgrade() -> None:
    op.drop_table('compliance_alert_notices')
    op.drop_table('compliance_digests')
    op.drop_index('ix_onboardings_tenant_registry_producer', table_name='onboardings')
