"""compliance alerts raised: the alerts sent to webhooks (each credential once per window and expiration date),
and the lease of each tenant's daily alert sweep; throttle buckets go with their tenant (ON DELETE CASCADE, like
the compliance leases and notices: state the server derives, not data a tenant deletion must keep or refuse over)

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'compliance_alerts_raised',
        sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('entity_id', sa.String(length=26), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('alert_window', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('producer_id', sa.String(length=26), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'entity_id', 'expires_on', 'alert_window'),
    )
    op.create_table(
        'compliance_alert_sweeps',
        sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('raised_count', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('tenant_id', 'day'),
    )
    op.execute("DELETE FROM throttle_buckets b WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = b.tenant_id)")
    op.create_foreign_key('fk_throttle_buckets_tenant', 'throttle_buckets', 'tenants', ['tenant_id'], ['id'],
                          ondelete='CASCADE')


def downgrade() -> None:
    op.drop_constraint('fk_throttle_buckets_tenant', 'throttle_buckets', type_='foreignkey')
    op.drop_table('compliance_alert_sweeps')
    op.drop_table('compliance_alerts_raised')
