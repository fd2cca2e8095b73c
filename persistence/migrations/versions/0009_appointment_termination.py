"""appointment termination (reason, date), the search text of codes, licenses and appointments, and the audit
log of quotes, policies, policy transactions, underwriting flags and onboardings

Revision ID: 0009
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SEARCHED = ("producer_codes", "licenses", "appointments")
BUSINESS_TABLES = {"quotes": "quote", "policies": "policy", "policy_transactions": "policy_transaction",
                   "underwriting_flags": "underwriting_flag", "onboardings": "onboarding"}

# The producer an object of business belongs to (for scoping the log and the feed): through its producer code
# (a quote, a policy), its policy (a transaction), its quote or transaction (a flag); null without a code.
PRODUCER_OF = r"""
CREATE FUNCTION audit_producer_of(entity text, doc jsonb) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE entity
        WHEN 'quote' THEN (SELECT c.producer_id FROM producer_codes c
                           WHERE c.tenant_id = doc ->> 'tenant_id' AND c.code = doc ->> 'producer_code')
        WHEN 'policy' THEN (SELECT c.producer_id FROM producer_codes c
                            WHERE c.tenant_id = doc ->> 'tenant_id' AND c.code = doc ->> 'producer_code')
        WHEN 'policy_transaction' THEN (
            SELECT c.producer_id FROM policies p
            JOIN producer_codes c ON c.tenant_id = p.tenant_id AND c.code = p.producer_code
            WHERE p.id = doc ->> 'policy_id')
        WHEN 'underwriting_flag' THEN coalesce(
            (SELECT c.producer_id FROM quotes q
             JOIN producer_codes c ON c.tenant_id = q.tenant_id AND c.code = q.producer_code
             WHERE q.id = doc ->> 'quote_id'),
            (SELECT c.producer_id FROM policy_transactions t JOIN policies p ON p.id = t.policy_id
             JOIN producer_codes c ON c.tenant_id = p.tenant_id AND c.code = p.producer_code
             WHERE t.id = doc ->> 'transaction_id'))
        WHEN 'producer' THEN doc ->> 'id'
        ELSE doc ->> 'producer_id' END
$$
"""

# 0006's functions, with the producer found for every entity and the events of business named: a policy is
# issued, a flag added and cleared, an onboarding finished or cancelled, a quote underwritten, issued, declined
# or rejected, an appointment terminated.
PRODUCER_ID = """CASE WHEN TG_ARGV[0] = 'producer' THEN {doc} ->> 'id'
                      WHEN TG_ARGV[0] IN ('producer_code', 'license', 'appointment', 'onboarding')
                          THEN {doc} ->> 'producer_id'
                      ELSE audit_producer_of(TG_ARGV[0], {doc}) END"""

INSERTED_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant text;
BEGIN
    WITH d AS MATERIALIZED (  -- each row's document built once, not once per reference below
        SELECT to_jsonb(n) - ARRAY['ssn_ciphertext', 'ssn_hash', 'search_text'] AS doc FROM new_rows n
    )
    INSERT INTO audit_events (tenant_id, entity, entity_id, producer_id, event, actor, request_id, before, after)
    SELECT d.doc ->> 'tenant_id', TG_ARGV[0], d.doc ->> 'id', """ + PRODUCER_ID.format(doc="d.doc") + r""",
           CASE WHEN TG_ARGV[0] = 'policy' THEN 'issued'
                WHEN TG_ARGV[0] = 'underwriting_flag' THEN 'added'
                WHEN TG_ARGV[0] = 'policy_transaction' AND d.doc ->> 'state' = 'issued' THEN 'issued'
                ELSE 'created' END,
           coalesce(nullif(current_setting('app.actor', true), ''), d.doc ->> 'updated_by', d.doc ->> 'created_by'),
           nullif(current_setting('app.request_id', true), ''),
           NULL, d.doc
    FROM d;
    FOR tenant IN SELECT DISTINCT n.tenant_id FROM new_rows n LOOP
        PERFORM pg_notify('producer_events', tenant);
    END LOOP;
    RETURN NULL;
END
$$
"""

