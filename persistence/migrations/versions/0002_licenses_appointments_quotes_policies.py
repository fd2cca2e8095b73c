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


def _audit() -> list[sa.Column]:
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
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

    op.create_table('quotes',
                    sa.Column('id', sa.String(length=26), primary_key=True),
                    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
                    sa.Column('product', sa.String(length=200), nullable=False),
                    sa.Column('jurisdiction', sa.String(length=10), nullable=False),
                    sa.Column('effective_time', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('producer_code', sa.String(length=100), nullable=True),
                    sa.Column('state', sa.String(length=20), nullable=False),
                    sa.Column('policy_id', sa.String(length=26), nullable=True),
                    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    *_audit(),
                    sa.Column('version', sa.Integer(), nullable=False),
                    sa.CheckConstraint("state IN ('draft', 'underwritten', 'issued', 'declined', 'rejected')",
                                       name='ck_quotes_state'))
    op.create_index('ix_quotes_tenant_id', 'quotes', ['tenant_id'])
    op.create_index('ix_quotes_tenant_code', 'quotes', ['tenant_id', 'producer_code'])

    op.create_table('policies',
                    sa.Column('id', sa.String(length=26), primary_key=True),
                    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
                    sa.Column('quote_id', sa.String(length=26), nullable=True),
                    sa.Column('product', sa.String(length=200), nullable=False),
                    sa.Column('jurisdiction', sa.String(length=10), nullable=False),
                    sa.Column('producer_code', sa.String(length=100), nullable=True),
                    sa.Column('producer_code_of_record', sa.String(length=100), nullable=True),
                    *_audit(),
                    sa.Column('version', sa.Integer(), nullable=False))
    op.create_index('ix_policies_tenant_id', 'policies', ['tenant_id'])
    op.create_index('ix_policies_tenant_code', 'policies', ['tenant_id', 'producer_code'])
    op.create_index('ix_policies_tenant_code_of_record', 'policies', ['tenant_id', 'producer_code_of_record'])

    op.create_table('policy_transactions',
                    sa.Column('id', sa.String(length=26), primary_key=True),
                    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
                    sa.Column('policy_id', sa.String(length=26), sa.ForeignKey('policies.id'), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('state', sa.String(length=20), nullable=False),
                    sa.Column('effective_time', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('issued_time', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('producers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    *_audit(),
                    sa.CheckConstraint("kind IN ('issuance', 'change', 'renewal')", name='ck_policy_transactions_kind'),
                    sa.CheckConstraint("state IN ('draft', 'issued')", name='ck_policy_transactions_state'))
    op.create_index('ix_policy_transactions_tenant_id', 'policy_transactions', ['tenant_id'])
    op.create_index('ix_policy_transactions_policy', 'policy_transactions', ['policy_id'])

    op.create_table('underwriting_flags',
                    sa.Column('id', sa.String(length=26), primary_key=True),
                    sa.Column('tenant_id', sa.String(length=26), sa.ForeignKey('tenants.id'), nullable=False),
                    sa.Column('quote_id', sa.String(length=26), nullable=True),
                    sa.Column('transaction_id', sa.String(length=26), nullable=True),
                    sa.Column('level', sa.String(length=20), nullable=False),
                    sa.Column('tag', sa.String(length=200), nullable=False),
                    sa.Column('note', sa.String(), nullable=True),
                    sa.Column('source', sa.String(length=20), nullable=False),
                    sa.Column('producer_code', sa.String(length=100), nullable=True),
                    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('created_by', sa.String(length=200), nullable=False),
                    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('cleared_by', sa.String(length=200), nullable=True),
                    sa.CheckConstraint("level IN ('info', 'block', 'decline', 'reject')",
                                       name='ck_underwriting_flags_level'),
                    sa.CheckConstraint("quote_id IS NOT NULL OR transaction_id IS NOT NULL",
                                       name='ck_underwriting_flags_subject'))
    op.create_index('ix_underwriting_flags_tenant_id', 'underwriting_flags', ['tenant_id'])
    op.create_index('ix_underwriting_flags_quote', 'underwriting_flags', ['quote_id'])
    op.create_index('ix_underwriting_flags_transaction', 'underwriting_flags', ['transaction_id'])


def downgrade() -> None:
    op.drop_table('underwriting_flags')
    op.drop_table('policy_transactions')
    op.drop_table('policies')
    op.drop_table('quotes')
    op.drop_table('appointments')
    op.drop_table('licenses')
