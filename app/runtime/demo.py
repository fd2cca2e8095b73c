"""The demo tenant: agencies, agents, codes, credentials, quotes in every underwriting outcome, a policy with an
out-of-sequence change and a finished bulk job, for a newcomer's first hour and for the guides in docs/.

Built through the public GraphQL API (of the running server, or of the app started in-process when none
answers), so it stays what a client sees.
Idempotent: the tenant is found by name and every object by a natural key (email, code, license or
appointment number, the quote's `data.demo` key, the bulk file's name), so running it again creates nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import mint_token
from app.pii import SsnVault
from app.registry import RegistryEntry, RegistryLicense, import_file, sample_entries, write_extract
from app.runtime import graphiql
from app.settings import Settings
from app.tenant_config import default_config_dict
from persistence import tenants as tenant_store

DEMO_TENANT = "demo"
DEMO_BULK_FILE = "demo-bulk-onboarding.csv"
ADMIN_SUBJECT = "admin@demo.example"
TOKEN_TTL = 8 * 3600

# ---- what the demo holds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProducerSpec:
    key: str
    type: str
    email: str
    parent: str | None
    names: dict[str, str]
    state: str = "VALIDATED"  # DRAFT, VALIDATED or SUSPENDED


@dataclass(frozen=True)
class CodeSpec:
    code: str
    type: str
    producer: str
    state: str = "VALIDATED"


@dataclass(frozen=True)
class CredentialSpec:
    number: str
    producer: str
    jurisdictions: tuple[str, ...]
    lines_of_authority: tuple[str, ...]
    residency: str = "RESIDENT"
    products: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()  # appointments: license numbers they link


@dataclass(frozen=True)
class QuoteSpec:
    key: str
    product: str
    jurisdiction: str
    code: str
    flag: str | None = None  # a manual flag added before underwriting: INFO, DECLINE or REJECT


PRODUCERS = (
    ProducerSpec("northwind", "Agency", "office@northwind.example", None,
                 {"organizationName": "Northwind Insurance Agency"}),
    ProducerSpec("northwindWest", "Agency", "west@northwind.example", "northwind",
                 {"organizationName": "Northwind West"}),
    ProducerSpec("ana", "Agent", "ana.rivera@northwind.example", "northwindWest",
                 {"firstName": "Ana", "lastName": "Rivera", "npn": "18000011"}),
    ProducerSpec("ben", "Agent", "ben.carter@northwind.example", "northwindWest",
                 {"firstName": "Ben", "lastName": "Carter", "npn": "18000012"}),
    ProducerSpec("chloe", "Agent", "chloe.park@northwind.example", "northwind",
                 {"firstName": "Chloe", "lastName": "Park"}, state="DRAFT"),
    ProducerSpec("summit", "Agency", "office@summit.example", None, {"organizationName": "Summit Brokers"}),
    ProducerSpec("summitEast", "Agency", "east@summit.example", "summit", {"organizationName": "Summit East"}),
    ProducerSpec("diego", "Agent", "diego.silva@summit.example", "summitEast",
                 {"firstName": "Diego", "lastName": "Silva", "npn": "18000021"}),
    ProducerSpec("erin", "Agent", "erin.walsh@summit.example", "summitEast",
                 {"firstName": "Erin", "lastName": "Walsh", "npn": "18000022"}, state="SUSPENDED"),
    ProducerSpec("frank", "Agent", "frank.moore@summit.example", "summitEast",
                 {"firstName": "Frank", "lastName": "Moore", "npn": "18000023"}),
)

CODES = (
    CodeSpec("NW-100", "AgencyCode", "northwind"),
    CodeSpec("NW-200", "AgencyCode", "northwindWest"),
    CodeSpec("NW-201", "AgentCode", "ana"),
    CodeSpec("NW-202", "AgentCode", "ben"),
    CodeSpec("NW-301", "AgentCode", "chloe", state="DRAFT"),
    CodeSpec("SB-100", "AgencyCode", "summit"),
    CodeSpec("SB-200", "AgencyCode", "summitEast"),
    CodeSpec("SB-201", "AgentCode", "diego"),
    CodeSpec("SB-202", "AgentCode", "erin"),
    CodeSpec("SB-203", "AgentCode", "frank"),
)

LICENSES = (
    CredentialSpec("CA-0811", "ana", ("CA",), ("Property", "Casualty")),
    CredentialSpec("NV-0812", "ana", ("NV",), ("Property", "Casualty", "Life"), residency="NON_RESIDENT"),
    CredentialSpec("NY-0821", "ben", ("NY",), ("Property", "Casualty")),
    CredentialSpec("TX-0831", "diego", ("TX",), ("Property", "Casualty", "Life")),
    CredentialSpec("FL-0832", "diego", ("FL",), ("Casualty",), residency="NON_RESIDENT"),
    CredentialSpec("TX-0841", "frank", ("TX",), ("Life",)),
)

APPOINTMENTS = (
    CredentialSpec("APT-CA-0811", "ana", ("CA",), ("Casualty",), products=("CommercialAuto",), licenses=("CA-0811",)),
    CredentialSpec("APT-TX-0831", "diego", ("TX",), ("Casualty",), products=("CommercialAuto",),
                   licenses=("TX-0831",)),
)

QUOTES = (
    QuoteSpec("underwritten", "PersonalAuto", "CA", "NW-201"),
    QuoteSpec("flaggedInfo", "Travel", "TX", "SB-201", flag="INFO"),
    QuoteSpec("blocked", "PersonalAuto", "CA", "NW-202"),  # not licensed in CA: the configured block flag
    QuoteSpec("declined", "Travel", "NY", "SB-201", flag="DECLINE"),
    QuoteSpec("rejected", "Travel", "FL", "SB-201", flag="REJECT"),
    QuoteSpec("draft", "CommercialAuto", "TX", "SB-201"),
)
POLICY_QUOTE = QuoteSpec("policy", "Travel", "CA", "NW-201")
POLICY_EFFECTIVE = "2026-01-01T00:00:00Z"
# (effective, issued, new code): the second change is issued later but takes effect earlier: out of sequence.
POLICY_CHANGES = (("2026-07-01T00:00:00Z", "2026-03-01T00:00:00Z", "NW-202"),
                  ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", "NW-200"))

# Registry producers the guides use by name; the rest of the registry is generated.
GUIDE_REGISTRY = (
    RegistryEntry(npn="19000001", last_name="Okafor", first_name="Chi", ssn="233456789", gender="FEMALE",
                  email="chi.okafor@example.com",
                  licenses=[RegistryLicense("CA", "CA-19000001", "Insurance Producer", "resident", ["Life", "Health"],
                                            "active", date(2022, 3, 1), date(2022, 3, 1), date(2030, 2, 28)),
                            RegistryLicense("NV", "NV-19000001", "Insurance Producer", "non-resident", ["Life"],
                                            "active", date(2019, 5, 1), date(2019, 5, 1), date(2023, 4, 30))]),
    RegistryEntry(npn="19000002", last_name="Chen", first_name="Wei", ssn="234567890", gender="MALE",
                  email="wei.chen@example.com",
                  licenses=[RegistryLicense("NY", "NY-19000002", "Insurance Producer", "resident",
                                            ["Property", "Casualty"], "active", date(2023, 1, 15), date(2023, 1, 15),
                                            date(2031, 1, 14))]),
    RegistryEntry(npn="19000003", last_name="Novak", first_name="Olga", ssn="345678901", gender="FEMALE",
                  email="olga.novak@example.com"),
    RegistryEntry(npn="19000004", last_name="Patel", first_name="Priya", ssn="456789012", gender="FEMALE",
                  email="priya.patel@example.com",
                  licenses=[RegistryLicense("TX", "TX-19000004", "Agent", "resident", ["Life"], "active",
                                            date(2021, 9, 1), date(2021, 9, 1), date(2029, 8, 31)),
                            RegistryLicense("OK", "OK-19000004", "Agent", "non-resident", ["Life"], "inactive",
                                            date(2021, 9, 1), date(2021, 9, 1), date(2029, 8, 31))]),
)
# The values `producer-graph demo` prints: those the guides in docs/ use as {{name}} (tests/docs checks it).
GUIDE_VALUES = ("northwindId", "summitEastId", "anaId", "benId", "chloeId", "erinId", "frankId", "codeNW301Id",
                "underwrittenQuoteId", "blockedQuoteId", "declinedQuoteId", "rejectedQuoteId", "draftQuoteId",
                "policyId", "onboardingId", "bulkJobId", "failedRowNumber", "anaEoCertificateId")
WIZARD_NPN = "19000002"  # onboarded by the demo, left in the wizard for docs/onboarding.md
GENERATED_REGISTRY = 40
BULK_GOOD = 5  # registry producers onboarded by the bulk job


def bulk_rows(registry: list[RegistryEntry]) -> list[list[str]]:
    """The demo's bulk file: good rows, two that fail when onboarded and two invalid ones (rows 2 to 10)."""
    good = [[e.last_name, e.npn, f"bulk.{e.npn}@example.com", _dashed(e.ssn or ""), "F"]
            for e in registry[:BULK_GOOD]]
    return [
        *good,
        ["Novakova", "19000003", "olga.novak@example.com", "345-67-8901", "F"],  # row 7: last name mismatch
        ["Lindqvist", "19999999", "erik.lindqvist@example.com", "567-89-0123", "M"],  # row 8: not in the registry
        ["Moreau", "19000005", "not-an-email", "678-90-1234", "X"],  # row 9: invalid email
        ["Duval", "19000006", "dup.email@example.com", "000-12-3456", "M"],  # row 10: invalid SSN
    ]


