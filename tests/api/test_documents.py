"""Documents in media data fields: attach, replace, versions, removal, downloads, refusals, scoping, validation."""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.tenant_config import default_config_dict
from tests.api.document_helpers import DOCUMENT, REMOVE, attach, post_attach, stored_counts, tiny_pdf
from tests.api.helpers import create_producer, transition_mutation
from tests.api.registry_helpers import agency
from tests.api.test_quotes_underwriting import CREATE_LICENSE, VALIDATE_LICENSE
from tests.conftest import settings_for_test

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
DATA = "query($id: ID!) { producer(id: $id) { data } }"
REPLACE_PRODUCER = """mutation($id: ID!, $input: CreateProducerInput!) { replaceProducer(id: $id, input: $input) {
  producer { data } userErrors { field code message } } }"""
UPDATE_PRODUCER = """mutation($id: ID!, $input: UpdateProducerInput!) { updateProducer(id: $id, input: $input) {
  producer { data } userErrors { field code message } } }"""
UPDATE_LICENSE = """mutation($id: ID!, $input: UpdateLicenseInput!) { updateLicense(id: $id, input: $input) {
  license { data } userErrors { field code message } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id } userErrors { field code message } } }"""
AUDIT = """query($id: ID) { auditEvents(first: 50, entityId: $id, entity: [DOCUMENT]) {
  nodes { name event entityId producerId actor after } } }"""


def _agent_with(**fields: Any) -> dict[str, Any]:
    config = default_config_dict()
    config["producerManagement"]["producers"]["Agent"]["data"].update(fields)
    return config


@pytest.fixture
async def tenant(new_tenant):
    return await new_tenant()


@pytest.fixture
async def agent(gql, tenant):
    return await create_producer(gql, tenant.admin)


async def test_an_attached_eo_certificate_is_the_document_node_in_the_agents_data(gql, http, tenant, agent):
    pdf = tiny_pdf()
    result = await attach(http, tenant.admin, agent["id"], pdf, filename="E&O 2026.pdf")
    document = result["document"]
    assert result["userErrors"] == []
    assert (document["fileName"], document["contentType"], document["size"], document["version"]) == (
        "E&O 2026.pdf", "application/pdf", len(pdf), 1)
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert document["entityId"] == agent["id"] and document["uploadedBy"] == "tester" and document["current"]
    data = (await gql.ok(DATA, {"id": agent["id"]}, token=tenant.admin))["producer"]["data"]
    shown = data["eoCertificate"]
    assert (shown["__typename"], shown["id"], shown["sha256"]) == ("Document", document["id"], document["sha256"])
    assert "url" not in shown and "storage" not in str(shown)


async def test_replacing_a_document_keeps_the_earlier_version(gql, http, tenant, agent):
    first = (await attach(http, tenant.admin, agent["id"], tiny_pdf("first")))["document"]
    second = (await attach(http, tenant.admin, agent["id"], tiny_pdf("second")))["document"]
    assert second["version"] == 2
    assert [v["id"] for v in second["versions"]] == [first["id"]]
    earlier = (await gql.ok(DOCUMENT, {"id": first["id"]}, token=tenant.admin))["node"]
    assert earlier["current"] is False and earlier["url"] is not None
    data = (await gql.ok(DATA, {"id": agent["id"]}, token=tenant.admin))["producer"]["data"]
    assert data["eoCertificate"]["id"] == second["id"]


async def test_a_list_field_adds_documents_and_replaces_the_one_named(gql, http, new_tenant):
    tenant = await new_tenant(_agent_with(agreements={"type": "media", "list": True,
                                                      "contentTypes": ["application/pdf", "image/png"]}))
    agent = await create_producer(gql, tenant.admin)
    one = (await attach(http, tenant.admin, agent["id"], field="agreements"))["document"]
    two = (await attach(http, tenant.admin, agent["id"], PNG, field="agreements", filename="scan.png",
                        content_type="image/png"))["document"]
    newer = (await attach(http, tenant.admin, agent["id"], field="agreements", replaces=one["id"]))["document"]
    data = (await gql.ok(DATA, {"id": agent["id"]}, token=tenant.admin))["producer"]["data"]
    assert [d["id"] for d in data["agreements"]] == [two["id"], newer["id"]]
    assert two["contentType"] == "image/png" and newer["version"] == 2


