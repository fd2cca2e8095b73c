"""Pure rules of documents: media fields in the configuration, media values in data, sniffing, file names."""

from __future__ import annotations

from typing import Any

import pytest

from app.documents import content_disposition, sniff
from app.rules.data import DOCUMENT_ATTACH_ONLY, MISSING_REQUIRED_DATA, validate_data
from app.runtime.demo import tiny_pdf
from app.tenant_config import DataField, default_tenant_config, parse_tenant_config
from tests.unit.test_tenant_config import minimal, refusal

ATTACHED = {"__typename": "Document", "id": "RG9jdW1lbnQ6MDE=", "locator": "01", "version": 1}


def _agent(**fields: Any) -> dict[str, Any]:
    return minimal(producers={"Agent": {"kind": "individual", "data": fields}})


def test_a_media_field_takes_list_content_types_max_bytes_and_an_expiration_field():
    config = parse_tenant_config(_agent(
        papers={"type": "media", "list": True, "contentTypes": ["application/pdf"], "maxBytes": 1000,
                "expirationField": "papersExpireOn", "required": True},
        papersExpireOn={"type": "date"}))
    field = config.producer_type("Agent").data["papers"]
    assert (field.many, field.allowed_content_types, field.maxBytes, field.expirationField) == (
        True, ("application/pdf",), 1000, "papersExpireOn")


def test_a_media_field_accepts_pdf_png_and_jpeg_unless_configured():
    assert DataField(type="media").allowed_content_types == ("application/pdf", "image/png", "image/jpeg")


@pytest.mark.parametrize(("field", "error"), [
    ({"type": "string", "maxBytes": 10, "list": True}, "list, maxBytes only apply to media fields, not to a string field"),
    ({"type": "media", "default": "x"}, "a media field has no default and is not searchable: documents are "
                                        "attached with attachDocument"),
    ({"type": "media", "contentTypes": ["pdf"]}, '"contentTypes" must list MIME types such as "application/pdf"; '
                                                 "got pdf"),
])
def test_bad_media_options_are_refused(field, error):
    assert refusal(_agent(f=field)) == [f"producerManagement.producers.Agent.data.f: {error}"]


def test_an_expiration_field_must_be_a_date_field_beside_the_media_field():
    raw = _agent(f={"type": "media", "expirationField": "note"}, note={"type": "string"})
    assert refusal(raw) == ['producerManagement.producers.Agent.data.f.expirationField: "note" must be a date or '
                            "datetime field defined beside it in the same type"]


def test_the_default_configuration_gives_agents_an_eo_certificate_with_its_expiration_date():
    data = default_tenant_config().resolved_data_fields("producers", "Agent")
    assert (data["eoCertificate"].type, data["eoCertificate"].allowed_content_types) == ("media", ("application/pdf",))
    assert data[data["eoCertificate"].expirationField or ""].type == "date"


FIELDS = {"eo": DataField(type="media", required=True), "note": DataField(type="string")}


def test_a_change_keeps_the_stored_documents_even_when_data_is_replaced():
    cleaned, problems = validate_data(FIELDS, {"note": "x"}, stored={"eo": ATTACHED})
    assert (cleaned, problems) == ({"eo": ATTACHED, "note": "x"}, [])


def test_a_media_value_sent_in_data_is_refused():
    _, problems = validate_data(FIELDS, {"eo": {"id": "forged"}}, check_required=False, stored={})
    assert [(p.code, p.field) for p in problems] == [(DOCUMENT_ATTACH_ONLY, "data.eo")]


def test_a_required_media_field_without_a_document_fails_validation():
    _, problems = validate_data(FIELDS, {})
    assert [(p.code, p.field) for p in problems] == [(MISSING_REQUIRED_DATA, "data.eo")]
    assert "attachDocument" in problems[0].message


def test_stored_data_is_valid_with_its_documents():
    assert validate_data(FIELDS, {"eo": ATTACHED}) == ({"eo": ATTACHED}, [])


@pytest.mark.parametrize(("head", "expected"), [
    (tiny_pdf(), "application/pdf"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 24, "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
    (b"just some text", None),
])
def test_the_type_is_decided_from_the_bytes(head, expected):
    assert sniff(head) == expected


def test_content_disposition_gives_an_ascii_fallback_and_the_utf8_name():
    assert content_disposition('Ana "E&O"; 2026 ✓.pdf') == (
        "attachment; filename=\"Ana _E&O__ 2026 _.pdf\"; filename*=UTF-8''Ana%20%22E%26O%22%3B%202026%20%E2%9C%93.pdf")
