"""appointment termination (reason, date) and the search text of codes, licenses and appointments

Revision ID: 0009
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

SEARCHED = ("producer_codes", "licenses", "appointments")


def upgrade() -> None:
    op.add_column('appointments', sa.Column('termination_reason', sa.String(length=40), nullable=True))
    op.add_column('appointments', sa.Column('terminated_on', sa.Date(), nullable=True))
    op.drop_constraint('ck_appointments_state', 'appointments', type_='check')
    op.create_check_constraint('ck_appointments_state', 'appointments',
                               "state IN ('draft', 'validated', 'discarded', 'terminated')")
    for table in SEARCHED:
        op.add_column(table, sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    # existing rows: the code value and the credential numbers (searchable data is added on the next write)
    op.execute("UPDATE producer_codes SET search_text = lower(coalesce(code, ''))")
    op.execute("UPDATE licenses SET search_text = lower(license_number)")
    op.execute("UPDATE appointments SET search_text = lower(appointment_number)")


def downgrade() -> None:
    for table in SEARCHED:
        op.drop_column(table, 'search_text')
    op.execute("UPDATE appointments SET state = 'discarded' WHERE state = 'terminated'")
    op.drop_constraint('ck_appointments_state', 'appointments', type_='check')
    op.create_check_constraint('ck_appointments_state', 'appointments', "state IN ('draft', 'validated', 'discarded')")
    op.drop_column('appointments', 'terminated_on')
    op.drop_column('appointments', 'termination_reason')
