"""throttle buckets: each caller's shared cost bucket, leased from in slices by every server process

Revision ID: 0014
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Refill the row to now (PostgreSQL's clock, under the row lock), add what is returned, then take `want` when it
# holds at least `need`; see persistence/throttle.py.
LEASE_FUNCTION = """
CREATE OR REPLACE FUNCTION throttle_bucket_lease(
    p_tenant text, p_subject text, p_maximum float8, p_rate float8, p_need float8, p_want float8,
    p_returned float8, OUT level float8, OUT granted float8) AS $$
DECLARE
    v_available float8;
    v_updated timestamptz;
    v_now timestamptz;
BEGIN
    INSERT INTO throttle_buckets (tenant_id, subject, available, updated_at)
    VALUES (p_tenant, p_subject, p_maximum, clock_timestamp())
    ON CONFLICT (tenant_id, subject) DO NOTHING;
    SELECT available, updated_at INTO v_available, v_updated FROM throttle_buckets
    WHERE tenant_id = p_tenant AND subject = p_subject FOR UPDATE;
    v_now := greatest(v_updated, clock_timestamp());
    level := least(p_maximum, v_available + p_rate * extract(epoch FROM v_now - v_updated) + p_returned);
    granted := CASE WHEN level >= p_need THEN least(level, p_want) ELSE 0 END;
    UPDATE throttle_buckets SET available = level - granted, updated_at = v_now
    WHERE tenant_id = p_tenant AND subject = p_subject;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        'throttle_buckets',
        sa.Column('tenant_id', sa.String(length=26), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('available', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'subject'),
    )
    op.execute(LEASE_FUNCTION)


def downgrade() -> None:
    op.execute('DROP FUNCTION IF EXISTS throttle_bucket_lease(text, text, float8, float8, float8, float8, float8)')
    op.drop_table('throttle_buckets')
