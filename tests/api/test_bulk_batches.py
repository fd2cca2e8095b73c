"""Bulk onboarding in batches: a constant number of statements per batch, each row at most once, the same
refusals as onboarding one by one, and the row-by-row fallback when a batch fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from app import bulk
from app.auth import Principal, Role
from app.context import ServiceContext
from app.errors import DomainError
from app.onboarding import BatchOutcome, OnboardRequest, PaymentSetup, onboard_batch, onboard_producer
from app.registry import RegistryEntry, sample_entries
from app.tenant_config import default_config_dict
from persistence.db import transaction
from tests.api.bulk_helpers import (
    all_rows,
    bulk_setup,
    csv_file,
    file_rows,
    start_job,
    store_registry,
    upload,
    wait_for_job,
)
from tests.api.helpers import create_code
from tests.api.registry_helpers import agency

PAYMENT = PaymentSetup("AGENCY", "PRODUCER", True)


@dataclass
class Batches:
    ctx: ServiceContext
    agency_id: str
    entries: list[RegistryEntry]


async def _batches(app: Any, gql: Any, new_tenant: Any, count: int, first_npn: int) -> Batches:
    """A tenant, an agency and `count` registry producers with their licenses; a service context of its admin."""
    tenant = await new_tenant()
    created = await agency(gql, tenant.admin)
    entries = sample_entries(count, seed=count, first_npn=first_npn)
    await store_registry(app.state.sessions, app.state.settings, tenant.id, entries)
    principal = Principal("admin@example.com", tenant.id, frozenset({Role.AGENCY_ADMIN}), created["locator"])
    ctx = await bulk.context_for(app.state.settings, app.state.sessions, principal)
    assert ctx is not None
    return Batches(ctx, created["locator"], entries)


def _request(b: Batches, entry: RegistryEntry, **changes: Any) -> OnboardRequest:
    values: dict[str, Any] = {"email": f"p{entry.npn}@example.com", "agency_id": b.agency_id, "ssn": entry.ssn,
                              "last_name": entry.last_name, "npn": entry.npn, "gender": entry.gender,
                              "payment": PAYMENT}
    values.update(changes)
    return OnboardRequest(**values)


async def _run(app: Any, b: Batches, job_id: str, requests: list[tuple[int, OnboardRequest]]) -> dict[int, BatchOutcome]:
    async with transaction(app.state.sessions) as session:
        return await onboard_batch(b.ctx, session, job_id, requests)


async def test_a_batch_of_100_rows_runs_as_many_statements_as_a_batch_of_10(app, gql, new_tenant, statements):
    # given 110 registry producers with licenses
    b = await _batches(app, gql, new_tenant, 110, first_npn=61_000_000)
    rows = [(n + 2, _request(b, e)) for n, e in enumerate(b.entries)]

    # when 10 rows and then 100 rows are onboarded as one batch each
    with statements:
        small = await _run(app, b, "01HBATCHSMALL0000000000000", rows[:10])
    small_count = statements.count
    with statements:
        large = await _run(app, b, "01HBATCHLARGE0000000000000", rows[10:])
    large_count = statements.count

    # then every row has its producer, and both batches ran the same statements
    assert all(o.producer_id and o.error is None for o in [*small.values(), *large.values()])
    assert len(large) == 100
    assert small_count == large_count, statements.statements
    async with app.state.sessions() as session:
        licenses = (await session.execute(text(
            "SELECT count(*) FROM licenses l JOIN producers p ON p.id = l.producer_id WHERE p.tenant_id = :t"),
            {"t": b.ctx.tenant_id})).scalar_one()
    assert licenses == sum(len(e.licenses) for e in b.entries)


async def test_a_batch_run_again_onboards_no_row_twice(app, gql, new_tenant):
    # given a batch of 20 rows onboarded
    b = await _batches(app, gql, new_tenant, 20, first_npn=62_000_000)
    rows = [(n + 2, _request(b, e)) for n, e in enumerate(b.entries)]
    first = await _run(app, b, "01HBATCHAGAIN0000000000000", rows)

    # when the same rows of the same job come again (a lease expired after the commit)
    again = await _run(app, b, "01HBATCHAGAIN0000000000000", rows)

    # then each row names the producer onboarded the first time, and no producer was added
    assert {n: o.producer_id for n, o in again.items()} == {n: o.producer_id for n, o in first.items()}
    async with app.state.sessions() as session:
        count = (await session.execute(text("SELECT count(*) FROM producers WHERE tenant_id = :t AND npn IS NOT NULL"),
                                       {"t": b.ctx.tenant_id})).scalar_one()
    assert count == 20


async def test_a_batch_refuses_rows_with_the_codes_of_onboarding_one_by_one(app, gql, new_tenant):
    # given rows that are not in the registry, name another last name or SSN, or repeat an NPN
    b = await _batches(app, gql, new_tenant, 4, first_npn=63_000_000)
    good, named, ssn, twice = b.entries
    bad = {
        2: _request(b, good, npn="99999990"),
        3: _request(b, named, last_name="Wrongname"),
        4: _request(b, ssn, ssn="123456780" if ssn.ssn != "123456780" else "123456781"),
        5: _request(b, twice),
        6: _request(b, twice, email="again@example.com"),
    }

    # when they are onboarded as one batch
    outcomes = await _run(app, b, "01HBATCHREFUSE000000000000", sorted(bad.items()))

    # then each refusal has the code the single onboarding gives, and the repeated NPN is onboarded once
    codes = {n: (o.error.code if o.error else None) for n, o in outcomes.items()}
    assert codes == {2: "REGISTRY_NOT_FOUND", 3: "LAST_NAME_MISMATCH", 4: "SSN_MISMATCH", 5: None,
                     6: "ALREADY_ONBOARDED"}
    for number in (2, 3, 4, 6):
        try:
            await onboard_producer(b.ctx, bad[number], bulk_job_id="01HBATCHSINGLE000000000000",
                                   bulk_row_number=number)
        except DomainError as exc:
            assert exc.code == codes[number]
        else:
            raise AssertionError(f"row {number} was onboarded alone")


async def test_rows_of_a_failing_batch_are_onboarded_one_by_one(app, gql, http, new_tenant, monkeypatch):
    # given a job with four good rows and one not in the registry, and batches that fail
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the batch failed")

    monkeypatch.setattr("app.runtime.bulk_worker.onboard_batch", broken)
    s = await bulk_setup(app, gql, new_tenant, count=4)
    rows = file_rows(s.entries) + [["Nobody", "99999994", "nobody@example.com", "123-45-6783", "F"]]
    job = (await upload(http, s.admin, csv_file(rows)))["job"]

    # when it runs
    await start_job(gql, s.admin, job["id"])
    done = await wait_for_job(gql, s.admin, job["id"])

    # then the rows were onboarded row by row, with the same outcome
    assert (done["status"], done["succeededRows"], done["failedRows"]) == ("COMPLETED", 4, 1)
    failed = await all_rows(gql, s.admin, job["id"], ["FAILED"])
    assert [(r["rowNumber"], r["errorCode"]) for r in failed] == [(6, "REGISTRY_NOT_FOUND")]


async def _finished(app: Any, tenant_id: str) -> dict[str, Any]:
    """What the batch left in the tenant: producer, code and onboarding states, licenses by state."""
    async with app.state.sessions() as session:
        def counted(sql: str) -> Any:
            return session.execute(text(sql), {"t": tenant_id})

        producers = (await counted("SELECT state, count(*) FROM producers WHERE tenant_id = :t AND npn IS NOT NULL "
                                   "GROUP BY state")).all()
        codes = (await counted("SELECT state, count(*) FROM producer_codes WHERE tenant_id = :t GROUP BY state")).all()
        onboardings = (await counted("SELECT status, count(*) FROM onboardings WHERE tenant_id = :t "
                                     "GROUP BY status")).all()
        applications = (await counted("SELECT count(*) FROM licenses WHERE tenant_id = :t AND state = 'applied' "
                                      "AND license_number IS NULL AND jurisdictions = '{GU}'")).scalar_one()
    return {"producers": dict(producers), "codes": dict(codes), "onboardings": dict(onboardings),
            "applications": applications}


async def test_a_batch_finishes_its_rows_with_the_jobs_states_in_the_same_statements(app, gql, new_tenant,
                                                                                     statements):
    # given 30 registry producers and rows carrying the job's payment and one state for all (GU, Surety)
    b = await _batches(app, gql, new_tenant, 30, first_npn=64_000_000)
    rows = [(n + 2, _request(b, e, states=[("GU", ["Surety"])])) for n, e in enumerate(b.entries)]

    # when 5 and then 25 rows are onboarded as one batch each
    with statements:
        await _run(app, b, "01HBATCHFINISH00000000000A", rows[:5])
    small = statements.count
    with statements:
        outcomes = await _run(app, b, "01HBATCHFINISH00000000000B", rows[5:])

    # then every producer is validated with a validated code, every onboarding completed with an application
    # for GU, and the batches ran the same number of statements
    assert all(o.producer_id for o in outcomes.values())
    assert await _finished(app, b.ctx.tenant_id) == {"producers": {"validated": 30}, "codes": {"validated": 30},
                                                      "onboardings": {"COMPLETED": 30}, "applications": 30}
    assert statements.count == small, statements.statements


async def test_a_row_that_cannot_be_finished_is_refused_with_the_reason_and_leaves_nothing(app, gql, new_tenant):
    # given a tenant whose agents need a badge (data the registry lacks) to be validated, and a batch of three rows
    config = default_config_dict()
    config["producerManagement"]["producers"]["Agent"]["data"]["badge"] = {"type": "string", "required": True}
    tenant = await new_tenant(config)
    created = await agency(gql, tenant.admin)
    entries = sample_entries(3, seed=3, first_npn=65_000_000)
    await store_registry(app.state.sessions, app.state.settings, tenant.id, entries)
    principal = Principal("admin@example.com", tenant.id, frozenset({Role.AGENCY_ADMIN}), created["locator"])
    ctx = await bulk.context_for(app.state.settings, app.state.sessions, principal)
    assert ctx is not None
    b = Batches(ctx, created["locator"], entries)

    # when they are onboarded as one batch
    outcomes = await _run(app, b, "01HBATCHUNFINISHED00000000", [(n + 2, _request(b, e)) for n, e in enumerate(entries)])

    # then each row is refused with the validation's code, and no producer, code or onboarding is left
    assert {o.error.code for o in outcomes.values() if o.error} == {"MISSING_REQUIRED_DATA"}
    assert await _finished(app, tenant.id) == {"producers": {}, "codes": {}, "onboardings": {}, "applications": 0}


async def test_a_code_typed_in_by_hand_with_the_plans_next_value_is_skipped(app, gql, http, new_tenant):
    # given a job of three rows, and a producer code typed in by hand as the numbering plan's next value
    s = await bulk_setup(app, gql, new_tenant, count=3)
    await create_code(gql, s.admin, s.agency_id, type="AgencyCode", code="PC-AGT-0000002")
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]

    # when it runs (the batch's COPY meets the taken value and the rows go one by one)
    await start_job(gql, s.admin, job["id"])
    done = await wait_for_job(gql, s.admin, job["id"])

    # then every row is onboarded with its own code, none of them the taken one
    assert (done["status"], done["succeededRows"]) == ("COMPLETED", 3)
    async with app.state.sessions() as session:
        codes = (await session.execute(text(
            "SELECT c.code FROM producer_codes c JOIN producers p ON p.id = c.producer_id "
            "WHERE c.tenant_id = :t AND p.npn IS NOT NULL"), {"t": s.tenant_id})).scalars().all()
    assert len(set(codes)) == 3 and "PC-AGT-0000002" not in codes
