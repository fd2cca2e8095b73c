"""Which database errors are faults of the moment (retry later) and which are an outage, as pure rules."""

from __future__ import annotations

import random

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, InterfaceError

from app.runtime.bulk_worker import WorkerTuning, backoff_delay
from persistence.db import ConcurrentChange, database_unavailable, transient_fault


def wrapped(error: BaseException) -> DBAPIError:
    """An asyncpg error as SQLAlchemy raises it."""
    try:
        raise DBAPIError("SELECT 1", {}, error) from error
    except DBAPIError as exc:
        return exc


def postgres_error(cls: type[asyncpg.PostgresError], sqlstate: str) -> asyncpg.PostgresError:
    error = cls("the server said no")
    error.sqlstate = sqlstate  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connection refused"),
    FileNotFoundError(2, "No such file or directory"),  # the unix socket is gone while the server is down
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.SerializationError("could not serialize access"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    postgres_error(asyncpg.PostgresError, "08006"),
    ConcurrentChange("a concurrent change touched the same rows"),
], ids=lambda e: type(e).__name__)
def test_faults_of_the_moment_are_transient(error):
    assert transient_fault(error)
    assert transient_fault(wrapped(error)) or isinstance(error, ConcurrentChange)


@pytest.mark.parametrize("error", [
    asyncpg.InterfaceError("the number of query arguments cannot exceed 32767"),
    asyncpg.DataError("invalid input for query argument $1: 'x' (an integer is required)"),
    asyncpg.StringDataRightTruncationError("value too long for type character varying(200)"),
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    ValueError("a bug"),
], ids=lambda e: type(e).__name__)
def test_a_statement_refused_is_neither_transient_nor_an_outage(error):
    assert not transient_fault(wrapped(error))
    assert not database_unavailable(wrapped(error))


def test_the_driver_refusing_too_many_parameters_is_not_an_outage():
    # given asyncpg's refusal of a statement with too many bind parameters, as SQLAlchemy wraps it
    error = InterfaceError("INSERT ...", {}, asyncpg.InterfaceError(
        "the number of query arguments cannot exceed 32767"))
    # then it is not reported as the database being unavailable (clients would retry forever)
    assert not database_unavailable(error)


def test_the_connection_lost_is_an_outage():
    assert database_unavailable(wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed")))
    assert database_unavailable(wrapped(ConnectionRefusedError(111, "Connection refused")))


def test_backoff_grows_exponentially_up_to_its_cap_with_jitter():
    tuning = WorkerTuning(backoff_seconds=0.25, backoff_max_seconds=8.0)
    rand = random.Random(14)
    delays = [backoff_delay(n, tuning, rand) for n in range(1, 12)]
    assert 0.125 <= delays[0] <= 0.25
    assert 1.0 <= delays[3] <= 2.0
    assert all(4.0 <= d <= 8.0 for d in delays[6:])
    assert len({round(d, 6) for d in delays[6:]}) > 1  # jittered, not in lock-step
