"""Access: every operation declares its roles, and the live server honours the declaration for every role,
across tenants and outside the agency subtree. The matrix is generated from the schema, so a new operation
is covered the day it is added."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import get_named_type
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from strawberry import relay

from app import tenants
from app.auth import Role
from app.tenant_config import default_config_dict
from schema.api import build_schema
from schema.permissions import RolePermission
from tests.api.helpers import create_code, create_producer, transition_mutation
from tests.security.operations import Operation, call, codes, operations, rows, touching

SCHEMA = build_schema()
ROOTS = ("Query", "Mutation", "Subscription")
HTTP_OPERATIONS = operations(SCHEMA._schema, "query", "mutation")
SUBSCRIPTIONS = operations(SCHEMA._schema, "subscription")
# a refusal before execution would make an "allowed" check vacuous: the call must have run
NOT_RUN = {"GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", "GRAPHQL_PARSE_FAILED", "INTERNAL_SERVER_ERROR"}


def declared_roles(kind: str, name: str) -> frozenset[Role]:
    """The roles an operation's permission classes admit (empty when it declares none)."""
    definition = SCHEMA.get_type_by_name(kind.capitalize())
    field = next(f for f in definition.fields if SCHEMA.config.name_converter.get_graphql_name(f) == name)
    roles: frozenset[Role] = frozenset()
    for permission in field.permission_classes:
        if isinstance(permission, type) and issubclass(permission, RolePermission):
            roles |= permission.roles
    return roles


def test_every_operation_declares_its_permission():
    undeclared = []
    for root in ROOTS:
        definition = SCHEMA.get_type_by_name(root)
        for field in definition.fields if definition else []:
            name = SCHEMA.config.name_converter.get_graphql_name(field)
            if not declared_roles(root.lower(), name):
                undeclared.append(f"{root}.{name}")
    assert undeclared == [], f"operations without a RolePermission (schema/permissions.py allow(...)): {undeclared}"


def test_the_matrix_covers_every_operation():
    generated = {f"{op.kind}.{op.name}" for op in HTTP_OPERATIONS + SUBSCRIPTIONS}
    live = {f"{root.lower()}.{name}" for root in ROOTS for name in SCHEMA._schema.get_type(root).fields}
    assert generated == live


# ---- the world: tenant A with two agencies, tenant B next door ------------------------------------

@dataclass
class World:
    tenant_a: str
    tenant_b: str
    tokens: dict[Role, str]  # tenant A, acting inside agency X where the role is agency-scoped
    attacker_b: str  # tenant B's admin
    agency_admin_x: str
    target: str  # a producer inside agency X the matrix acts upon
    outside: dict[str, str]  # global ids of agency Y's objects, by kind
    in_tenant_a: dict[str, str]  # global ids of tenant A's objects, by kind