UPDATED_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant text;
BEGIN
    FOR tenant IN
        WITH changed AS MATERIALIZED (  -- each row's documents built once, not once per reference below
            SELECT n.position,
                   to_jsonb(o) - ARRAY['ssn_ciphertext', 'ssn_hash', 'search_text'] AS before_doc,
                   to_jsonb(n.r) - ARRAY['ssn_ciphertext', 'ssn_hash', 'search_text'] AS after_doc
            FROM (SELECT r, row_number() OVER () AS position FROM new_rows r) n
            JOIN old_rows o ON o.id = (n.r).id
        ), events AS (
            INSERT INTO audit_events (tenant_id, entity, entity_id, producer_id, event, actor, request_id,
                                      before, after)
            SELECT c.after_doc ->> 'tenant_id', TG_ARGV[0], c.after_doc ->> 'id',
                   """ + PRODUCER_ID.format(doc="c.after_doc") + r""",
                   CASE
                       WHEN TG_ARGV[0] = 'underwriting_flag' THEN
                           CASE WHEN c.before_doc ->> 'cleared_at' IS NULL AND c.after_doc ->> 'cleared_at' IS NOT NULL
                                THEN 'cleared' ELSE 'updated' END
                       WHEN TG_ARGV[0] = 'onboarding' THEN
                           CASE WHEN c.after_doc -> 'status' IS NOT DISTINCT FROM c.before_doc -> 'status' THEN 'updated'
                                WHEN c.after_doc ->> 'status' = 'COMPLETED' THEN 'finished'
                                WHEN c.after_doc ->> 'status' = 'CANCELLED' THEN 'cancelled'
                                ELSE 'updated' END
                       WHEN c.after_doc -> 'state' IS NOT DISTINCT FROM c.before_doc -> 'state' THEN 'updated'
                       WHEN c.after_doc ->> 'state' = 'validated' AND c.before_doc ->> 'state' = 'suspended'
                           THEN 'unsuspended'
                       WHEN c.after_doc ->> 'state' IN ('validated', 'suspended', 'retired', 'discarded', 'terminated',
                                                        'underwritten', 'issued', 'declined', 'rejected')
                           THEN c.after_doc ->> 'state'
                       ELSE 'updated' END,
                   coalesce(nullif(current_setting('app.actor', true), ''), c.after_doc ->> 'updated_by',
                            c.after_doc ->> 'cleared_by', c.after_doc ->> 'created_by'),
                   nullif(current_setting('app.request_id', true), ''),
                   c.before_doc, c.after_doc
            FROM changed c
            WHERE c.before_doc - ARRAY['updated_at', 'updated_by', 'version']
                  <> c.after_doc - ARRAY['updated_at', 'updated_by', 'version']
            ORDER BY c.position  -- ids in the order the rows changed, as the row trigger gave them
            RETURNING tenant_id
        )
        SELECT DISTINCT e.tenant_id FROM events e
    LOOP
        PERFORM pg_notify('producer_events', tenant);
    END LOOP;
    RETURN NULL;
END
$$
"""


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
    op.execute("UPDATE licenses SET search_text = coalesce(lower(license_number), '')")
    op.execute("UPDATE appointments SET search_text = lower(appointment_number)")
    op.execute(PRODUCER_OF)
    op.execute(INSERTED_FUNCTION)
    op.execute(UPDATED_FUNCTION)
    for table, entity in BUSINESS_TABLES.items():
        op.execute(f"CREATE TRIGGER {table}_audit_insert AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_inserted('{entity}')")
        op.execute(f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('{entity}')")


def downgrade() -> None:
    from importlib import import_module

    for table in BUSINESS_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_insert ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_update ON {table}")
    op.execute(f"DELETE FROM audit_events WHERE entity IN {tuple(BUSINESS_TABLES.values())}")
    previous = import_module("persistence.migrations.versions.0006_audit_statement_triggers")
    op.execute(previous.INSERTED_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute(previous.UPDATED_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DROP FUNCTION IF EXISTS audit_producer_of(text, jsonb)")
    for table in SEARCHED:
        op.drop_column(table, 'search_text')
    op.execute("UPDATE appointments SET state = 'discarded' WHERE state = 'terminated'")
    op.drop_constraint('ck_appointments_state', 'appointments', type_='check')
    op.create_check_constraint('ck_appointments_state', 'appointments', "state IN ('draft', 'validated', 'discarded')")
    op.drop_column('appointments', 'terminated_on')
    op.drop_column('appointments', 'termination_reason')
