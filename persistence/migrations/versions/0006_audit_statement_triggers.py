"""audit events written per statement: transition tables instead of one trigger call per changed row

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

AUDITED = {"producers": "producer", "producer_codes": "producer_code", "licenses": "license",
           "appointments": "appointment"}

# The same events as 0005's row trigger (one audit row per changed row, the SSN ciphertext, hash and search
# text left out, updates that only move the version stamp skipped, the event named from the state change),
# written by one INSERT ... SELECT over the statement's transition tables, and one pg_notify per tenant per
# statement instead of one per row (PostgreSQL folds identical notifications of a transaction anyway).
# PostgreSQL allows transition tables only on single-event triggers: one function and trigger per event.
INSERTED_FUNCTION = r"""
CREATE FUNCTION audit_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant text;
BEGIN
    WITH d AS MATERIALIZED (  -- each row's document built once, not once per reference below
        SELECT to_jsonb(n) - ARRAY['ssn_ciphertext', 'ssn_hash', 'search_text'] AS doc FROM new_rows n
    )
    INSERT INTO audit_events (tenant_id, entity, entity_id, producer_id, event, actor, request_id, before, after)
    SELECT d.doc ->> 'tenant_id', TG_ARGV[0], d.doc ->> 'id',
           CASE WHEN TG_ARGV[0] = 'producer' THEN d.doc ->> 'id' ELSE d.doc ->> 'producer_id' END,
           'created',
           coalesce(nullif(current_setting('app.actor', true), ''), d.doc ->> 'updated_by'),
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
CREATE FUNCTION audit_updated() RETURNS trigger LANGUAGE plpgsql AS $$
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
                   CASE WHEN TG_ARGV[0] = 'producer' THEN c.after_doc ->> 'id'
                        ELSE c.after_doc ->> 'producer_id' END,
                   CASE
                       WHEN c.after_doc -> 'state' IS NOT DISTINCT FROM c.before_doc -> 'state' THEN 'updated'
                       WHEN c.after_doc ->> 'state' = 'validated' AND c.before_doc ->> 'state' = 'suspended'
                           THEN 'unsuspended'
                       WHEN c.after_doc ->> 'state' IN ('validated', 'suspended', 'retired', 'discarded')
                           THEN c.after_doc ->> 'state'
                       ELSE 'updated' END,
                   coalesce(nullif(current_setting('app.actor', true), ''), c.after_doc ->> 'updated_by'),
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
    for table in AUDITED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit ON {table}")
    op.execute("DROP FUNCTION IF EXISTS audit_change()")
    op.execute(INSERTED_FUNCTION)
    op.execute(UPDATED_FUNCTION)
    for table, entity in AUDITED.items():
        op.execute(f"CREATE TRIGGER {table}_audit_insert AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_inserted('{entity}')")
        op.execute(f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION audit_updated('{entity}')")


def downgrade() -> None:
    from importlib import import_module

    for table in AUDITED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_insert ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_update ON {table}")
    op.execute("DROP FUNCTION IF EXISTS audit_inserted()")
    op.execute("DROP FUNCTION IF EXISTS audit_updated()")
    previous = import_module("persistence.migrations.versions.0005_audit_events")
    op.execute(previous.AUDIT_FUNCTION)
    for table, entity in AUDITED.items():
        op.execute(f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION audit_change('{entity}')")
