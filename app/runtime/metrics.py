"""Prometheus metrics: GraphQL operations, errors, bulk rows, database pool use; served at `/metrics`.

Metrics are per process. With several worker processes, either scrape each process, or set
`PROMETHEUS_MULTIPROC_DIR` (an empty directory, before the processes start): counters and histograms are then
summed over every process, and the pool gauges carry the answering process's `pid`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

GRAPHQL_REQUESTS = Counter("graphql_requests_total", "GraphQL operations executed.",
                           ["operation_name", "operation_type"])
GRAPHQL_LATENCY = Histogram("graphql_request_duration_seconds", "GraphQL operation latency.",
                            ["operation_name", "operation_type"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
GRAPHQL_ERRORS = Counter("graphql_errors_total", "GraphQL errors returned, by code.", ["code"])
HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered, by route kind and status.",
                        ["path", "status"])
GRAPHQL_READ_PATHS = Counter("graphql_read_path_total", "Queries by how they were answered: `compiled` (one SQL "
                             "statement), `resolved` (field by field) or `compiled_failed` (then resolved).",
                             ["path"])
BULK_ROWS = Counter("bulk_rows_processed_total", "Bulk onboarding rows processed, by outcome.", ["outcome"])
WEBHOOK_ATTEMPTS = Counter("webhook_attempts_total", "Webhook delivery attempts, by outcome: delivered, retry "
                           "(failed, tried again later) or failed (given up).", ["outcome"])

# every metric above: /metrics of a single process registers these (one list, so a new metric is not left out)
METRICS = (GRAPHQL_REQUESTS, GRAPHQL_LATENCY, GRAPHQL_ERRORS, HTTP_REQUESTS, GRAPHQL_READ_PATHS, BULK_ROWS,
           WEBHOOK_ATTEMPTS)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 500  # operation names are client-chosen: bound the label values
_seen_names: set[str] = set()
KNOWN_PATHS = ("/graphql", "/healthz", "/readyz", "/metrics")


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


def observe_operation(name: str | None, operation_type: str, seconds: float, error_codes: Iterable[str]) -> None:
    label = operation_label(name)
    GRAPHQL_REQUESTS.labels(label, operation_type).inc()
    GRAPHQL_LATENCY.labels(label, operation_type).observe(seconds)
    for code in error_codes:
        GRAPHQL_ERRORS.labels(code).inc()


def read_path(path: str) -> None:
    GRAPHQL_READ_PATHS.labels(path).inc()


def observe_http(path: str, status: int) -> None:
    HTTP_REQUESTS.labels(path if path in KNOWN_PATHS else "other", str(status)).inc()


def bulk_row_processed(outcome: str) -> None:
    """`outcome`: succeeded, failed or error."""
    BULK_ROWS.labels(outcome).inc()


def webhook_attempted(outcome: str) -> None:
    """`outcome`: delivered, retry or failed."""
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


class PoolCollector(Collector):
    """Database pool use, read when scraped: connections checked out, and the pool's size."""

    def __init__(self, pools: dict[str, Any]) -> None:
        self.pools = pools

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["pool", "pid"] if multiprocess() else ["pool"]
        pid = [str(os.getpid())] if multiprocess() else []
        used = GaugeMetricFamily("db_pool_checked_out_connections", "Connections in use.", labels=labels)
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps open.", labels=labels)
        overflow = GaugeMetricFamily("db_pool_overflow_connections", "Connections open beyond the pool size.",
                                     labels=labels)
        for name, pool in self.pools.items():
            used.add_metric([name, *pid], float(pool.checkedout()))
            size.add_metric([name, *pid], float(pool.size()))
            overflow.add_metric([name, *pid], float(max(pool.overflow(), 0)))
        yield used
        yield size
        yield overflow


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(pools: dict[str, Any]) -> tuple[bytes, str]:
    """The text exposition format of every metric, and its content type."""
    registry = CollectorRegistry()
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
    else:
        for collector in METRICS:
            registry.register(collector)
    registry.register(PoolCollector(pools))
    return generate_latest(registry), CONTENT_TYPE_LATEST