@pytest.fixture(scope="module")
async def world(app: Any, gql: Any) -> World:
    a = await tenants.create_tenant(app.state.sessions, "matrix-a", default_config_dict())
    b = await tenants.create_tenant(app.state.sessions, "matrix-b", default_config_dict())
    admin = gql.token(a.id, "TENANT_ADMIN")
    x = await create_producer(gql, admin, type="Agency", organizationName="X Agency")
    x_agent = await create_producer(gql, admin, parent=x["id"], lastName="Inside")
    target = await create_producer(gql, admin, parent=x["id"], lastName="Target")
    await create_code(gql, admin, target["id"], code="X-TARGET")
    y = await create_producer(gql, admin, type="Agency", organizationName="Y Agency")
    y_agent = await create_producer(gql, admin, parent=y["id"], lastName="Outside")
    y_code = await create_code(gql, admin, y_agent["id"], code="Y-AGENT")
    license = await gql.ok("""mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
        license { id } userErrors { code } } }""", {"input": {
        "type": "StateLicense", "producerId": y_agent["id"], "licenseNumber": "Y-L-1", "jurisdictions": ["CA"],
        "linesOfAuthority": ["Property"]}}, token=admin)
    quote = await gql.ok("""mutation { createQuote(input: {product: "Travel", jurisdiction: "CA",
        effectiveTime: "2026-01-01T00:00:00Z"}) { quote { id } userErrors { code } } }""",
                         token=admin)
    outside = {"agency": y["id"], "producer": y_agent["id"], "code": y_code["id"],
               "license": license["createLicense"]["license"]["id"]}
    return World(
        tenant_a=a.id, tenant_b=b.id,
        tokens={
            Role.TENANT_ADMIN: admin,
            Role.AGENCY_ADMIN: gql.token(a.id, "AGENCY_ADMIN", agency=x["locator"]),
            Role.UNDERWRITER: gql.token(a.id, "UNDERWRITER"),
            Role.PRODUCER: gql.token(a.id, "PRODUCER", agency=x_agent["locator"]),
            Role.READ_ONLY: gql.token(a.id, "READ_ONLY"),
        },
        attacker_b=gql.token(b.id, "TENANT_ADMIN"),
        agency_admin_x=gql.token(a.id, "AGENCY_ADMIN", agency=x["locator"]),
        target=target["id"],
        outside=outside,
        in_tenant_a={**outside, "quote": quote["createQuote"]["quote"]["id"], "inside": x_agent["id"]},
    )


def locators(global_ids: dict[str, str]) -> set[str]:
    return {relay.GlobalID.from_id(g).node_id for g in global_ids.values()}


# ---- every role --------------------------------------------------------------------------------

@pytest.mark.parametrize("operation", HTTP_OPERATIONS, ids=str)
async def test_each_role_is_allowed_or_denied_as_declared(app, http, world, operation: Operation):
    allowed = declared_roles(operation.kind, operation.name)
    denied = [role for role in Role if role not in allowed]
    # denied roles: FORBIDDEN, no data, and nothing in the database changed
    before = await rows(app.state.database_url)
    for role in denied:
        body = await call(http, operation, world.target, world.tokens[role])
        assert "FORBIDDEN" in codes(body), (role, body)
        assert (body.get("data") or {}).get(operation.name) is None, (role, body)
    if denied:
        assert await rows(app.state.database_url) == before, f"{operation} changed data for a denied role"
    # allowed roles: the operation runs (it may still refuse the dummy input with a domain error)
    for role in allowed:
        body = await call(http, operation, world.target, world.tokens[role])
        assert not codes(body) & ({"FORBIDDEN"} | NOT_RUN), (role, body)


# ---- the wrong tenant and outside the agency subtree --------------------------------------------

ID_OPERATIONS = [op for op in HTTP_OPERATIONS if op.has_id_argument]


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=str)
async def test_another_tenants_objects_are_never_returned_or_changed(app, http, world, operation: Operation):
    # given tenant A's objects; when tenant B's admin aims the operation at each of them
    needles = locators(world.in_tenant_a) | {world.tenant_a}
    before = touching(await rows(app.state.database_url), needles)
    for kind, victim in world.in_tenant_a.items():
        body = await call(http, operation, victim, world.attacker_b)
        # then nothing comes back, and nothing of tenant A changed
        assert_nothing_returned(body, operation, kind)
        assert not codes(body) & NOT_RUN, (kind, body)
    assert touching(await rows(app.state.database_url), needles) == before, f"{operation} reached tenant A"


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=str)
async def test_objects_outside_the_agency_subtree_are_never_returned_or_changed(app, http, world,
                                                                                  operation: Operation):
    if Role.AGENCY_ADMIN not in declared_roles(operation.kind, operation.name):
        pytest.skip("agency admins may not call it at all (the role matrix checks the refusal)")
    needles = locators(world.outside)
    before = touching(await rows(app.state.database_url), needles)
    for kind, victim in world.outside.items():
        body = await call(http, operation, victim, world.agency_admin_x)
        assert_nothing_returned(body, operation, kind)
        assert not codes(body) & NOT_RUN, (kind, body)
    assert touching(await rows(app.state.database_url), needles) == before, f"{operation} reached agency Y"


