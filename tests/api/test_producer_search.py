"""Free-text search finds producers by what they hold: codes, licenses and appointments (numbers and searchable
data), and producerCodes(filter: {search}) lists codes, scoped as producerCode is."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.tenant_config import default_config_dict
from tests.api.helpers import create_producer
from tests.api.test_quotes_underwriting import CREATE_LICENSE

SEARCH = """query($search: String!) { producers(first: 50, filter: {search: $search}) { totalCount nodes { name } } }"""
CODES = """query($filter: ProducerCodeFilterInput) { producerCodes(first: 50, filter: $filter) {
  totalCount nodes { code state producer { name } } } }"""
CREATE_CODE = """mutation($input: CreateProducerCodeInput!) { createProducerCode(input: $input) {
  producerCode { id } userErrors { code } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id } userErrors { code } } }"""


def searchable_config() -> dict[str, Any]:
    """The default configuration, with a searchable license field and appointments searchable by default."""
    config = copy.deepcopy(default_config_dict())
    config["producerManagement"]["producerLicenses"]["StateLicense"]["data"]["issuedBy"] = {
        "type": "string", "searchable": True}
    config["producerManagement"]["producerLicenses"]["StateLicense"]["data"]["internalRef"] = {"type": "string"}
    config["producerManagement"]["producerAppointments"]["CarrierAppointment"]["defaultSearchable"] = True
    return config


@pytest.fixture(scope="module")
async def world(app: Any, gql: Any) -> dict[str, Any]:
    from app import tenants

    tenant = await tenants.create_tenant(app.state.sessions, "search", searchable_config())
    admin = gql.token(tenant.id, "TENANT_ADMIN")
    north = await create_producer(gql, admin, type="Agency", organizationName="North Agency")
    south = await create_producer(gql, admin, type="Agency", organizationName="South Agency")
    ana = await create_producer(gql, admin, parent=north["id"], firstName="Ana", lastName="Rivera")
    bo = await create_producer(gql, admin, parent=south["id"], firstName="Bo", lastName="Li")
    for producer, code, notes in ((ana, "NW-7731", "Harbor branch"), (bo, "SW-4410", "Desert branch"),
                                  (north, "NA-0001", None)):
        data = {"notes": notes} if notes else {}
        created = await gql.ok(CREATE_CODE, {"input": {"type": "AgentCode", "producerId": producer["id"], "code": code,
                                                       "data": data}}, token=admin)
        assert created["createProducerCode"]["userErrors"] == []
    licensed = await gql.ok(CREATE_LICENSE, {"input": {
        "type": "StateLicense", "producerId": ana["id"], "licenseNumber": "0H55120", "jurisdictions": ["CA"],
        "data": {"issuedBy": "Sacramento Office", "internalRef": "zebra"}}}, token=admin)
    assert licensed["createLicense"]["userErrors"] == []
    appointed = await gql.ok(CREATE_APPOINTMENT, {"input": {
        "type": "CarrierAppointment", "producerId": bo["id"], "appointmentNumber": "APT-9081",
        "data": {"carrierName": "Granite Mutual"}}}, token=admin)
    assert appointed["createAppointment"]["userErrors"] == []
    return {"admin": admin, "north": north, "ana": ana, "bo": bo,
            "reader": gql.token(tenant.id, "READ_ONLY", agency=north["locator"]),
            "producer": gql.token(tenant.id, "PRODUCER", agency=bo["locator"])}


async def names(gql: Any, token: str, search: str) -> list[str]:
    data = await gql.ok(SEARCH, {"search": search}, token=token)
    return sorted(n["name"] for n in data["producers"]["nodes"])


@pytest.mark.parametrize(("search", "found"), [
    ("nw-7731", ["Ana Rivera"]),  # a code value, any case
    ("4410", ["Bo Li"]),  # part of a code value
    ("harbor", ["Ana Rivera"]),  # a code's searchable data (notes)
    ("0h55120", ["Ana Rivera"]),  # a license number
    ("sacramento", ["Ana Rivera"]),  # a license's field marked searchable
    ("apt-9081", ["Bo Li"]),  # an appointment number
    ("granite", ["Bo Li"]),  # appointment data under defaultSearchable
    ("rivera harbor", ["Ana Rivera"]),  # every word must match, each anywhere
    ("rivera desert", []),
    ("zebra", []),  # a license field not marked searchable
])
async def test_producers_are_found_by_what_they_hold(gql, world, search, found):
    assert await names(gql, world["admin"], search) == found


async def test_search_by_held_objects_stays_inside_the_callers_scope(gql, world):
    assert await names(gql, world["reader"], "4410") == []  # Bo is outside the reader's agency
    assert await names(gql, world["reader"], "harbor") == ["Ana Rivera"]


async def test_producer_codes_are_listed_and_searched_by_value_and_searchable_data(gql, world):
    everything = (await gql.ok(CODES, {}, token=world["admin"]))["producerCodes"]
    by_value = (await gql.ok(CODES, {"filter": {"search": "sw-44"}}, token=world["admin"]))["producerCodes"]
    by_data = (await gql.ok(CODES, {"filter": {"search": "branch"}}, token=world["admin"]))["producerCodes"]
    of_ana = (await gql.ok(CODES, {"filter": {"producerId": world["ana"]["id"], "states": ["DRAFT"]}},
                           token=world["admin"]))["producerCodes"]

    assert everything["totalCount"] == 3
    assert [c["code"] for c in by_value["nodes"]] == ["SW-4410"]
    assert sorted(c["code"] for c in by_data["nodes"]) == ["NW-7731", "SW-4410"]
    assert [c["code"] for c in of_ana["nodes"]] == ["NW-7731"]


async def test_producer_codes_are_scoped_like_producer_code(gql, world):
    reader = (await gql.ok(CODES, {}, token=world["reader"]))["producerCodes"]
    producer = (await gql.ok(CODES, {}, token=world["producer"]))["producerCodes"]
    outside = (await gql.ok(CODES, {"filter": {"producerId": world["bo"]["id"]}}, token=world["reader"]))

    assert sorted(c["code"] for c in reader["nodes"]) == ["NA-0001", "NW-7731"]
    assert [c["code"] for c in producer["nodes"]] == ["SW-4410"]
    assert outside["producerCodes"]["totalCount"] == 0
