"""Webhooks follow an audit event renamed in its own transaction.

The registry sync lets the statement triggers write a license change as `updated` or `discarded`, then renames the
event after its kind (`renewed`, `lapsed`...) in the same transaction (persistence.audit.name_events). The outbox
row written at insert time carries the first name, and was matched against the endpoints' subscriptions by it; this
trigger replaces the outbox rows of a renamed event by those its new name matches, still in the same transaction.
"""

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

RENAMED_FUNCTION = r"""
CREATE FUNCTION webhook_outbox_from_renamed_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
        RETURN NULL;
    END IF;
    DELETE FROM webhook_outbox o
    USING new_events e JOIN old_events p ON p.id = e.id
    WHERE o.audit_event_id = e.id AND o.status = 'PENDING' AND o.attempts = 0 AND p.event IS DISTINCT FROM e.event;
    INSERT INTO webhook_outbox (tenant_id, endpoint_id, event_type, audit_event_id, occurred_at)
    SELECT e.tenant_id, w.id, webhook_event_name(e.entity, e.event), e.id, e.at
    FROM new_events e
    JOIN old_events p ON p.id = e.id AND p.event IS DISTINCT FROM e.event
    JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.enabled
    WHERE webhook_subscribed(w.events, webhook_event_name(e.entity, e.event))
    ORDER BY e.id, w.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(RENAMED_FUNCTION)
    op.execute("CREATE TRIGGER audit_events_webhook_outbox_renamed AFTER UPDATE ON audit_events "
               "REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_from_renamed_audit()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_webhook_outbox_renamed ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS webhook_outbox_from_renamed_audit()")
