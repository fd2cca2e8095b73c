"""Where the database is: an external URL, or an embedded PostgreSQL started through pgserver."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from persistence import lengths  # noqa: F401  (registers the length check on every flush)

log = logging.getLogger(__name__)

_embedded: dict[str, Any] = {}


def quiet_pgserver() -> Any:
    """pgserver, imported without the warning platformdirs gives when XDG_RUNTIME_DIR is unset (services,
    containers, CI): pgserver then keeps its lock file under the temporary directory, which is fine."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import pgserver
    for warning in caught:
        log.debug("while importing pgserver: %s", warning.message)
    return pgserver


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _handles(path: Path) -> Any:
    """pgserver's list of the processes using the server in `path` (the last one out stops it)."""
    from pgserver.utils import DiskList

    return DiskList(path / ".handle_pids.json")


def _prune_handles(pgserver: Any, path: Path) -> tuple[list[int], list[int]]:
    """Drop the processes that died without leaving (SIGKILL, a crash) from pgserver's list, under its lock, so
    they never keep the server running; returns (live, dropped)."""
    with pgserver.postgres_server.PostgresServer._lock:
        handles = _handles(path)
        pids = handles.get()
        live = [pid for pid in pids if pid != os.getpid() and _alive(pid)]
        dropped = [pid for pid in pids if pid != os.getpid() and pid not in live]
        if dropped:
            handles.put(live + [pid for pid in pids if pid == os.getpid()])
    return live, dropped


def _arrival(pgserver: Any, path: Path) -> str:
    """How this process comes to the embedded server: starts it, joins it, adopts it or restarts it."""
    from pgserver.utils import PostmasterInfo

    live, dropped = _prune_handles(pgserver, path)
    try:
        info = PostmasterInfo.read_from_pgdata(path)
    except (AssertionError, ValueError):  # a truncated postmaster.pid: PostgreSQL replaces it at start
        info = None
    if info is not None and info.is_running():
        if live:
            return f"joined the embedded PostgreSQL that processes {live} use"
        return (f"adopted the embedded PostgreSQL left running by processes that stopped without stopping it "
                f"({dropped})" if dropped else "adopted the embedded PostgreSQL already running")
    if info is not None:
        return "restarted the embedded PostgreSQL (it had stopped without cleaning up: a stale postmaster.pid)"
    return "started the embedded PostgreSQL"


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `data_dir`; return its libpq URL. Data persists.

    A server left by a process that was killed is adopted (still running) or restarted (stopped); the log says
    which. `stop_embedded` (or the end of the process) stops it unless another process still uses it."""
    path = data_dir.resolve()
    key = str(path)
    if key not in _embedded:
        pgserver = quiet_pgserver()
        path.mkdir(parents=True, exist_ok=True)
        fresh = not (path / "PG_VERSION").exists()
        arrival = "initialised and started a new embedded PostgreSQL" if fresh else _arrival(pgserver, path)
        _embedded[key] = pgserver.get_server(path, cleanup_mode="stop")
        log.info(f"{arrival}; ready", extra={"data_dir": key})
    return str(_embedded[key].get_uri())


def stop_embedded() -> None:
    """Leave the embedded PostgreSQL this process started or joined: stopped unless another live process
    (another `serve` on the same DATA_DIR) still uses it."""
    for key, server in list(_embedded.items()):
        live, _ = _prune_handles(quiet_pgserver(), Path(key))
        server.cleanup()
        del _embedded[key]
        if live:
            log.info("embedded PostgreSQL left running for processes %s", live, extra={"data_dir": key})
        else:
            log.info("embedded PostgreSQL stopped", extra={"data_dir": key})


def resolve_url(database_url: str | None, data_dir: Path) -> str:
    """The libpq URL to use: the configured one, or the embedded server's."""
    return database_url or start_embedded(data_dir)


def async_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of a postgresql:// URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The libpq form, for asyncpg.connect and LISTEN connections."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


