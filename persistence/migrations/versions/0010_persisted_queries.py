"""persisted queries: GraphQL documents by sha256, shared by every server process (Apollo APQ)

Revision ID: 0010
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'persisted_queries',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256'),
    )
    op.create_index('ix_persisted_queries_last_used_at', 'persisted_queries', ['last_used_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_persisted_queries_last_used_at', table_name='persisted_queries')
    op.drop_table('persisted_queries')
