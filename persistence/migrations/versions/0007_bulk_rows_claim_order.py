"""bulk rows claimed in job and row order from an index of the pending rows only

The claim asked for pending rows (or expired leases) ordered by (job_id, row_number); the only index in that
order was the primary key, so each claim walked every row already processed before reaching pending ones:
quadratic in the job (a 100,000-row job's late claims scanned ~100,000 index entries for 200 rows).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_bulk_rows_pending_in_order', 'bulk_rows', ['job_id', 'row_number'], unique=False,
                    postgresql_where=sa.text("status IN ('PENDING', 'PROCESSING')"))


def downgrade() -> None:
    op.drop_index('ix_bulk_rows_pending_in_order', table_name='bulk_rows')
