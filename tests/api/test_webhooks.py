"""Webhook endpoints through the API: tenant admins register, list, disable, enable and rotate them; bad input is
a typed user error; endpoints are scoped per tenant."""

from __future__ import annotations

from standardwebhooks import Webhook

from tests.api.webhook_helpers import CREATE_ENDPOINT, create_endpoint

ENDPOINTS = """query { webhookEndpoints(first: 50) { totalCount nodes { id url events enabled disabledReason } } }"""
SET = """mutation($id: ID!) {{ {name}(id: $id) {{ endpoint {{ id enabled disabledReason failuresInARow }}
  {extra} userErrors {{ field code message }} }} }}"""


def _mutation(name: str) -> str:
    return SET.format(name=name, extra="secret" if name == "rotateWebhookSecret" else "")


async def test_a_tenant_admin_registers_an_endpoint_and_sees_its_secret_once(gql, new_tenant):
    tenant = await new_tenant()
    endpoint = await create_endpoint(gql, tenant.admin, "https://hooks.example.com/producer-graph",
                                     ["producer.*", "bulkJob.completed", "producer.*"], "CRM sync")
    assert endpoint["secret"].startswith("whsec_")
    Webhook(endpoint["secret"])  # the library reads it as a secret
    assert endpoint["events"] == ["producer.*", "bulkJob.completed"] and endpoint["enabled"] is True
    assert endpoint["description"] == "CRM sync"
    listed = (await gql.ok(ENDPOINTS, token=tenant.admin))["webhookEndpoints"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["id"] == endpoint["id"]
    assert "secret" not in listed["nodes"][0]


async def test_an_endpoint_on_loopback_is_accepted_outside_production(gql, new_tenant):
    tenant = await new_tenant()
    endpoint = await create_endpoint(gql, tenant.admin, "http://127.0.0.1:9/hooks")
    assert endpoint["url"] == "http://127.0.0.1:9/hooks"


async def test_only_tenant_admins_manage_webhooks(gql, new_tenant):
    tenant = await new_tenant()
    for role in ("AGENCY_ADMIN", "UNDERWRITER", "READ_ONLY", "PRODUCER"):
        token = gql.token(tenant.id, role, agency="01ARZ3NDEKTSV4RRFFQ69G5FAV")
        created = await gql(CREATE_ENDPOINT, {"url": "https://hooks.example.com/", "events": ["*"]}, token=token)
        listed = await gql(ENDPOINTS, token=token)
        assert created["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, created)
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, listed)


async def test_another_tenants_endpoint_is_not_found_and_not_listed(gql, new_tenant):
    owner, other = await new_tenant(), await new_tenant()
    endpoint = await create_endpoint(gql, owner.admin, "https://hooks.example.com/a")
    for name in ("disableWebhookEndpoint", "enableWebhookEndpoint", "rotateWebhookSecret"):
        result = (await gql.ok(_mutation(name), {"id": endpoint["id"]}, token=other.admin))[name]
        assert result["endpoint"] is None
        assert [e["code"] for e in result["userErrors"]] == ["WEBHOOK_ENDPOINT_NOT_FOUND"]
    assert (await gql.ok(ENDPOINTS, token=other.admin))["webhookEndpoints"]["totalCount"] == 0


async def test_a_url_that_is_not_http_or_an_unknown_event_type_is_a_user_error(gql, new_tenant):
    tenant = await new_tenant()
    cases = [("ftp://hooks.example.com/", ["*"], "WEBHOOK_URL_INVALID", "url"),
             ("file:///etc/passwd", ["*"], "WEBHOOK_URL_INVALID", "url"),
             ("not a url", ["*"], "WEBHOOK_URL_INVALID", "url"),
             ("https://user:pw@hooks.example.com/", ["*"], "WEBHOOK_URL_INVALID", "url"),
             ("https://hooks.example.com/", ["invoice.paid"], "WEBHOOK_EVENTS_INVALID", "events.0"),
             ("https://hooks.example.com/", ["producer.validated", "producer"], "WEBHOOK_EVENTS_INVALID", "events.1"),
             ("https://hooks.example.com/", [], "WEBHOOK_EVENTS_REQUIRED", "events")]
    for url, events, code, field in cases:
        body = await gql.ok(CREATE_ENDPOINT, {"url": url, "events": events}, token=tenant.admin)
        result = body["createWebhookEndpoint"]
        assert result["endpoint"] is None and result["secret"] is None, url
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field.split("."))], (url, events)
    assert (await gql.ok(ENDPOINTS, token=tenant.admin))["webhookEndpoints"]["totalCount"] == 0


async def test_disabling_enabling_and_rotating_the_secret_of_an_endpoint(gql, new_tenant):
    tenant = await new_tenant()
    endpoint = await create_endpoint(gql, tenant.admin, "https://hooks.example.com/b")
    disabled = (await gql.ok(_mutation("disableWebhookEndpoint"), {"id": endpoint["id"]},
                             token=tenant.admin))["disableWebhookEndpoint"]
    assert disabled["endpoint"]["enabled"] is False and disabled["endpoint"]["disabledReason"]
    enabled = (await gql.ok(_mutation("enableWebhookEndpoint"), {"id": endpoint["id"]},
                            token=tenant.admin))["enableWebhookEndpoint"]
    assert enabled["endpoint"]["enabled"] is True and enabled["endpoint"]["disabledReason"] is None
    rotated = (await gql.ok(_mutation("rotateWebhookSecret"), {"id": endpoint["id"]},
                            token=tenant.admin))["rotateWebhookSecret"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]


async def test_the_event_types_name_every_family_and_application_event(gql, new_tenant):
    tenant = await new_tenant()
    data = await gql.ok("{ webhookEventTypes { name description } }", token=tenant.admin)
    names = {item["name"] for item in data["webhookEventTypes"]}
    assert {"producer.*", "license.*", "bulkJob.completed", "complianceAlert.raised", "registry.imported"} <= names
    assert all(item["description"] for item in data["webhookEventTypes"])
