"""core: tenants, producers, producer codes

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

LIFECYCLE_STATES = "('draft', 'validated', 'suspended', 'retired', 'discarded')"


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('producers',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.String(length=26), nullable=True),
    sa.Column('ancestry', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('npn', sa.String(length=10), nullable=True),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('middle_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('organization_name', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('ssn_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('ssn_hash', sa.String(length=64), nullable=True),
    sa.Column('ssn_last4', sa.String(length=4), nullable=True),
    sa.Column('fein', sa.String(length=20), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('search_text', sa.Text(), server_default='', nullable=False),
    sa.Column('validation_result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['producers.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint(f"state IN {LIFECYCLE_STATES}", name='ck_producers_state'),
    sa.CheckConstraint("kind IN ('individual', 'organization')", name='ck_producers_kind'),
    sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name='ck_producers_not_own_parent'),
    )
    op.create_index('ix_producers_ancestry', 'producers', ['ancestry'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_producers_tenant_id'), 'producers', ['tenant_id'], unique=False)
    op.create_index('ix_producers_tenant_npn', 'producers', ['tenant_id', 'npn'], unique=False)
    op.create_index('ix_producers_tenant_parent', 'producers', ['tenant_id', 'parent_id'], unique=False)
    op.create_index('ix_producers_tenant_ssn_hash', 'producers', ['tenant_id', 'ssn_hash'], unique=False)
    op.create_index('ix_producers_tenant_state', 'producers', ['tenant_id', 'state'], unique=False)
    op.create_table('producer_codes',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('tenant_id', sa.String(length=26), nullable=False),
    sa.Column('producer_id', sa.String(length=26), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('validation_result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint(f"state IN {LIFECYCLE_STATES}", name='ck_producer_codes_state'),
    sa.CheckConstraint("state = 'draft' OR state = 'discarded' OR code IS NOT NULL", name='ck_producer_codes_code_required'),
    )
    op.create_index('ix_producer_codes_producer', 'producer_codes', ['producer_id'], unique=False)
    op.create_index(op.f('ix_producer_codes_tenant_id'), 'producer_codes', ['tenant_id'], unique=False)
    op.create_index('uq_producer_codes_tenant_code', 'producer_codes', ['tenant_id', 'code'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_producer_codes_tenant_code', table_name='producer_codes')
    op.drop_index(op.f('ix_producer_codes_tenant_id'), table_name='producer_codes')
    op.drop_index('ix_producer_codes_producer', table_name='producer_codes')
    op.drop_table('producer_codes')
    op.drop_index('ix_producers_tenant_state', table_name='producers')
    op.drop_index('ix_producers_tenant_ssn_hash', table_name='producers')
    op.drop_index('ix_producers_tenant_parent', table_name='producers')
    op.drop_index('ix_producers_tenant_npn', table_name='producers')
    op.drop_index(op.f('ix_producers_tenant_id'), table_name='producers')
    op.drop_index('ix_producers_ancestry', table_name='producers', postgresql_using='gin')
    op.drop_table('producers')
    op.drop_table('tenants')
