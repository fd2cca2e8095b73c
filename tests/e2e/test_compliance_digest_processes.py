"""Two server processes on one database, both running the digest loop from the same moment: each agency's digest of
the day is sent once, and each tenant's alert sweep of the day runs once (the leases in PostgreSQL), never once per
process; the digest and sweep commands."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from app.tenant_config import default_config_dict
from tests.api.test_compliance_digest import Inbox, agency_with, agent_with_licenses, mail_to
from tests.conftest import free_port, settings_for_test, uvicorn_process

pytestmark = pytest.mark.slow

SECRET = "digest-secret-of-at-least-thirty-two-bytes"


@pytest.fixture(scope="module")
def settings() -> Any:
    return settings_for_test(compliance_digest_interval_seconds=1e6)  # this process's loop stays out of it


async def ready(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"server {base_url} did not start")


async def test_two_processes_running_the_digest_loop_send_one_digest_per_agency(app, gql, new_tenant,
                                                                                 database_url, tmp_path: Path):
    # given three agencies with expiring licenses, their digests due, and a real SMTP server
    config = copy.deepcopy(default_config_dict())
    config["compliance"] = {"defaultDigestRecipients": ["two-processes@example.com"]}
    tenant = await new_tenant(config)
    for name in ("East", "West", "Middle"):
        created = await agency_with(gql, tenant.admin, name)
        await agent_with_licenses(gql, tenant.admin, created["id"], (f"{name}-3", 3.5), (f"{name}-30", 29.5))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port), "COMPLIANCE_DIGEST_HOUR": "0",
           "COMPLIANCE_DIGEST_INTERVAL_SECONDS": "0.1"}
    try:
        # when two server processes start at once and run their digest loops for a while
        with uvicorn_process(database_url, tmp_path / "first.log", SECRET, **env) as first, \
                uvicorn_process(database_url, tmp_path / "second.log", SECRET, **env) as second:
            await asyncio.gather(ready(first), ready(second))
            for _ in range(200):
                if len(mail_to(inbox, "two-processes@example.com")) >= 3:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # twenty more rounds of each process
    finally:
        controller.stop()

    # then each agency got exactly one digest, and the lease rows say who sent each
    received = mail_to(inbox, "two-processes@example.com")
    subjects = sorted(str(m["Subject"]).split(",")[0] for m in received)
    assert subjects == ["Compliance digest for East", "Compliance digest for Middle", "Compliance digest for West"]
    async with app.state.sessions() as session:
        rows = (await session.execute(text("SELECT status, alert_count FROM compliance_digests WHERE tenant_id = :t"),
                                      {"t": tenant.id})).all()
    assert sorted(rows) == [("sent", 2)] * 3
    async with app.state.sessions() as session:
        sweeps = (await session.execute(text(
            "SELECT status, raised_count FROM compliance_alert_sweeps WHERE tenant_id = :t"), {"t": tenant.id})).all()
        raised = (await session.execute(text(
            "SELECT count(*) FROM compliance_alerts_raised WHERE tenant_id = :t"), {"t": tenant.id})).scalar_one()
    assert (sweeps, raised) == ([("done", 6)], 6)


async def test_the_digest_command_sends_todays_digests_once(app, gql, new_tenant, database_url):
    # given an agency with an expiring license and a real SMTP server
    config = copy.deepcopy(default_config_dict())
    config["compliance"] = {"defaultDigestRecipients": ["command@example.com"]}
    tenant = await new_tenant(config)
    created = await agency_with(gql, tenant.admin, "Commanded")
    await agent_with_licenses(gql, tenant.admin, created["id"], ("CMD-3", 3.5))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port)}
    command = [str(Path(sys.executable).parent / "producer-graph"), "compliance", "digest", "--now"]
    try:
        # when `producer-graph compliance digest --now` runs twice
        first, second = [await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                                 timeout=120) for _ in range(2)]
    finally:
        controller.stop()

    # then the first run sent the digest, the second nothing more
    assert (first.returncode, first.stdout, second.stdout) == (0, "sent 1 compliance digests\n",
                                                               "sent 0 compliance digests\n"), first.stderr
    assert len(mail_to(inbox, "command@example.com")) == 1


async def test_the_sweep_command_raises_each_alert_once(app, gql, new_tenant, database_url):
    # given an agency whose agent holds two expiring licenses, its digests off
    config = copy.deepcopy(default_config_dict())
    config["compliance"] = {"digestEnabled": False}
    tenant = await new_tenant(config)
    created = await agency_with(gql, tenant.admin, "Swept by command")
    await agent_with_licenses(gql, tenant.admin, created["id"], ("SWC-3", 3.5), ("SWC-40", 40.5))
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [str(Path(sys.executable).parent / "producer-graph"), "compliance", "sweep", "--now"]

    # when `producer-graph compliance sweep --now` runs twice
    first, second = [await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                             timeout=120) for _ in range(2)]

    # then the first run raised the tenant's two alerts (and any other tenant's not raised yet), the second nothing
    assert first.returncode == 0 and first.stdout.startswith("raised "), first.stderr
    assert second.stdout == "raised 0 compliance alerts\n", second.stderr
    async with app.state.sessions() as session:
        windows = (await session.execute(text(
            "SELECT alert_window FROM compliance_alerts_raised WHERE tenant_id = :t ORDER BY 1"),
            {"t": tenant.id})).scalars().all()
    assert windows == ["UPCOMING", "URGENT"]