IDLE_PING_SECONDS = 5.0


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10,
                  idle_ping_seconds: float | None = None) -> AsyncEngine:
    """An asyncpg engine whose pool checks a connection only when it has been idle for `idle_ping_seconds`
    (default IDLE_PING_SECONDS).

    SQLAlchemy's `pool_pre_ping` checks every checkout (asyncpg: BEGIN, an empty query, ROLLBACK: three round
    trips before each unit of work). Here a connection handed back within the last seconds is trusted (the pool
    hands out the one returned last, so a busy pool's are always fresh); an idle one is pinged, and replaced when the ping fails. A connection that died while busy fails its statement, which
    invalidates the pool (every older connection is replaced on its next checkout) and answers the request with
    DATABASE_UNAVAILABLE; a compiled read is then resolved again field by field on a fresh connection."""
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        pool_use_lifo=True,  # the connection used last goes out first: warm, rarely idle long enough to be pinged
        connect_args={"server_settings": {"application_name": "producer-graph"}},
    )
    _ping_when_idle(engine, IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def handed_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool discards it and hands out another (a new one if need be)
            raise DisconnectionError("the pooled connection did not answer") from exc


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}  # admin_shutdown, crash_shutdown, cannot_connect_now
# Faults that say nothing about the statement: a retry later can succeed. Class 08 (connection exceptions) is
# matched by prefix; the rest are admin/crash shutdown, cannot connect now, idle session timeout,
# serialization failure, deadlock and too many connections.
_TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "57P05", "40001", "40P01", "53300"}
_CLOSED_CONNECTION = ("connection is closed", "connection was closed", "connection lost", "connection reset",
                      "underlying connection is closed")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything that caused it (`__cause__`, `__context__`, SQLAlchemy's `orig`), once each."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])


def _connection_lost(current: BaseException) -> bool:
    """One exception (not its causes) says the connection to the database is gone or cannot be made."""
    import asyncpg
    from sqlalchemy.exc import OperationalError

    if isinstance(current, (OSError, asyncpg.ConnectionDoesNotExistError, asyncpg.CannotConnectNowError,
                            asyncpg.PostgresConnectionError)):
        return True
    if isinstance(current, DBAPIError) and current.connection_invalidated:
        return True
    sqlstate = getattr(current, "sqlstate", None)
    if sqlstate in _UNAVAILABLE_SQLSTATES or (isinstance(sqlstate, str) and sqlstate.startswith("08")):
        return True
    # asyncpg's InterfaceError is also the driver refusing a statement (too many bind parameters, a bad
    # argument): only the ones about a closed connection are an outage
    if isinstance(current, asyncpg.InterfaceError) and not isinstance(current, asyncpg.DataError):
        return any(words in str(current).lower() for words in _CLOSED_CONNECTION)
    return isinstance(current, OperationalError) and "connect" in str(current).lower()


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached, rather than refusing a statement."""
    return any(_connection_lost(current) for current in _causes(exc))


def transient_fault(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a fault of the moment, not of the work: the connection lost, the
    server starting up or shutting down, a serialization failure or deadlock, too many connections.
    The same work retried later can succeed; it must not be recorded as failed."""
    import asyncpg

    for current in _causes(exc):
        if isinstance(current, ConcurrentChange) or _connection_lost(current):
            return True
        if isinstance(current, (asyncpg.TooManyConnectionsError, asyncpg.SerializationError,
                                asyncpg.DeadlockDetectedError)):
            return True
        if getattr(current, "sqlstate", None) in _TRANSIENT_SQLSTATES:
            return True
    return False


class ConcurrentChange(Exception):
    """Another transaction changed the same rows at the same time (deadlock or serialization failure)."""


_RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure


@dataclass
class AuditStamp:
    """Who is changing data, and in which request or job: the audit triggers record both."""

    request_id: str = ""
    actor: str = ""


# Set per request (app.runtime.request_log) and per bulk row (app.runtime.bulk_worker); read by every transaction.
audit_context: ContextVar[AuditStamp | None] = ContextVar("audit_context", default=None)

_STAMP = text("SELECT set_config('app.actor', :actor, true), set_config('app.request_id', :request_id, true)")


@asynccontextmanager
async def read_only(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads that need no transaction: each statement is its own snapshot (as under READ COMMITTED),
    and the driver sends no BEGIN and ROLLBACK around them. Never for writes."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error; conflicts become ConcurrentChange.

    When the caller is known, it is stamped on the transaction (one statement) for the audit triggers.
    """
    try:
        async with sessions() as session, session.begin():
            stamp = audit_context.get()
            if stamp is not None:
                await session.execute(_STAMP, {"actor": stamp.actor[:200], "request_id": stamp.request_id[:100]})
            yield session
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE or getattr(
                getattr(exc.orig, "__cause__", None), "sqlstate", None) in _RETRYABLE:
            raise ConcurrentChange("a concurrent change touched the same rows") from exc
        raise
