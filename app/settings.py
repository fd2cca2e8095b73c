"""Process settings, read from the environment (and a `.env` file) and validated at start."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "producer-graph-development-secret-change-me"


class Settings(BaseSettings):
    """Everything the server needs to know about its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="postgresql://... of an external server; unset = embedded pgserver."
    )
    data_dir: Path = Field(default=Path(".pgdata"), description="Embedded PostgreSQL data directory.")
    db_pool_size: int = 10
    db_max_overflow: int = 10

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_private_key: str | None = Field(default=None, description="RS256 only, for `token`.")
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    ssn_key: str | None = Field(default=None, description="32-byte key, base64 or hex, for SSN encryption.")

    max_query_depth: int = 12
    max_query_tokens: int = 5000
    max_aliases: int = 30
    max_page_size: int = 100
    metrics_token: str | None = Field(
        default=None, description="When set, /metrics requires `Authorization: Bearer <metrics_token>`.")
    max_query_cost: int = Field(default=5000, description="Highest cost of one operation (see schema/cost.py).")
    max_directives: int = Field(default=50, description="Most directives one document may use.")
    max_request_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest JSON request body (query and variables) of /graphql; a "
        "larger one gets 413 REQUEST_TOO_LARGE before it is parsed. File uploads (multipart) have BULK_MAX_BYTES.")
    max_list_length: int = Field(
        default=1000, ge=1, description="Most items of any one list argument (ids to fetch or remove, flags, row "
        "numbers...), literal or in variables; a longer one is refused with LIST_TOO_LONG before anything runs. "
        "Each item also costs 1 in the query cost.")
    throttle_enabled: bool = Field(
        default=True, description="Give every caller (tenant, token subject) a budget of query cost that refills "
        "over time; a request it cannot pay is refused with THROTTLED and HTTP 429. False: no budget, and "
        "`extensions.cost` has no `throttleStatus`.")
    throttle_maximum_available: float = Field(
        default=20_000, ge=1, description="Most query cost a caller's budget holds (Shopify's bucket size); at "
        "least MAX_QUERY_COST, so every query the cost limit allows can be paid.")
    throttle_restore_rate: float = Field(
        default=1_000, gt=0, description="Query cost a caller's budget regains per second.")
    throttle_lease: float = Field(
        default=1_000, ge=1, description="Slice of a caller's budget each server process takes from PostgreSQL at "
        "once and spends in memory (one round trip per slice, not per request). With N processes a caller may be "
        "granted up to N x THROTTLE_LEASE more than the budget; at most THROTTLE_MAXIMUM_AVAILABLE.")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins (scheme://host[:port]) of other sites allowed to call the "
        "API: CORS for HTTP (preflights answered before authentication) and the WebSocket handshake; the server's "
        "own origin needs no entry, `*` allows any. JSON list in the environment.")
    worker_healthcheck_timeout_seconds: int = Field(
        default=30, ge=1, description="With `serve --workers N`: a worker that does not answer the supervisor's "
        "health check within this many seconds is killed and replaced, dropping its requests in flight. A starved "
        "CPU delays healthy workers: keep it well above the longest stall to expect (uvicorn's own default is 5).")
    public_base_url: str | None = Field(
        default=None, description="scheme://host[:port][/prefix] clients reach the server at, for the download "
        "URLs the API returns (failedRowsReportUrl, sample files); unset, they are paths relative to the server. "
        "Never taken from the request's Host header.")
    parser_cache_size: int = 1000
    compiled_reads: bool = Field(
        default=True, description="Answer the queries the read path supports (pages of producers with their "
        "parents, ancestors, codes, licenses and appointments) with one SQL statement that builds the JSON; "
        "false resolves every query field by field.")
    compiled_reads_max_shapes: int = Field(
        default=64, ge=0, description="Distinct query shapes compiled per process; later new shapes are resolved "
        "field by field. Each is a prepared statement (~0.2-1 MB of PostgreSQL memory) on every pooled "
        "connection that runs it.")

    persisted_queries_max_entries: int = Field(
        default=5000, ge=1, description="Automatic persisted queries kept in PostgreSQL (shared by every server "
        "process); registering one more evicts the least recently used.")
    persisted_query_max_bytes: int = Field(
        default=32 * 1024, ge=1, description="Largest query text that may be registered as a persisted query; "
        "larger ones are refused with PERSISTED_QUERY_TOO_LARGE (send them as plain queries).")
    persisted_queries_cache_size: int = Field(
        default=500, ge=0, description="Persisted queries each process keeps in memory in front of PostgreSQL.")

    bulk_max_bytes: int = 20 * 1024 * 1024
    bulk_max_rows: int = 100_000
    bulk_max_uncompressed_bytes: int = 200 * 1024 * 1024
    bulk_max_shared_strings_bytes: int = 40 * 1024 * 1024
    document_max_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1, le=2**31 - 1, description="Largest document any media field accepts; a field's `maxBytes` "
        "may only lower it.")
    document_url_ttl_seconds: int = Field(
        default=300, ge=10, le=3600, description="How long a signed document download URL (a Document's `url`) "
        "stays valid, in seconds.")
    document_url_secret: str | None = Field(
        default=None, description="Key of the HMAC that signs document download URLs; derived from JWT_SECRET (or "
        "SSN_KEY) when unset. Changing it invalidates the URLs already handed out.")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "producer-graph@localhost"
    smtp_starttls: bool = False

    webhook_allow_private_networks: bool | None = Field(
        default=None, description="Whether webhook endpoints may be on loopback, private or link-local addresses "
        "(the host name is resolved, at registration and before each delivery). Unset: refused when ENV=production "
        "(server-side request forgery), allowed otherwise, for local receivers and tests.")
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for a webhook receiver to connect and answer; longer is a "
        "failed attempt.")
    webhook_max_attempts: int = Field(
        default=15, ge=1, description="Attempts per webhook delivery before it is given up (status FAILED).")
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="Wait before the second attempt of a webhook delivery; doubled per failed "
        "attempt (with jitter), capped by WEBHOOK_RETRY_MAX_SECONDS.")
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts of a webhook delivery.")
    webhook_disable_after_failures: int = Field(
        default=50, ge=1, description="A webhook endpoint whose attempts failed this many times in a row (across "
        "its deliveries) is disabled; a tenant admin enables it again with enableWebhookEndpoint.")
    webhook_concurrency: int = Field(
        default=8, ge=1, description="Webhook deliveries each server process sends at once.")
    webhook_secret_grace_seconds: int = Field(
        default=86400, ge=0, description="After rotateWebhookSecret, the previous secret keeps signing next to the "
        "new one (two signatures in webhook-signature) this long, so a receiver can switch without refusing a "
        "message.")
    webhook_retention_days: float = Field(
        default=30.0, gt=0, description="Delivered and failed webhook deliveries (with their attempts) are deleted "
        "this many days after they were written; pending ones are kept.")
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each server process looks for due webhook deliveries when no "
        "notification woke it (retries fall due without one).")
    compliance_digest_hour: int = Field(
        default=6, ge=0, le=23, description="UTC hour from which each agency's daily compliance digest is sent.")
    compliance_alert_sweep_hour: int = Field(
        default=0, ge=0, le=23, description="UTC hour from which each tenant's daily compliance alert sweep runs: it "
        "raises `complianceAlert.raised` to webhooks for each credential that entered one of the tenant's windows "
        "(by default 90, 30, 7 days, expired), whether or not a digest is sent.")
    compliance_digest_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often each server process looks for digests and alert sweeps due (one "
        "digest is sent per agency and day, one sweep run per tenant and day, whichever process takes its lease).")
    compliance_digest_lease_seconds: float = Field(
        default=600.0, gt=0, description="How long a process holds an agency's digest (or a tenant's alert sweep) of "
        "the day before another one may take it over (it crashed while sending).")

    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="Log lines: `json` (one object per line), `console` (readable lines) or "
        "`auto`: readable on a terminal in development, JSON everywhere else.")

    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("allowed_origins")
    @classmethod
    def _origins_as_browsers_send_them(cls, origins: list[str]) -> list[str]:
        return [normalized_origin(origin) for origin in origins]

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError("PUBLIC_BASE_URL must be http(s)://host[:port][/prefix], without query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _budget_pays_every_allowed_query(self) -> Settings:
        if self.throttle_maximum_available < self.max_query_cost:
            raise ValueError(f"THROTTLE_MAXIMUM_AVAILABLE ({self.throttle_maximum_available:g}) must be at least "
                             f"MAX_QUERY_COST ({self.max_query_cost}): a query under the cost limit must be payable")
        if self.throttle_lease > self.throttle_maximum_available:
            raise ValueError("THROTTLE_LEASE must be at most THROTTLE_MAXIMUM_AVAILABLE")
        return self

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env == "production":
            if self.jwt_algorithm == "HS256" and not self.jwt_secret:
                raise ValueError("JWT_SECRET must be set when ENV=production")
            if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
                raise ValueError("JWT_PUBLIC_KEY must be set when ENV=production")
            if not self.ssn_key:
                raise ValueError("SSN_KEY must be set when ENV=production (32 bytes, base64)")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def webhook_private_networks_allowed(self) -> bool:
        """WEBHOOK_ALLOW_PRIVATE_NETWORKS, or its default: allowed outside production."""
        if self.webhook_allow_private_networks is None:
            return not self.production
        return self.webhook_allow_private_networks

    @property
    def signing_secret(self) -> str:
        """HS256 secret; a fixed development secret outside production."""
        return self.jwt_secret or DEV_JWT_SECRET

    @property
    def document_url_key(self) -> bytes:
        """The key signing document URLs: DOCUMENT_URL_SECRET, else derived from a server secret (never the
        bare JWT secret, so a URL signature and a token never share a key)."""
        if self.document_url_secret:
            return self.document_url_secret.encode()
        base = self.jwt_secret or self.ssn_key_or_dev
        return hashlib.sha256(b"producer-graph document urls\0" + base.encode()).digest()

    @property
    def ssn_key_or_dev(self) -> str:
        """The SSN key; outside production a fixed development key (never for real data)."""
        return self.ssn_key or "ZGV2ZWxvcG1lbnQtc3NuLWtleS0zMi1ieXRlcy0wMDA="


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalized_origin(origin: str) -> str:
    """`origin` as a browser sends it in `Origin` (lowercase, no default port), or ValueError when it is not one."""
    if origin.strip() == "*":
        return "*"
    refusal = ValueError(f"{origin!r} is not an origin: write scheme://host[:port] (http or https, no path), "
                         "for example https://portal.example.com, or * for any")
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError as exc:
        raise refusal from exc
    if (parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.username):
        raise refusal
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