def _dashed(ssn: str) -> str:
    return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"


def registry_entries() -> list[RegistryEntry]:
    """The guide producers, then generated ones (NPNs from 17,000,000, far from the guides')."""
    return [*GUIDE_REGISTRY, *sample_entries(GENERATED_REGISTRY, seed=2026, first_npn=17_000_000)]


# ---- the result ---------------------------------------------------------------------------------------------


@dataclass
class Demo:
    """The demo tenant and the named values (ids, locators) the guides refer to as `{{name}}`."""

    tenant_id: str
    values: dict[str, str] = field(default_factory=dict)
    created: int = 0  # objects created by this run (0 when everything existed)

    def tokens(self, settings: Settings, ttl: int = TOKEN_TTL) -> dict[str, str]:
        """A token for each role: TENANT_ADMIN, AGENCY_ADMIN (Northwind), UNDERWRITER, PRODUCER (Ana), READ_ONLY."""
        def token(roles: list[str], subject: str, agency: str | None = None) -> str:
            return mint_token(settings, tenant_id=self.tenant_id, roles=roles, subject=subject, agency=agency,
                              ttl_seconds=ttl)
        return {
            "TENANT_ADMIN": token(["TENANT_ADMIN"], ADMIN_SUBJECT),
            "AGENCY_ADMIN": token(["AGENCY_ADMIN"], "ops@northwind.example", self.values["northwindLocator"]),
            "UNDERWRITER": token(["UNDERWRITER"], "underwriter@demo.example"),
            "PRODUCER": token(["PRODUCER"], "ana.rivera@northwind.example", self.values["anaLocator"]),
            "READ_ONLY": token(["READ_ONLY"], "portal@demo.example"),
        }