def assert_nothing_returned(body: dict[str, Any], operation: Operation, kind: str) -> None:
    """Queries answer null; mutation payloads hold no object."""
    value = (body.get("data") or {}).get(operation.name)
    if operation.kind == "mutation":
        for name in operation.objects_returned:
            assert (value or {}).get(name) is None, (kind, name, body)
    elif isinstance(value, list):
        assert all(item is None for item in value), (kind, body)
    elif isinstance(value, dict) and value.get("__typename", "").endswith("Connection"):
        pass  # a list narrowed by an id filter: its items are checked by the scoping tests
    else:
        assert value is None, (kind, body)


# ---- subscriptions: the permission holds at subscribe time ---------------------------------------

async def subscribe(app: Any, operation: Operation, id_value: str, token: str) -> dict[str, Any]:
    """The first message after `subscribe`, or `{"type": "subscribed"}` when nothing came in a second."""
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": operation.document(), "variables": operation.variables(id_value)}})
            try:
                return await ws.receive_json(timeout=1)  # type: ignore[no-any-return]
            except TimeoutError:
                return {"type": "subscribed"}
            except WebSocketDisconnect as exc:
                return {"type": "closed", "code": exc.code}


def message_codes(message: dict[str, Any]) -> set[str]:
    payload = message.get("payload")
    errors = payload if isinstance(payload, list) else (payload or {}).get("errors") or []
    return {e.get("extensions", {}).get("code") for e in errors}


@pytest.mark.parametrize("operation", SUBSCRIPTIONS, ids=str)
async def test_each_role_may_subscribe_or_not_as_declared(app, world, operation: Operation):
    allowed = declared_roles(operation.kind, operation.name)
    for role in Role:
        message = await subscribe(app, operation, world.target, world.tokens[role])
        if role in allowed:
            assert "FORBIDDEN" not in message_codes(message), (role, message)
            assert message["type"] != "closed", (role, message)
        else:
            assert message["type"] in ("error", "next"), (role, message)
            assert "FORBIDDEN" in message_codes(message), (role, message)


# ---- the caller's own agency: no lifecycle or parent change by an agency-scoped caller -------------

LIFECYCLE = [op for op in HTTP_OPERATIONS
             if re.fullmatch(r"(validate|suspend|unsuspend|retire|discard)(Producer|ProducerCode)", op.name)]
# every mutation that can move a producer or a producer code, with the input that moves the own agency's
PARENT_CHANGES: dict[str, tuple[str, str]] = {
    "updateProducer": ("agency", '{parentId: null}'),
    "replaceProducer": ("agency", '{type: "Agency", organizationName: "Own Agency"}'),
    "updateProducerCode": ("code", '{producerId: "%(agent)s"}'),
    "replaceProducerCode": ("code", '{type: "AgencyCode", producerId: "%(agent)s", code: "OWN-1"}'),
}


@dataclass
class OwnAgency:
    admin: str  # TENANT_ADMIN
    token: str  # AGENCY_ADMIN of `agency`
    top: str  # the agency above it
    agency: str
    code: str  # a validated code of the agency
    agent: str  # a producer inside it


@pytest.fixture(scope="module")
async def own(app: Any, gql: Any) -> OwnAgency:
    tenant = await tenants.create_tenant(app.state.sessions, "matrix-own", default_config_dict())
    admin = gql.token(tenant.id, "TENANT_ADMIN")
    top = await create_producer(gql, admin, type="Agency", organizationName="Top Agency")
    agency = await create_producer(gql, admin, type="Agency", parent=top["id"], organizationName="Own Agency")
    agent = await create_producer(gql, admin, parent=agency["id"], lastName="Inside")
    code = await create_code(gql, admin, agency["id"], type="AgencyCode", code="OWN-0")
    for action, subject, target in (("validate", "Producer", top), ("validate", "Producer", agency),
                                    ("validate", "ProducerCode", code)):
        await gql.ok(transition_mutation(action, subject), {"id": target["id"]}, token=admin)
    return OwnAgency(admin, gql.token(tenant.id, "AGENCY_ADMIN", agency=agency["locator"]), top["id"],
                     agency["id"], code["id"], agent["id"])


