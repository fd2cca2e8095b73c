"""A single-page app on another origin, in a real browser: a page served from a second loopback origin runs a
query, a mutation, a multipart upload and a subscription against the API. Each works when the origin is in
ALLOWED_ORIGINS; when it is not, the browser blocks each one (fetch rejects, the socket is closed) and the
server changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import ApiServer, static_page

PAGE = (Path(__file__).parent / "portal.html").read_bytes()
ORIGINS = ("allowed", "refused")
_unique = itertools.count(1)

ROOTS = "{ producers(filter: {rootOnly: true}) { totalCount nodes { name } } }"
CREATE = """mutation($input: CreateProducerInput!) { createProducer(input: $input) {
  producer { name state parent { name } } userErrors { code } } }"""
FIND = "query($search: String!) { producers(filter: {search: $search}) { totalCount } }"
UPLOAD = """mutation($file: Upload!, $agencyId: ID) { uploadBulkOnboardingFile(file: $file, agencyId: $agencyId) {
  job { fileName status totalRows } userErrors { code } } }"""
JOBS = "{ bulkOnboardingJobs(first: 100) { nodes { fileName } } }"
PROGRESS = "subscription($jobId: ID!) { bulkOnboardingProgress(jobId: $jobId) { status total processed } }"


@pytest.fixture(scope="module")
def portal(api_server: ApiServer) -> Iterator[dict[str, str]]:
    """The same page served on the allowed origin and on a refused one."""
    with static_page(api_server.allowed_origin, PAGE) as allowed, static_page(api_server.refused_origin, PAGE) as refused:
        yield {"allowed": allowed, "refused": refused}


async def open_portal(browser: Any, portal: dict[str, str], origin: str) -> Any:
    await browser.page.goto(portal[origin])
    return browser.page


@pytest.fixture(autouse=True)
def stays_on_loopback(browser: Any) -> Iterator[None]:
    yield
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in browser.requests + browser.sockets), browser.requests


async def api_data(api_server: ApiServer, query: str, **variables: Any) -> dict[str, Any]:
    """What the API holds, asked directly (not from the browser)."""
    async with httpx.AsyncClient(base_url=api_server.url) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Bearer {api_server.tokens['TENANT_ADMIN']}"})
    return response.json()["data"]  # type: ignore[no-any-return]


def blocked(result: dict[str, Any]) -> bool:
    return "failed" in result and "Failed to fetch" in result["failed"]


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_query_from_another_origin_works_only_when_the_origin_is_allowed(api_server, browser, portal, origin):
    page = await open_portal(browser, portal, origin)
    result = await page.evaluate("([api, token, query]) => graphql(api, token, query, {})",
                                 [api_server.url, api_server.tokens["READ_ONLY"], ROOTS])
    if origin == "refused":
        assert blocked(result), result
        return
    assert result["status"] == 200
    assert {p["name"] for p in result["body"]["data"]["producers"]["nodes"]} == {
        "Northwind Insurance Agency", "Summit Brokers"}
    assert result["requestId"]  # X-Request-Id is exposed to the page


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_mutation_from_another_origin_works_only_when_the_origin_is_allowed(api_server, browser, portal,
                                                                                    origin):
    email = f"portal.{origin}.{next(_unique)}@example.com"
    page = await open_portal(browser, portal, origin)
    result = await page.evaluate(
        "([api, token, query, input]) => graphql(api, token, query, {input: input})",
        [api_server.url, api_server.tokens["TENANT_ADMIN"], CREATE,
         {"type": "Agency", "organizationName": f"Portal {origin.title()} Agency", "email": email,
          "parentId": api_server.demo.values["northwindId"]}])
    created = (await api_data(api_server, FIND, search=email))["producers"]["totalCount"]
    if origin == "refused":
        assert blocked(result), result
        assert created == 0  # the preflight failed: the mutation never reached the server
        return
    assert result["status"] == 200
    assert result["body"]["data"]["createProducer"] == {
        "producer": {"name": "Portal Allowed Agency", "state": "DRAFT", "parent": {"name": "Northwind Insurance Agency"}},
        "userErrors": []}
    assert created == 1


@pytest.mark.parametrize("origin", ORIGINS)
async def test_an_upload_from_another_origin_works_only_when_the_origin_is_allowed(api_server, browser, portal,
                                                                                  origin):
    async with httpx.AsyncClient(base_url=api_server.url) as http:
        sample = (await http.get("/bulk-onboarding/sample.csv",
                                 headers={"Authorization": f"Bearer {api_server.tokens['TENANT_ADMIN']}"})).text
    assert sample.lstrip("\ufeff").startswith("Last Name,NPN"), sample[:200]
    file_name = f"portal-{origin}-{next(_unique)}.csv"
    page = await open_portal(browser, portal, origin)
    result = await page.evaluate(
        "([api, token, query, variables, csv, name]) => upload(api, token, query, variables, csv, name)",
        [api_server.url, api_server.tokens["TENANT_ADMIN"], UPLOAD,
         {"agencyId": api_server.demo.values["summitEastId"]}, sample, file_name])
    names = [j["fileName"] for j in (await api_data(api_server, JOBS))["bulkOnboardingJobs"]["nodes"]]
    if origin == "refused":
        assert blocked(result), result
        assert file_name not in names
        return
    assert result["status"] == 200, result
    payload = result["body"]["data"]["uploadBulkOnboardingFile"]
    assert payload["userErrors"] == []
    assert (payload["job"]["fileName"], payload["job"]["totalRows"]) == (file_name, 1)
    assert file_name in names


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_subscription_from_another_origin_works_only_when_the_origin_is_allowed(api_server, browser, portal,
                                                                                       origin):
    page = await open_portal(browser, portal, origin)
    result = await page.evaluate(
        "([api, token, query, jobId]) => subscribe(api, token, query, {jobId: jobId})",
        [api_server.url, api_server.tokens["TENANT_ADMIN"], PROGRESS, api_server.demo.values["bulkJobId"]])
    if origin == "refused":
        assert result == {"closed": 1006}  # the handshake was refused: the socket never opened
        return
    assert result["frame"] == "next", result
    assert result["payload"]["data"]["bulkOnboardingProgress"]["status"] == "COMPLETED"
