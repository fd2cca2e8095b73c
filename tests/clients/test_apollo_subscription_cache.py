"""Apollo Client's normalised cache (InMemoryCache, from npm in tests/clients/apollo) is updated by subscription
events alone: a query caches a producer and a bulk onboarding job; the changes are made beside Apollo; the
`producerEvents` node and the `bulkOnboardingProgress` job update the cached entries, read back with
fetchPolicy cache-only, without a refetch. Needs node and npm (`npm ci` runs once, as for the persisted query test)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from tests.api.bulk_helpers import SET_PAYMENT, START, bulk_setup, csv_file, file_rows, upload
from tests.api.helpers import create_producer
from tests.clients.test_apollo_persisted_queries import CLIENT, run
from tests.clients.test_typescript_example import installed
from tests.conftest import real_uvicorn

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run Apollo Client")


async def test_subscription_events_update_apollos_cache_without_a_refetch(app, gql, http, new_tenant):
    # given Apollo Client installed, a validated bulk job of 4 rows and a producer of the job's agency
    if not installed(CLIENT):
        run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=240)
    s = await bulk_setup(app, gql, new_tenant, count=4)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    producer = await create_producer(gql, s.admin, parent=s.agency_id, lastName="FromTheQuery")
    async with real_uvicorn(app) as address:
        env = {**os.environ, "PRODUCER_GRAPH_URL": f"{address}/graphql", "PRODUCER_GRAPH_TOKEN": s.admin,
               "PRODUCER_ID": producer["id"], "JOB_ID": job["id"], "SET_PAYMENT": SET_PAYMENT, "START": START}
        # when the script caches both by query, changes them beside Apollo and follows both subscriptions
        process = await asyncio.create_subprocess_exec(
            "node", "subscription_cache.mjs", cwd=CLIENT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    out = json.loads(stdout)
    # then the queries were the only HTTP requests Apollo sent: nothing was refetched
    assert out["requestsAfterQueries"] == 2 and len(out["requests"]) == 2
    # and the producer's cache entry holds the name the event's node carried
    assert out["producerBefore"] == {"__typename": "Producer", "id": producer["id"], "lastName": "FromTheQuery",
                                     "state": "DRAFT"}
    assert out["producerEvents"][-1]["producerEvents"]["node"]["lastName"] == "FromTheEvent"
    assert out["producerAfter"] == {**out["producerBefore"], "lastName": "FromTheEvent"}
    # and the job's cache entry went from the validated job to the completed one, counters included
    assert out["jobBefore"]["status"] == "VALIDATED" and out["jobBefore"]["succeededRows"] == 0
    assert out["progress"][-1]["bulkOnboardingProgress"]["status"] == "COMPLETED"
    assert out["jobAfter"] == {"__typename": "BulkOnboardingJob", "id": job["id"], "status": "COMPLETED",
                               "succeededRows": 4, "failedRows": 0,
                               "progress": {"__typename": "BulkOnboardingProgress", "processed": 4}}