class DemoError(Exception):
    """A step of the demo was refused by the API (it names the operation and the errors)."""


class Api:
    """A GraphQL client of the app for one bearer token."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def __call__(self, query: str, refusals_ok: bool = False, **variables: Any) -> dict[str, Any]:
        """The `data` of the response; DemoError on errors, or on userErrors unless `refusals_ok`."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables},
                                        headers=self.headers)
        if response.status_code == 401:
            raise DemoError(f"the server at {self.http.base_url} refused the demo's token ({response.text[:200]}); "
                            "run the demo with the server's settings (DATABASE_URL or DATA_DIR, JWT_SECRET)")
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise DemoError(f"{query.split('(')[0].strip()}: {body.get('errors')}")
        data: dict[str, Any] = body["data"]
        for name, payload in data.items():
            if isinstance(payload, dict) and payload.get("userErrors") and not refusals_ok:
                raise DemoError(f"{name}: {payload['userErrors']}")
        return data

    async def upload(self, query: str, content: bytes, filename: str, content_type: str = "text/csv",
                     **variables: Any) -> dict[str, Any]:
        operations = {"query": query, "variables": {"file": None, **variables}}
        response = await self.http.post(
            "/graphql", headers={**self.headers, "Apollo-Require-Preflight": "true"},
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": (filename, content, content_type)})
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise DemoError(f"upload: {body.get('errors')}")
        return body["data"]  # type: ignore[no-any-return]


def tiny_pdf(text: str = "Certificate of E&O insurance") -> bytes:
    """A small, valid one-page PDF showing `text` (ASCII), built in code: objects, cross-reference table, trailer."""
    shown = "".join(ch for ch in text if 32 <= ord(ch) < 127).replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({shown}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ---- building -----------------------------------------------------------------------------------------------

FIND_PRODUCER = """query($search: String!) { producers(first: 10, filter: {search: $search}) {
  nodes { id locator email state } } }"""
CREATE_PRODUCER = """mutation($input: CreateProducerInput!) { createProducer(input: $input) {
  producer { id locator email state } userErrors { field message code } } }"""
TRANSITION = """mutation($id: ID!) {{ {name}(id: $id) {{ {field} {{ id state }} userErrors {{ field message code }} }} }}"""
PRODUCER_DATA = "query($id: ID!) { producer(id: $id) { data } }"
SET_DATA = """mutation($id: ID!, $data: JSON!) { updateProducer(id: $id, input: {setData: $data}) {
  producer { id } userErrors { field message code } } }"""
ATTACH_DOCUMENT = """mutation($entityId: ID!, $field: String!, $file: Upload!) {
  attachDocument(entityId: $entityId, field: $field, file: $file) {
    document { id locator } userErrors { field message code } } }"""
EO_EXPIRES_ON = "2027-06-30"
FIND_CODE = "query($code: String!) { producerCodeByCode(code: $code) { id code state } }"
CREATE_CODE = """mutation($input: CreateProducerCodeInput!) { createProducerCode(input: $input) {
  producerCode { id code state } userErrors { field message code } } }"""
CREDENTIALS = """query($id: ID!) { producer(id: $id) {
  licenses(first: 100) { nodes { id licenseNumber state } }
  appointments(first: 100) { nodes { id appointmentNumber state } } } }"""
CREATE_LICENSE = """mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  license { id state } userErrors { field message code } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id state } userErrors { field message code } } }"""
QUOTES_QUERY = """query($after: String) { quotes(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id state data policy { id } } } }"""
CREATE_QUOTE = """mutation($input: CreateQuoteInput!) { createQuote(input: $input) {
  quote { id state } userErrors { field message code } } }"""
ADD_FLAG = """mutation($quoteId: ID!, $flags: [NewFlagInput!]!) { addUnderwritingFlags(quoteId: $quoteId, flags: $flags) {
  flags { id level } userErrors { field message code } } }"""
UNDERWRITE = """mutation($id: ID!) { underwriteQuote(id: $id) { quote { id state flags { id level } }
  userErrors { field message code } } }"""
ISSUE = """mutation($id: ID!) { issueQuote(id: $id) { quote { id state } policy { id }
  userErrors { field message code } } }"""
POLICY = "query($id: ID!) { policy(id: $id) { id transactions { id kind state } } }"
CHANGE = """mutation($policyId: ID!, $at: DateTime!, $code: String!) {
  changePolicy(policyId: $policyId, effectiveTime: $at, producers: {setProducerCode: $code}) {
    transaction { id } userErrors { field message code } } }"""
ISSUE_TRANSACTION = """mutation($id: ID!, $at: DateTime) { issueTransaction(transactionId: $id, issuedTime: $at) {
  transaction { id state } userErrors { field message code } } }"""
ONBOARDINGS = """{ onboardings(first: 100) { nodes { id status producer { npn } } } }"""
ONBOARD = """mutation($input: OnboardProducerInput!) { onboardProducer(input: $input) {
  onboarding { id } userErrors { field message code } } }"""
JOBS = "{ bulkOnboardingJobs(first: 100) { nodes { id fileName status } } }"
UPLOAD = """mutation($file: Upload!, $agencyId: ID) { uploadBulkOnboardingFile(file: $file, agencyId: $agencyId) {
  job { id status } userErrors { field message code } } }"""
PAYMENT = """mutation($jobId: ID!) { setBulkOnboardingPayment(jobId: $jobId,
  input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER, autoRenewal: true}) {
  job { id } userErrors { field message code } } }"""
START = """mutation($jobId: ID!) { startBulkOnboarding(jobId: $jobId) { job { id status }
  userErrors { field message code } } }"""
JOB = """query($id: ID!) { bulkOnboardingJob(id: $id) { id status
  rows(first: 100, statuses: [FAILED, INVALID]) { nodes { rowNumber status errorCode } } } }"""


def _transition(action: str, subject: str = "Producer") -> str:
    field_name = {"Producer": "producer", "ProducerCode": "producerCode", "License": "license",
                  "Appointment": "appointment"}[subject]
    return TRANSITION.format(name=f"{action}{subject}", field=field_name)


class Builder:
    """Creates what is missing, step by step, and records the named values."""

    def __init__(self, api: Api, demo: Demo) -> None:
        self.api = api
        self.demo = demo
        self.ids: dict[str, str] = {}

    def keep(self, name: str, value: str) -> None:
        self.demo.values[name] = value

    async def producers(self) -> None:
        for spec in PRODUCERS:
            found = [p for p in (await self.api(FIND_PRODUCER, search=spec.email))["producers"]["nodes"]
                     if p["email"] == spec.email]
            if found:
                producer = found[0]
            else:
                payload: dict[str, Any] = {"type": spec.type, "email": spec.email, **spec.names}
                if spec.parent:
                    payload["parentId"] = self.ids[spec.parent]
                producer = (await self.api(CREATE_PRODUCER, input=payload))["createProducer"]["producer"]
                self.demo.created += 1
            if producer["state"] == "DRAFT" and spec.state != "DRAFT":
                await self.api(_transition("validate"), id=producer["id"])
            self.ids[spec.key] = producer["id"]
            self.keep(f"{spec.key}Id", producer["id"])
            self.keep(f"{spec.key}Locator", producer["locator"])

    async def documents(self) -> None:
        """Ana's E&O certificate (a PDF built here) and its expiration date, attached once."""
        data = (await self.api(PRODUCER_DATA, id=self.ids["ana"]))["producer"]["data"]
        certificate = data.get("eoCertificate")
        if certificate is None:
            await self.api(SET_DATA, id=self.ids["ana"], data={"eoExpiresOn": EO_EXPIRES_ON})
            result = (await self.api.upload(ATTACH_DOCUMENT, tiny_pdf("Certificate of E&O insurance - Ana Rivera"),
                                            "ana-rivera-eo-certificate.pdf", "application/pdf",
                                            entityId=self.ids["ana"], field="eoCertificate"))["attachDocument"]
            if result["userErrors"]:
                raise DemoError(f"attachDocument: {result['userErrors']}")
            certificate = result["document"]
            self.demo.created += 1
        self.keep("anaEoCertificateId", certificate["id"])
        self.keep("anaEoCertificateLocator", certificate["locator"])

    async def suspensions(self) -> None:
        """Suspended producers are suspended last, once their codes are validated."""
        for spec in PRODUCERS:
            if spec.state == "SUSPENDED":
                state = (await self.api("query($id: ID!) { producer(id: $id) { state } }",
                                        id=self.ids[spec.key]))["producer"]["state"]
                if state == "VALIDATED":
                    await self.api(_transition("suspend"), id=self.ids[spec.key])

    async def codes(self) -> None:
        for spec in CODES:
            code = (await self.api(FIND_CODE, code=spec.code))["producerCodeByCode"]
            if code is None:
                code = (await self.api(CREATE_CODE, input={"type": spec.type, "producerId": self.ids[spec.producer],
                                                           "code": spec.code}))["createProducerCode"]["producerCode"]
                self.demo.created += 1
            if code["state"] == "DRAFT" and spec.state != "DRAFT":
                await self.api(_transition("validate", "ProducerCode"), id=code["id"])
            self.keep(f"code{spec.code.replace('-', '')}Id", code["id"])

    async def credentials(self) -> None:
        license_ids: dict[str, str] = {}
        for kind, specs in (("license", LICENSES), ("appointment", APPOINTMENTS)):
            for spec in specs:
                held = (await self.api(CREDENTIALS, id=self.ids[spec.producer]))["producer"]
                number_field = f"{kind}Number"
                existing = {c[number_field]: c for c in held[f"{kind}s"]["nodes"]}
                credential = existing.get(spec.number)
                if credential is None:
                    payload: dict[str, Any] = {
                        "type": "StateLicense" if kind == "license" else "CarrierAppointment",
                        "producerId": self.ids[spec.producer], number_field: spec.number,
                        "jurisdictions": list(spec.jurisdictions), "linesOfAuthority": list(spec.lines_of_authority),
                        "residency": spec.residency, "products": list(spec.products),
                        "effectiveTime": "2025-01-01T00:00:00Z", "expirationTime": "2028-01-01T00:00:00Z"}
                    if kind == "appointment":
                        payload["licenseIds"] = [license_ids[n] for n in spec.licenses]
                        payload["data"] = {"carrierName": "Demo Mutual"}
                    mutation = CREATE_LICENSE if kind == "license" else CREATE_APPOINTMENT
                    name = "createLicense" if kind == "license" else "createAppointment"
                    credential = (await self.api(mutation, input=payload))[name][kind]
                    self.demo.created += 1
                if credential["state"] == "DRAFT":
                    await self.api(_transition("validate", kind.capitalize()), id=credential["id"])
                if kind == "license":
                    license_ids[spec.number] = credential["id"]
                self.keep(f"{kind}{spec.number.replace('-', '')}Id", credential["id"])

    async def existing_quotes(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            page = (await self.api(QUOTES_QUERY, after=after))["quotes"]
            for quote in page["nodes"]:
                key = (quote["data"] or {}).get("demo")
                if key:
                    found[key] = quote
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    async def quote(self, spec: QuoteSpec, existing: dict[str, dict[str, Any]], effective: str) -> dict[str, Any]:
        if spec.key in existing:
            return existing[spec.key]
        quote = (await self.api(CREATE_QUOTE, input={
            "product": spec.product, "jurisdiction": spec.jurisdiction, "effectiveTime": effective,
            "producerCode": spec.code, "data": {"demo": spec.key}}))["createQuote"]["quote"]
        self.demo.created += 1
        if spec.flag:
            await self.api(ADD_FLAG, quoteId=quote["id"], flags=[{
                "level": spec.flag, "tag": f"Demo {spec.flag.lower()} flag", "note": "Added by the demo."}])
        if spec.key != "draft":  # info flags and refusals come back as userErrors: expected here
            await self.api(UNDERWRITE, refusals_ok=True, id=quote["id"])
        return quote

    async def quotes(self) -> None:
        existing = await self.existing_quotes()
        for spec in QUOTES:
            quote = await self.quote(spec, existing, "2026-12-01T00:00:00Z")
            self.keep(f"{spec.key}QuoteId", quote["id"])
        quote = await self.quote(POLICY_QUOTE, existing, POLICY_EFFECTIVE)
        self.keep("policyQuoteId", quote["id"])
        policy_id = (quote.get("policy") or {}).get("id")
        if policy_id is None:
            policy_id = (await self.api(ISSUE, id=quote["id"]))["issueQuote"]["policy"]["id"]
        self.keep("policyId", policy_id)
        transactions = (await self.api(POLICY, id=policy_id))["policy"]["transactions"]
        changes = [t for t in transactions if t["kind"] == "CHANGE"]
        for index, (effective, issued, code) in enumerate(POLICY_CHANGES):
            if index < len(changes):
                transaction_id, state = changes[index]["id"], changes[index]["state"]
            else:
                transaction_id = (await self.api(CHANGE, policyId=policy_id, at=effective, code=code)
                                  )["changePolicy"]["transaction"]["id"]
                state = "DRAFT"
                self.demo.created += 1
            if state == "DRAFT":
                await self.api(ISSUE_TRANSACTION, id=transaction_id, at=issued)

    async def onboarding(self) -> None:
        found = [o for o in (await self.api(ONBOARDINGS))["onboardings"]["nodes"]
                 if (o["producer"] or {}).get("npn") == WIZARD_NPN]
        if found:
            onboarding_id = found[0]["id"]
        else:
            onboarding_id = (await self.api(ONBOARD, input={
                "npn": WIZARD_NPN, "email": "wei.chen@example.com", "agencyId": self.ids["northwindWest"]}
            ))["onboardProducer"]["onboarding"]["id"]
            self.demo.created += 1
        self.keep("onboardingId", onboarding_id)

    async def bulk_job(self, registry: list[RegistryEntry], seconds: float = 60.0) -> None:
        jobs = [j for j in (await self.api(JOBS))["bulkOnboardingJobs"]["nodes"] if j["fileName"] == DEMO_BULK_FILE]
        if jobs:
            job_id, status = jobs[0]["id"], jobs[0]["status"]
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["Last Name", "NPN", "Email", "SSN", "Gender"])
            writer.writerows(bulk_rows(registry[len(GUIDE_REGISTRY):]))
            job = (await self.api.upload(UPLOAD, buffer.getvalue().encode(), DEMO_BULK_FILE,
                                         agencyId=self.ids["summitEast"]))["uploadBulkOnboardingFile"]
            if job["userErrors"]:
                raise DemoError(f"uploadBulkOnboardingFile: {job['userErrors']}")
            job_id, status = job["job"]["id"], job["job"]["status"]
            self.demo.created += 1
        if status in ("UPLOADED", "VALIDATED"):
            await self.api(PAYMENT, jobId=job_id)
            await self.api(START, jobId=job_id)
        deadline = time.monotonic() + seconds
        while True:
            job = (await self.api(JOB, id=job_id))["bulkOnboardingJob"]
            if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                break
            if time.monotonic() > deadline:
                raise DemoError(f"the demo bulk job is still {job['status']} after {seconds:.0f} s")
            await asyncio.sleep(0.2)
        self.keep("bulkJobId", job_id)
        failed = [r["rowNumber"] for r in job["rows"]["nodes"] if r["status"] == "FAILED"]
        if failed:
            self.keep("failedRowNumber", str(failed[0]))


async def ensure_tenant(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, bool]:
    """The demo tenant's id (created with the default configuration when missing) and whether it was created."""
    from app import tenants

    async with sessions() as session:
        record = await tenant_store.get_tenant_by_name(session, DEMO_TENANT)
    if record is not None:
        return record.id, False
    loaded = await tenants.create_tenant(sessions, DEMO_TENANT, default_config_dict())
    return loaded.id, True


async def load_registry(sessions: async_sessionmaker[AsyncSession], settings: Settings, tenant_id: str,
                        entries: list[RegistryEntry]) -> None:
    """Write the sample extract and import it, as `producer-graph registry import` does (upsert by NPN)."""
    with tempfile.TemporaryDirectory(prefix="demo-registry") as tmp:
        path = Path(tmp) / "registry.csv"
        write_extract(path, entries)
        summary = await import_file(sessions, tenant_id, path, SsnVault.from_setting(settings.ssn_key_or_dev))
    if summary.errors:
        raise DemoError(f"registry import: {summary.errors}")


Step = Callable[[], Awaitable[None]]


async def build_demo(http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                     progress: Callable[[str], None] | None = None) -> Demo:
    """Create whatever the demo lacks, through `http` (a client of the running app); return its values."""
    tenant_id, created = await ensure_tenant(sessions)
    demo = Demo(tenant_id, created=int(created))
    registry = registry_entries()
    await load_registry(sessions, settings, tenant_id, registry)
    builder = Builder(Api(http, mint_token(settings, tenant_id=tenant_id, roles=["TENANT_ADMIN"],
                                           subject=ADMIN_SUBJECT, ttl_seconds=600)), demo)
    steps: list[tuple[str, Step]] = [
        ("agencies, sub-agencies and agents", builder.producers), ("producer codes", builder.codes),
        ("licenses and appointments", builder.credentials), ("an E&O certificate", builder.documents),
        ("suspensions", builder.suspensions),
        ("quotes and a policy", builder.quotes), ("an onboarding in the wizard", builder.onboarding),
        ("a bulk onboarding job", lambda: builder.bulk_job(registry))]
    for label, step in steps:
        if progress:
            progress(label)
        await step()
    return demo


# ---- the command ------------------------------------------------------------------------------------------


def default_url(settings: Settings) -> str:
    """The address `producer-graph serve` listens on with these settings."""
    return f"http://{settings.host}:{settings.port}"


async def server_answers(url: str) -> bool:
    """True when a server answers `url`/healthz."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            return (await client.get("/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _through_server(url: str, settings: Settings, progress: Callable[[str], None]) -> Demo:
    """Build through the running server at `url`; the tenant and the registry are written to the database
    these settings name, which must be the server's."""
    from persistence.db import create_engine, resolve_url, session_factory

    database = settings.database_url
    if not database:  # not `or`: mypy infers to_thread's result from the left operand, str | None
        database = await asyncio.to_thread(resolve_url, None, settings.data_dir)
    engine = create_engine(database, pool_size=2, max_overflow=0)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            return await build_demo(http, session_factory(engine), settings, progress=progress)
    finally:
        await engine.dispose()


async def _in_process(settings: Settings, progress: Callable[[str], None]) -> Demo:
    """Start the app in-process (migrating the database) and build through it."""
    from app.runtime.server import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
            return await build_demo(http, app.state.sessions, settings, progress=progress)


async def run(settings: Settings, url: str | None = None, out: Callable[[str], None] = print) -> Demo:
    """`producer-graph demo [--url URL]`: build the demo through the server answering at `url` (default: the
    address `serve` listens on), or in-process when none answers; print tokens, values and the GraphiQL link."""
    url = (url or default_url(settings)).rstrip("/")
    started = time.monotonic()
    running = await server_answers(url)
    if running:
        out(f"Building the demo through the server at {url}")
        demo = await _through_server(url, settings, lambda s: out(f"  {s}"))
    else:
        out(f"No server answers at {url}/healthz: building the demo in-process")
        demo = await _in_process(settings, lambda s: out(f"  {s}"))
    out(f"demo tenant {DEMO_TENANT!r} ({demo.tenant_id}): "
        + (f"{demo.created} objects created" if demo.created else "already complete, nothing created")
        + f" in {time.monotonic() - started:.1f} s")
    out("")
    tokens = demo.tokens(settings)
    out("Tokens (8 hours; send as 'Authorization: Bearer <token>'):")
    for role, token in tokens.items():
        out(f"  {role:<13} {token}")
    out("")
    out("Values the guides in docs/ refer to as {{name}}:")
    for name in GUIDE_VALUES:
        out(f"  {name:<20} {demo.values[name]}")
    out("")
    out("Webhooks: push the tenant's changes to another system with createWebhookEndpoint(url, events) as "
        "TENANT_ADMIN (docs/webhooks.md), e.g. events [\"producer.*\", \"bulkJob.completed\"].")
    out("")
    out("GraphiQL, signed in as the demo's tenant admin (the token is in the link's #fragment, which the browser"
        " keeps to itself)" + ("" if running else "; start the server first with `producer-graph serve`") + ":")
    out(f"  {graphiql.link(url, tokens['TENANT_ADMIN'])}")
    return demo
