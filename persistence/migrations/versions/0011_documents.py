"""documents: media of producers, producer codes, licenses and appointments, versioned, stored in chunked rows

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'documents',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('tenant_id', sa.String(length=26), nullable=False),
        sa.Column('entity', sa.String(length=20), nullable=False),
        sa.Column('entity_id', sa.String(length=26), nullable=False),
        sa.Column('field', sa.String(length=100), nullable=False),
        sa.Column('lineage_id', sa.String(length=26), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('current', sa.Boolean(), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('chunk_count', sa.Integer(), nullable=False),
        sa.Column('uploaded_by', sa.String(length=200), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_by', sa.String(length=200), nullable=True),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.CheckConstraint("entity IN ('producer', 'producer_code', 'license', 'appointment')",
                           name='ck_documents_entity'),
    )
    op.create_index('ix_documents_entity', 'documents', ['tenant_id', 'entity_id', 'field'], unique=False)
    op.create_index('ix_documents_lineage', 'documents', ['lineage_id', 'version'], unique=True)
    op.create_table(
        'document_chunks',
        sa.Column('document_id', sa.String(length=26), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('document_id', 'seq'),
    )
    # chunks are already compressed or random-looking (PDF streams, images): store them as they are, out of line
    op.execute("ALTER TABLE document_chunks ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table('document_chunks')
    op.drop_index('ix_documents_lineage', table_name='documents')
    op.drop_index('ix_documents_entity', table_name='documents')
    op.drop_table('documents')
