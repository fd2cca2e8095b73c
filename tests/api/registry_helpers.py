"""Builders for onboarding tests: a small generated registry extract loaded for a tenant, an agency, queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.pii import SsnVault
from app.registry import RegistryEntry, RegistryLicense, import_file, sample_entries, write_extract
from persistence import licenses as license_store
from tests.api.helpers import create_producer, transition_mutation

ONBOARD = """
mutation($input: OnboardProducerInput!) {
  onboardProducer(input: $input) {
    onboarding { id locator status currentStep identifiedBy agency { id }
      producer { id locator npn firstName middleName lastName email gender ssnLastFour state type kind parent { id } } }
    userErrors { field message code }
  }
}"""

ONBOARDING_FIELDS = """id status currentStep detailsReviewed reviewedAt completedAt noNewStates
  payment { newLicensePaidBy renewalPaidBy autoRenewal }
  states { jurisdiction linesOfAuthority }
  producer { id locator state firstName lastName email }"""


async def load_registry(app: Any, tenant_id: str, entries: list[RegistryEntry], tmp_path: Path,
                        name: str = "registry.csv") -> None:
    """Write `entries` as an extract file and import it, as `producer-graph registry import` does."""
    path = tmp_path / name
    write_extract(path, entries)
    vault = SsnVault.from_setting(app.state.settings.ssn_key_or_dev)
    summary = await import_file(app.state.sessions, tenant_id, path, vault)
    assert summary.errors == []


def entries(count: int = 6, seed: int = 11, first_npn: int = 20_000_000) -> list[RegistryEntry]:
    return sample_entries(count, seed=seed, first_npn=first_npn)


def entry_with(npn: str, ssn: str, last_name: str, *licenses: tuple[str, str, list[str]] | RegistryLicense,
               first_name: str = "Dana") -> RegistryEntry:
    """A registry producer with licenses given as (state, number, lines of authority), active with open dates,
    or as RegistryLicense; the first is the resident one."""
    held = [lic if isinstance(lic, RegistryLicense) else RegistryLicense(
        state=lic[0], license_number=lic[1], lines_of_authority=lic[2]) for lic in licenses]
    for i, lic in enumerate(held):
        lic.residency = "resident" if i == 0 else "non-resident"
    return RegistryEntry(npn=npn, last_name=last_name, first_name=first_name, ssn=ssn, gender="FEMALE",
                         licenses=held)


async def agency(gql: Any, token: str, name: str = "Acme Agency", parent: str | None = None) -> dict[str, Any]:
    created = await create_producer(gql, token, type="Agency", organizationName=name, parent=parent)
    data = await gql.ok(transition_mutation("validate"), {"id": created["id"]}, token=token)
    assert data["validateProducer"]["userErrors"] == []
    return created


async def onboard(gql: Any, token: str, **fields: Any) -> dict[str, Any]:
    """The onboardProducer payload (onboarding and userErrors)."""
    fields.setdefault("email", "new.producer@example.com")
    data = await gql.ok(ONBOARD, {"input": fields}, token=token)
    return data["onboardProducer"]  # type: ignore[no-any-return]


async def onboarded(gql: Any, token: str, **fields: Any) -> dict[str, Any]:
    result = await onboard(gql, token, **fields)
    assert result["userErrors"] == [], result["userErrors"]
    return result["onboarding"]  # type: ignore[no-any-return]


async def licenses_of(app: Any, tenant_id: str, producer_locator: str) -> list[Any]:
    async with app.state.sessions() as session:
        return await license_store.by_producer_ids(session, license_store.LicenseRecord, tenant_id,
                                                   [producer_locator])
