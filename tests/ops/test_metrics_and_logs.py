"""Request ids (header, masked errors, every log line), one JSON access line per request without variables,
and /metrics in Prometheus text format: operations, latency, errors, bulk rows, database pool."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from app.runtime.logs import formatter, log_format
from tests.api.bulk_helpers import bulk_setup, csv_file, file_rows, start_job, upload, wait_for_job
from tests.api.helpers import CREATE_PRODUCER

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
NAMED = "query ListProducers { producers(first: 3) { totalCount } }"


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """The JSON lines the server writes meanwhile, as the production logging set-up writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the exposition text; 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_each_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(gql, new_tenant):
    tenant = await new_tenant()
    generated = await gql.post(NAMED, token=tenant.admin)
    kept = await gql.post(NAMED, token=tenant.admin, headers={"X-Request-Id": "lb-7f3a9c01-aa"})
    replaced = await gql.post(NAMED, token=tenant.admin, headers={"X-Request-Id": "<script>" + "x" * 200})
    assert HEX_ID.match(generated.headers["X-Request-Id"])
    assert kept.headers["X-Request-Id"] == "lb-7f3a9c01-aa"
    assert HEX_ID.match(replaced.headers["X-Request-Id"])
    assert (await gql.http.get("/healthz")).headers["X-Request-Id"]


async def test_errors_carry_the_request_id_of_the_response(gql, new_tenant):
    tenant = await new_tenant()
    invalid = await gql.post("query { producers(first: 1) { noSuchField } }", token=tenant.admin)
    unauthenticated = await gql.post(NAMED, headers={"X-Request-Id": "no-token-req-1"})
    forbidden = await gql.post("query { auditEvents { totalCount } }",
                               token=gql.token(tenant.id, "READ_ONLY"))
    for response in (invalid, unauthenticated, forbidden):
        error = response.json()["errors"][0]
        assert error["extensions"]["requestId"] == response.headers["X-Request-Id"], response.text
    assert unauthenticated.status_code == 401 and unauthenticated.headers["X-Request-Id"] == "no-token-req-1"


async def test_access_lines_are_json_with_method_path_status_duration_operation_and_request_id(gql, new_tenant):
    tenant = await new_tenant()
    secret = "Zebulon-Quartz-Surname"
    with json_logs() as stream:
        response = await gql.post(CREATE_PRODUCER.replace("mutation(", "mutation CreateAgent("),
                                  {"input": {"type": "Agent", "lastName": secret}}, token=tenant.admin)
    request_id = response.headers["X-Request-Id"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if not line["logger"].startswith(("httpx", "httpcore"))]  # the client's
    access = [line for line in lines if line["logger"] == "producer_graph.access"]
    assert len(access) == 1
    line = access[0]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert line["operation"] == "mutation CreateAgent" and line["request_id"] == request_id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0 and line["time"]
    assert all(line.get("request_id") == request_id for line in lines)  # every line written meanwhile
    assert secret not in stream.getvalue()


async def test_metrics_count_operations_by_name_and_type_errors_by_code_and_show_the_pool(gql, new_tenant):
    tenant = await new_tenant()
    before = (await gql.http.get("/metrics")).text
    for _ in range(3):
        await gql.ok(NAMED, token=tenant.admin)
    await gql.post("query Broken { producers(first: 1) { noSuchField } }", token=tenant.admin)

    response = await gql.http.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    labels = {"operation_name": "ListProducers", "operation_type": "query"}
    assert metric(text, "graphql_requests_total", **labels) - metric(before, "graphql_requests_total", **labels) == 3
    assert metric(text, "graphql_request_duration_seconds_count", **labels) >= 3
    assert metric(text, "graphql_request_duration_seconds_bucket", le="+Inf", **labels) >= 3
    failed = {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert metric(text, "graphql_errors_total", **failed) - metric(before, "graphql_errors_total", **failed) == 1
    assert metric(text, "db_pool_size", pool="requests") >= 1
    assert "db_pool_checked_out_connections{pool=\"requests\"}" in text
    assert "db_pool_checked_out_connections{pool=\"bulk_worker\"}" in text
    assert "# TYPE bulk_rows_processed_total counter" in text


async def test_metrics_count_queries_by_read_path(gql, new_tenant):
    # given a single server process (no PROMETHEUS_MULTIPROC_DIR)
    tenant = await new_tenant()
    paths = ("compiled", "resolved", "compiled_failed")
    before = (await gql.http.get("/metrics")).text

    # when three queries are answered
    for _ in range(3):
        await gql.ok(NAMED, token=tenant.admin)
    text = (await gql.http.get("/metrics")).text

    # then /metrics counts them by read path
    assert "# TYPE graphql_read_path_total counter" in text
    assert sum(metric(text, "graphql_read_path_total", path=p) - metric(before, "graphql_read_path_total", path=p)
               for p in paths) == 3


async def test_metrics_count_bulk_rows_processed(app, gql, http, new_tenant):
    before = (await http.get("/metrics")).text
    s = await bulk_setup(app, gql, new_tenant, count=7)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    await start_job(gql, s.admin, job["id"])
    await wait_for_job(gql, s.admin, job["id"])
    after = (await http.get("/metrics")).text
    processed = sum(metric(after, "bulk_rows_processed_total", outcome=o) - metric(
        before, "bulk_rows_processed_total", outcome=o) for o in ("succeeded", "failed"))
    assert processed == 7


async def test_metrics_need_the_metrics_token_when_one_is_set(database_url):
    import httpx

    from app.runtime.server import create_app
    from tests.conftest import settings_for_test

    # given a server configured with a metrics token
    application = create_app(settings_for_test(metrics_token="scrape-secret"), database_url=database_url,
                             migrate=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            # when it is scraped without, with a wrong and with the right token
            anonymous = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})

    # then only the right token reads the metrics
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong.status_code == 401
    assert right.status_code == 200 and "graphql" in right.text


def test_logs_are_readable_lines_on_a_development_terminal_and_json_everywhere_else():
    import os
    import pty

    from tests.conftest import settings_for_test

    # given a real terminal and a pipe-like stream
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb") as _, os.fdopen(follower, "w") as terminal:
        # then development on the terminal reads as lines; any other environment, or LOG_FORMAT=json, as JSON
        assert log_format(settings_for_test(env="development"), terminal) == "console"
        assert log_format(settings_for_test(env="test"), terminal) == "json"
        assert log_format(settings_for_test(env="development", log_format="json"), terminal) == "json"
    assert log_format(settings_for_test(env="development"), io.StringIO()) == "json"
    assert log_format(settings_for_test(env="test", log_format="console"), io.StringIO()) == "console"
    # and both carry the message and the fields, with SSN-shaped text redacted
    record = logging.LogRecord("producer_graph.access", logging.INFO, __file__, 1, "request", None, None)
    record.path, record.note = "/graphql", "ssn 123-45-6789"
    line = formatter("console").format(record)
    assert "request" in line and "path" in line and "/graphql" in line and not line.startswith("{")
    assert "123-45" not in line and "6789" in line
    parsed = json.loads(formatter("json").format(record))
    assert (parsed["message"], parsed["logger"], parsed["level"], parsed["path"]) == (
        "request", "producer_graph.access", "info", "/graphql")
    assert "123-45" not in parsed["note"]
