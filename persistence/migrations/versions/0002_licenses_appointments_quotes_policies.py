"""licenses, appointments, quotes, policies

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _text_array(name: str) -> sa.Column:
    return sa.Column(name, postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False)


def _credential_columns() -> list[sa.Column]:
    return [
        sa.Column('id', sa.String(length=26), primary_key=True),
        sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('producer_id', sa.String(length=26), sa.ForeignKey('producers.id'), nullable=False),
        sa.Column('type', sa.String(length=200), nullable=False),
    ]


def _credential_tail() -> list[sa.Column]:
    return [
        _text_array('jurisdictions'),
        _text_array('products'),
        _text_array('producer_codes'),
        _text_array('lines_of_authority'),
        sa.Column('residency', sa.String(length=20), nullable=False),
        sa.Column('license_class', sa.String(length=100), nullable=True),
        sa.Column('effective_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expiration_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('validation_result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
    ]


def _credential_checks(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint("state IN ('draft', 'validated', 'discarded')", name=f'ck_{table}_state'),
        sa.CheckConstraint("residency IN ('resident', 'non-resident')", name=f'ck_{table}_residency'),
    ]


def upgrade() -> None:
    op.create_table('licenses', *_credential_columns(),
                    sa.Column('license_number', sa.String(length=100), nullable=False),
                    *_credential_tail(), *_credential_checks('licenses'))
    op.create_index('ix_licenses_tenant_id', 'licenses', ['tenant_id'])
    op.create_index('ix_licenses_producer', 'licenses', ['producer_id'])
    op.create_index('ix_licenses_tenant_expiration', 'licenses', ['tenant_id', 'expiration_time'])

    op.create_table('appointments', *_credential_columns(),
                    sa.Column('appointment_number', sa.String(length=100), nullable=False),
                    _text_array('license_ids'),
                    *_credential_tail(), *_credential_checks('appointments'))
    op.create_index('ix_appointments_tenant_id', 'appointments', ['tenant_id'])
    op.create_index('ix_appointments_producer', 'appointments', ['producer_id'])
    op.create_index('ix_appointments_tenant_expiration', 'appointments', ['tenant_id', 'expiration_time'])


def downgrade() -> None:
    op.drop_table('appointments')
    op.drop_table('licenses')