async def own_states(gql: Any, own: OwnAgency) -> tuple[Any, ...]:
    data = await gql.ok("""query($a: ID!, $t: ID!, $c: ID!) { a: producer(id: $a) { state parent { id } }
        t: producer(id: $t) { state } c: producerCode(id: $c) { state producer { id } } }""",
                        {"a": own.agency, "t": own.top, "c": own.code}, token=own.admin)
    return data["a"], data["t"], data["c"]


def test_the_own_agency_checks_cover_every_lifecycle_and_move_mutation():
    names = {op.name for op in HTTP_OPERATIONS}
    assert len(LIFECYCLE) == 10
    movers = {op.name for op in HTTP_OPERATIONS if op.kind == "mutation" and not op.name.startswith("create")
              and any(n in ("parentId", "producerId") for n in _input_fields(op))}
    assert movers <= set(PARENT_CHANGES) and set(PARENT_CHANGES) <= names


def _input_fields(op: Operation) -> set[str]:
    fields: set[str] = set()
    for arg in op.field.args.values():
        named = get_named_type(arg.type)
        fields |= set(getattr(named, "fields", {}) or {})
    return fields


@pytest.mark.parametrize("operation", LIFECYCLE, ids=str)
async def test_an_agency_admin_cannot_change_the_lifecycle_of_its_own_agency_or_above(gql, own, operation):
    # given the own agency, its validated code and the agency above it
    before = await own_states(gql, own)
    subject = "producerCode" if operation.name.endswith("Code") else "producer"
    target = own.code if subject == "producerCode" else own.agency
    mutation = f"mutation($id: ID!) {{ {operation.name}(id: $id) {{ {subject} {{ id }} userErrors {{ code }} }} }}"

    # when its agency admin acts on the own agency (or its code), then on the agency above
    mine = (await gql.ok(mutation, {"id": target}, token=own.token))[operation.name]
    above = (await gql.ok(mutation, {"id": own.top}, token=own.token))[operation.name] \
        if subject == "producer" else {"userErrors": [{"code": "PRODUCER_NOT_FOUND"}]}

    # then: NOT_ALLOWED for its own, not found above, and nothing changed
    assert [e["code"] for e in mine["userErrors"]] == ["NOT_ALLOWED"], mine
    assert [e["code"] for e in above["userErrors"]] == ["PRODUCER_NOT_FOUND"], above
    assert await own_states(gql, own) == before


@pytest.mark.parametrize("name", sorted(PARENT_CHANGES))
async def test_an_agency_admin_cannot_move_its_own_agency_or_its_codes(gql, own, name):
    before = await own_states(gql, own)
    kind, value = PARENT_CHANGES[name]
    target = own.agency if kind == "agency" else own.code
    field = "producer" if kind == "agency" else "producerCode"
    mutation = (f'mutation($id: ID!) {{ {name}(id: $id, input: {value % {"agent": own.agent}}) '
                f'{{ {field} {{ id }} userErrors {{ code }} }} }}')

    result = (await gql.ok(mutation, {"id": target}, token=own.token))[name]

    assert [e["code"] for e in result["userErrors"]] == ["NOT_ALLOWED"], result
    assert await own_states(gql, own) == before


async def test_an_agency_admin_cannot_remove_its_own_agency_or_above(gql, own):
    data = await gql.ok("""mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result } } }""",
                        {"ids": [own.agency, own.top]}, token=own.token)

    assert [r["result"] for r in data["removeProducers"]["results"]] == ["NOT_ALLOWED", "NOT_FOUND"]
