"""The demo tenant: every object the guides promise, each underwriting outcome, idempotent, tokens per role."""

from __future__ import annotations

import time
from typing import Any

import pytest
import pytest_asyncio

from app.auth import principal_from_header
from app.runtime.demo import Demo, DemoError, build_demo, run
from app.runtime.graphiql import EXAMPLE_QUERY
from tests.conftest import free_port, real_uvicorn, settings_for_test

QUOTES = """{ quotes(first: 100) { nodes { state data flags { level } } } }"""
SNAPSHOT = """query($id: ID!) { policy(id: $id) { producerCode producerCodeOfRecord transactions { kind state }
  feb: snapshot(at: "2026-02-01T00:00:00Z") { producerCode }
  jun: snapshot(at: "2026-06-01T00:00:00Z") { producerCode }
  aug: snapshot(at: "2026-08-01T00:00:00Z") { producerCode } } }"""
JOB = """query($id: ID!) { bulkOnboardingJob(id: $id) { status totalRows succeededRows failedRows invalidRows
  rows(first: 20) { nodes { rowNumber status errorCode problems { code } } } } }"""
COUNTS = """{ producers { totalCount } quotes { totalCount } policies { totalCount } bulkOnboardingJobs { totalCount }
  onboardings { totalCount } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(app: Any, http: Any, settings: Any) -> tuple[Demo, float]:
    started = time.monotonic()
    built = await build_demo(http, app.state.sessions, settings)
    return built, time.monotonic() - started


async def test_demo_is_built_in_seconds(demo):
    built, seconds = demo
    assert built.created > 30
    assert seconds < 30


async def test_quotes_cover_each_underwriting_outcome(gql, demo, settings):
    built, _ = demo
    token = built.tokens(settings)["UNDERWRITER"]
    quotes = {q["data"]["demo"]: q for q in (await gql.ok(QUOTES, token=token))["quotes"]["nodes"]}
    outcomes = {key: (q["state"], [f["level"] for f in q["flags"]]) for key, q in quotes.items()}
    assert outcomes == {
        "underwritten": ("UNDERWRITTEN", []),
        "flaggedInfo": ("UNDERWRITTEN", ["INFO"]),
        "blocked": ("DRAFT", ["BLOCK"]),
        "declined": ("DECLINED", ["DECLINE"]),
        "rejected": ("REJECTED", ["REJECT"]),
        "draft": ("DRAFT", []),
        "policy": ("ISSUED", []),
    }


async def test_policy_has_an_out_of_sequence_change(gql, demo, settings):
    built, _ = demo
    data = await gql.ok(SNAPSHOT, {"id": built.values["policyId"]}, token=built.tokens(settings)["UNDERWRITER"])
    policy = data["policy"]
    assert [t["kind"] for t in policy["transactions"]] == ["ISSUANCE", "CHANGE", "CHANGE"]
    assert (policy["feb"]["producerCode"], policy["jun"]["producerCode"], policy["aug"]["producerCode"]) == (
        "NW-201", "NW-200", "NW-202")
    assert policy["producerCodeOfRecord"] == "NW-201"


async def test_bulk_job_finished_with_failed_and_invalid_rows(gql, demo, settings):
    built, _ = demo
    job = (await gql.ok(JOB, {"id": built.values["bulkJobId"]}, token=built.tokens(settings)["TENANT_ADMIN"])
           )["bulkOnboardingJob"]
    rows = {r["rowNumber"]: (r["status"], r["errorCode"] or [p["code"] for p in r["problems"]])
            for r in job["rows"]["nodes"]}
    assert (job["status"], job["totalRows"], job["succeededRows"], job["failedRows"], job["invalidRows"]) == (
        "COMPLETED", 9, 5, 2, 2)
    assert rows[7] == ("FAILED", "LAST_NAME_MISMATCH")
    assert rows[8] == ("FAILED", "REGISTRY_NOT_FOUND")
    assert rows[9] == ("INVALID", ["INVALID_EMAIL"])
    assert rows[10] == ("INVALID", ["INVALID_SSN"])
    assert built.values["failedRowNumber"] == "7"


async def test_every_role_token_reads_what_it_may(gql, demo, settings):
    built, _ = demo
    seen = {}
    for role, token in built.tokens(settings).items():
        body = await gql("{ producers { totalCount } }", token=token)
        assert not body.get("errors"), (role, body)
        seen[role] = body["data"]["producers"]["totalCount"]
    assert seen["TENANT_ADMIN"] == seen["UNDERWRITER"] == seen["READ_ONLY"]
    assert seen["PRODUCER"] == 1
    assert 1 < seen["AGENCY_ADMIN"] < seen["TENANT_ADMIN"]


async def test_running_the_demo_again_creates_nothing(app, http, gql, demo, settings):
    built, _ = demo
    token = built.tokens(settings)["TENANT_ADMIN"]
    before = await gql.ok(COUNTS, token=token)
    again = await build_demo(http, app.state.sessions, settings)
    after = await gql.ok(COUNTS, token=token)
    assert again.created == 0
    assert again.tenant_id == built.tenant_id and again.values == built.values
    assert after == before


async def test_graphiql_example_query_shows_the_demo_agencies_to_its_admin(gql, demo, settings):
    built, _ = demo
    body = await gql(EXAMPLE_QUERY, token=built.tokens(settings)["TENANT_ADMIN"])
    assert not body.get("errors")
    names = {p["name"] for p in body["data"]["producers"]["nodes"]}
    assert names == {"Northwind Insurance Agency", "Summit Brokers"}


def link_token(lines: list[str], address: str) -> str:
    """The token of the GraphiQL link the demo printed last, checking the link names `address`."""
    link = lines[-1].strip()
    assert link.startswith(f"{address}/graphql#token="), lines[-3:]
    return link.split("#token=", 1)[1]


async def test_the_demo_builds_through_the_running_server_and_links_graphiql_to_it(app, gql, demo, settings,
                                                                                   database_url):
    # given a real server on some port, on the demo's database
    async with real_uvicorn(app) as address:
        lines: list[str] = []
        # when the demo is run with its address
        built = await run(settings.model_copy(update={"database_url": database_url}), url=address,
                          out=lines.append)
    # then it was built through that server, and the link opens GraphiQL there with a working admin token
    assert lines[0] == f"Building the demo through the server at {address}"
    assert built.created == 0 and built.tenant_id == demo[0].tenant_id
    token = link_token(lines, address)
    assert (await gql.ok("{ producers(first: 1) { totalCount } }", token=token))["producers"]["totalCount"] > 10


async def test_without_a_server_the_demo_builds_in_process_and_links_the_address_given(gql, demo, settings,
                                                                                      database_url):
    # given nothing listening at the address given
    address = f"http://127.0.0.1:{free_port()}"
    lines: list[str] = []
    # when the demo is run with it
    built = await run(settings.model_copy(update={"database_url": database_url}), url=address, out=lines.append)
    # then it says so, builds in-process, and links GraphiQL at that address (not a fixed 8000)
    assert lines[0] == f"No server answers at {address}/healthz: building the demo in-process"
    assert built.created == 0
    assert "start the server first with `producer-graph serve`" in lines[-2]
    token = link_token(lines, address)
    assert not (await gql("{ producers(first: 1) { totalCount } }", token=token)).get("errors")


async def test_a_demo_with_other_settings_than_the_server_is_refused_in_one_sentence(app, demo, settings,
                                                                                     database_url):
    # given a running server, and a demo run with another JWT secret than the server's
    other = settings.model_copy(update={"database_url": database_url,
                                        "jwt_secret": "another-secret-of-at-least-thirty-two-bytes"})
    async with real_uvicorn(app) as address:
        # when the demo is run against it
        with pytest.raises(DemoError) as refused:
            await run(other, url=address, out=lambda line: None)
    # then it says the server refused its token and which settings to align
    assert f"the server at {address} refused the demo's token" in str(refused.value)
    assert "DATABASE_URL or DATA_DIR, JWT_SECRET" in str(refused.value)


async def test_the_demo_prints_a_graphiql_link_carrying_the_admin_token_in_its_fragment(demo, settings, database_url):
    built, _ = demo
    printed: list[str] = []
    await run(settings_for_test(database_url=database_url), out=printed.append)
    links = [line.strip() for line in printed if "/graphql#token=" in line]
    assert len(links) == 1
    token = links[0].split("#token=", 1)[1]
    assert "?" not in links[0] and " " not in links[0]
    principal = principal_from_header(f"Bearer {token}", settings)
    assert (principal.tenant_id, list(principal.roles)) == (built.tenant_id, ["TENANT_ADMIN"])