async def test_download_with_the_bearer_token_streams_the_file_with_its_name_and_sniffed_type(http, tenant, agent):
    pdf = tiny_pdf()
    document = (await attach(http, tenant.admin, agent["id"], pdf, filename="Zertifikat für E&O.pdf",
                             content_type="application/octet-stream"))["document"]
    response = await http.get(f"/documents/{document['locator']}", headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.status_code == 200
    assert response.content == pdf
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Zertifikat f_r E&O.pdf\"; filename*=UTF-8''Zertifikat%20f%C3%BCr%20E%26O.pdf")


async def test_a_signed_url_downloads_without_a_token(http, tenant, agent):
    pdf = tiny_pdf()
    document = (await attach(http, tenant.admin, agent["id"], pdf))["document"]
    response = await http.get(document["url"])
    assert response.status_code == 200 and response.content == pdf


async def test_a_signed_url_is_refused_after_it_expires_or_when_altered(http, tenant, agent, gql):
    document = (await attach(http, tenant.admin, agent["id"]))["document"]
    parts = urlsplit(document["url"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert 0 < int(query["expires"]) - time.time() <= 300
    expired = f"{parts.path}?expires={int(time.time()) - 1}&signature={query['signature']}"
    longer = f"{parts.path}?expires={int(query['expires']) + 3600}&signature={query['signature']}"
    other = (await attach(http, tenant.admin, (await create_producer(gql, tenant.admin))["id"]))["document"]
    elsewhere = f"/documents/{other['locator']}?{parts.query}"
    for url in (expired, longer, elsewhere):
        response = await http.get(url)
        assert response.status_code == 404, url
        assert response.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_FOUND"


async def test_a_document_of_another_tenant_or_agency_is_not_found(gql, http, new_tenant):
    tenant, stranger = await new_tenant(), await new_tenant()
    east, west = await agency(gql, tenant.admin), await agency(gql, tenant.admin)
    agent = await create_producer(gql, tenant.admin, parent=east["id"])
    document = (await attach(http, tenant.admin, agent["id"]))["document"]
    outsiders = [stranger.admin, gql.token(tenant.id, "AGENCY_ADMIN", agency=west["locator"])]
    for token in outsiders:
        response = await http.get(f"/documents/{document['locator']}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404
        assert (await gql.ok(DOCUMENT, {"id": document["id"]}, token=token))["node"] is None
    insider = gql.token(tenant.id, "AGENCY_ADMIN", agency=east["locator"])
    response = await http.get(f"/documents/{document['locator']}", headers={"Authorization": f"Bearer {insider}"})
    assert response.status_code == 200


async def test_the_admin_of_a_removed_agency_can_download_nothing_more(gql, http, tenant):
    east = await agency(gql, tenant.admin)
    agent = await create_producer(gql, tenant.admin, parent=east["id"])
    document = (await attach(http, tenant.admin, agent["id"]))["document"]
    east_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=east["locator"])
    removed = await gql.ok("mutation($ids: [ID!]!) { removeProducers(ids: $ids) { userErrors { code } } }",
                           {"ids": [east["id"]]}, token=tenant.admin)
    assert removed["removeProducers"]["userErrors"] == []
    response = await http.get(f"/documents/{document['locator']}", headers={"Authorization": f"Bearer {east_admin}"})
    assert response.status_code == 401


async def test_a_stored_document_is_split_into_chunks_and_read_back_whole(app, http, tenant, agent):
    pdf = tiny_pdf() + b"%" * 1_000_000
    document = (await attach(http, tenant.admin, agent["id"], pdf))["document"]
    assert await stored_counts(app, tenant.id) == (1, 4)  # 256 KB chunks
    response = await http.get(f"/documents/{document['locator']}", headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.content == pdf and response.headers["content-length"] == str(len(pdf))


async def test_a_download_without_token_or_signature_is_unauthorized(http, tenant, agent):
    document = (await attach(http, tenant.admin, agent["id"]))["document"]
    response = await http.get(f"/documents/{document['locator']}")
    assert response.status_code == 401


@pytest.mark.parametrize(("content", "filename", "content_type", "code"), [
    (b"%!PS-Adobe-3.0 not a pdf at all", "eo.pdf", "application/pdf", "DOCUMENT_NOT_A_PDF"),
    (PNG, "eo.png", "image/png", "DOCUMENT_TYPE_NOT_ALLOWED"),
    (b"", "eo.pdf", "application/pdf", "DOCUMENT_EMPTY"),
    (tiny_pdf() + b"%" + b"x" * 2048, "eo.pdf", "application/pdf", "DOCUMENT_TOO_LARGE"),
])
async def test_a_refused_file_has_its_own_code_and_nothing_is_stored(app, gql, http, new_tenant, content, filename,
                                                                      content_type, code):
    tenant = await new_tenant(_agent_with(eoCertificate={"type": "media", "contentTypes": ["application/pdf"],
                                                         "maxBytes": 2048}))
    agent = await create_producer(gql, tenant.admin)
    result = await attach(http, tenant.admin, agent["id"], content, filename=filename, content_type=content_type)
    assert result["document"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, ["file"])]
    assert await stored_counts(app, tenant.id) == (0, 0)
    data = (await gql.ok(DATA, {"id": agent["id"]}, token=tenant.admin))["producer"]["data"]
    assert "eoCertificate" not in data


async def test_a_file_over_max_bytes_spanning_several_chunks_leaves_no_chunk_behind(app, gql, http, new_tenant):
    tenant = await new_tenant(_agent_with(eoCertificate={"type": "media", "maxBytes": 600_000}))
    agent = await create_producer(gql, tenant.admin)
    result = await attach(http, tenant.admin, agent["id"], tiny_pdf() + b"%" * 700_000)
    assert [e["code"] for e in result["userErrors"]] == ["DOCUMENT_TOO_LARGE"]
    assert await stored_counts(app, tenant.id) == (0, 0)


async def test_an_unknown_field_or_entity_is_refused(gql, http, tenant, agent):
    unknown_field = await attach(http, tenant.admin, agent["id"], field="yearsOfExperience")
    unknown_entity = await attach(http, tenant.admin, agent["locator"])
    assert [e["code"] for e in unknown_field["userErrors"]] == ["DOCUMENT_FIELD_UNKNOWN"]
    assert "eoCertificate" in unknown_field["userErrors"][0]["message"]
    assert [e["code"] for e in unknown_entity["userErrors"]] == ["DOCUMENT_ENTITY_NOT_FOUND"]


async def test_a_multipart_attach_without_a_preflight_header_is_refused(http, tenant, agent):
    response = await post_attach(http, tenant.admin, agent["id"], tiny_pdf(), preflight=False)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_a_read_only_caller_cannot_attach(gql, http, tenant, agent):
    response = await post_attach(http, gql.token(tenant.id, "READ_ONLY"), agent["id"], tiny_pdf())
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_required_media_is_enforced_when_the_producer_is_validated(gql, http, new_tenant):
    tenant = await new_tenant(_agent_with(eoCertificate={"type": "media", "required": True}))
    agent = await create_producer(gql, tenant.admin)
    refused = (await gql.ok(transition_mutation("validate"), {"id": agent["id"]}, token=tenant.admin))
    items = refused["validateProducer"]["producer"]["validationResult"]["items"]
    assert [i["code"] for i in items] == ["MISSING_REQUIRED_DATA"]
    assert refused["validateProducer"]["producer"]["state"] == "DRAFT"
    await attach(http, tenant.admin, agent["id"])
    validated = await gql.ok(transition_mutation("validate"), {"id": agent["id"]}, token=tenant.admin)
    assert validated["validateProducer"]["producer"]["state"] == "VALIDATED"


async def test_documents_cannot_be_set_through_data_and_survive_a_replace(gql, http, tenant, agent):
    document = (await attach(http, tenant.admin, agent["id"]))["document"]
    forged = await gql.ok(UPDATE_PRODUCER, {"id": agent["id"], "input": {"setData": {
        "eoCertificate": {"__typename": "Document", "id": "forged"}}}}, token=tenant.admin)
    assert [e["code"] for e in forged["updateProducer"]["userErrors"]] == ["DOCUMENT_ATTACH_ONLY"]
    replaced = await gql.ok(REPLACE_PRODUCER, {"id": agent["id"], "input": {"type": "Agent", "lastName": "Rivera", "data": {}}},
                            token=tenant.admin)
    assert replaced["replaceProducer"]["userErrors"] == []
    assert replaced["replaceProducer"]["producer"]["data"]["eoCertificate"]["id"] == document["id"]


async def test_a_removed_document_is_detached_kept_and_no_longer_downloadable(gql, http, tenant, agent):
    first = (await attach(http, tenant.admin, agent["id"]))["document"]
    second = (await attach(http, tenant.admin, agent["id"]))["document"]
    removed = (await gql.ok(REMOVE, {"id": second["id"]}, token=tenant.admin))["removeDocument"]
    assert removed["userErrors"] == [] and removed["document"]["removedAt"] is not None
    assert removed["document"]["url"] is None
    data = (await gql.ok(DATA, {"id": agent["id"]}, token=tenant.admin))["producer"]["data"]
    assert "eoCertificate" not in data
    auth = {"Authorization": f"Bearer {tenant.admin}"}
    for locator in (first["locator"], second["locator"]):
        assert (await http.get(f"/documents/{locator}", headers=auth)).status_code == 404
    assert (await http.get(second["url"])).status_code == 404
    again = (await gql.ok(REMOVE, {"id": second["id"]}, token=tenant.admin))["removeDocument"]
    assert [e["code"] for e in again["userErrors"]] == ["DOCUMENT_NOT_FOUND"]


async def test_attach_replace_and_remove_are_in_the_audit_log(gql, http, tenant, agent):
    first = (await attach(http, tenant.admin, agent["id"]))["document"]
    second = (await attach(http, tenant.admin, agent["id"]))["document"]
    await gql.ok(REMOVE, {"id": second["id"]}, token=tenant.admin)
    events = (await gql.ok(AUDIT, {}, token=tenant.admin))["auditEvents"]["nodes"]
    assert [(e["name"], e["entityId"]) for e in events] == [
        ("document.attached", first["id"]), ("document.replaced", second["id"]), ("document.removed", second["id"])]
    assert {e["producerId"] for e in events} == {agent["id"]}
    assert events[0]["after"]["fileName"] == "eo-certificate.pdf" and events[0]["actor"] == "tester"


async def test_documents_attach_to_codes_and_appointments_too(gql, http, new_tenant):
    config = default_config_dict()
    pm = config["producerManagement"]
    pm["producerCodes"]["AgentCode"]["data"] = {"agreement": {"type": "media"}}
    pm["producerAppointments"]["CarrierAppointment"]["data"]["letter"] = {"type": "media"}
    tenant = await new_tenant(config)
    agent = await create_producer(gql, tenant.admin)
    from tests.api.helpers import create_code

    code = await create_code(gql, tenant.admin, agent["id"])
    on_code = await attach(http, tenant.admin, code["id"], field="agreement")
    assert on_code["userErrors"] == [] and on_code["document"]["entityId"] == code["id"]
    read = await gql.ok("query($id: ID!) { node(id: $id) { ... on ProducerCode { data } } }", {"id": code["id"]},
                        token=tenant.admin)
    assert read["node"]["data"]["agreement"]["id"] == on_code["document"]["id"]
    appointment = await gql.ok(CREATE_APPOINTMENT, {"input": {
        "type": "CarrierAppointment", "producerId": agent["id"], "appointmentNumber": "AP-1"}}, token=tenant.admin)
    on_appointment = await attach(http, tenant.admin, appointment["createAppointment"]["appointment"]["id"],
                                  field="letter")
    assert on_appointment["userErrors"] == [] and on_appointment["document"]["version"] == 1


async def test_a_license_copy_is_required_to_validate_the_license_and_survives_its_updates(gql, http, new_tenant):
    config = default_config_dict()
    config["producerManagement"]["producerLicenses"]["StateLicense"]["data"]["copy"] = {
        "type": "media", "contentTypes": ["image/png"], "required": True}
    tenant = await new_tenant(config)
    agent = await create_producer(gql, tenant.admin)
    created = await gql.ok(CREATE_LICENSE, {"input": {"type": "StateLicense", "producerId": agent["id"],
                                                      "licenseNumber": "L-1", "jurisdictions": ["CA"],
                                                      "linesOfAuthority": ["Property"]}}, token=tenant.admin)
    license_id = created["createLicense"]["license"]["id"]
    refused = (await gql.ok(VALIDATE_LICENSE, {"id": license_id}, token=tenant.admin))["validateLicense"]
    assert [e["code"] for e in refused["userErrors"]] == ["MISSING_REQUIRED_DATA"]
    assert refused["license"]["state"] == "DRAFT"
    copy = (await attach(http, tenant.admin, license_id, PNG, field="copy", filename="license.png",
                         content_type="image/png"))["document"]
    updated = await gql.ok(UPDATE_LICENSE, {"id": license_id, "input": {"data": {"notes": "checked"}}},
                           token=tenant.admin)
    assert updated["updateLicense"]["license"]["data"]["copy"]["id"] == copy["id"]
    validated = await gql.ok(VALIDATE_LICENSE, {"id": license_id}, token=tenant.admin)
    assert validated["validateLicense"]["license"]["state"] == "VALIDATED"


def test_signed_urls_last_the_configured_minutes():
    from app import documents
    from persistence.documents import DocumentRecord

    settings = settings_for_test(document_url_ttl_seconds=120)
    record = DocumentRecord(id="01J00000000000000000000000", tenant_id="t", entity="producer", entity_id="e",
                            field="f", lineage_id="l", file_name="a.pdf", content_type="application/pdf",
                            uploaded_by="u")
    path = documents.signed_path(settings, record, now=1000)
    assert "expires=1120&" in path


async def test_documents_with_an_expiration_date_beside_them_are_listed_for_alerts(app, gql, http, tenant):
    from app import documents, tenants

    dated, undated = await create_producer(gql, tenant.admin), await create_producer(gql, tenant.admin)
    await gql.ok(UPDATE_PRODUCER, {"id": dated["id"], "input": {"setData": {"eoExpiresOn": "2027-01-31"}}},
                 token=tenant.admin)
    document = (await attach(http, tenant.admin, dated["id"]))["document"]
    await attach(http, tenant.admin, undated["id"])
    config = (await tenants.load_tenant(app.state.sessions, tenant.id)).config
    found = [e async for e in documents.expiring_documents(app.state.sessions, tenant.id, config)]
    assert [(e.entity.id, e.field, e.document_id, e.expires_on.isoformat(), e.state) for e in found] == [
        (dated["locator"], "eoCertificate", document["locator"], "2027-01-31", "draft")]


async def test_documents_dated_after_a_day_are_not_read_for_alerts(app, gql, http, tenant):
    from datetime import date

    from app import documents, tenants

    # given certificates covering until 2027-02-01, 2027-02-02 and 2031-01-01
    near, nearer, far = [await create_producer(gql, tenant.admin) for _ in range(3)]
    for producer, when in ((near, "2027-02-01"), (nearer, "2027-02-02"), (far, "2031-01-01")):
        await gql.ok(UPDATE_PRODUCER, {"id": producer["id"], "input": {"setData": {"eoExpiresOn": when}}},
                     token=tenant.admin)
        await attach(http, tenant.admin, producer["id"])
    config = (await tenants.load_tenant(app.state.sessions, tenant.id)).config

    # when the documents dated before 2027-02-03 are listed
    found = [e async for e in documents.expiring_documents(app.state.sessions, tenant.id, config,
                                                           before=date(2027, 2, 3))]

    # then the far one is not among them (PostgreSQL filtered it out), the two near ones are
    assert sorted(e.expires_on.isoformat() for e in found if e.entity.id in {near["locator"], nearer["locator"],
                                                                             far["locator"]}) == [
        "2027-02-01", "2027-02-02"]
