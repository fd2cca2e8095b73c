"""Bulk onboarding progress: the subscription (both WebSocket protocols), its scoping, and the completion email."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.bulk_helpers import bulk_setup, csv_file, file_rows, post_upload, start_job, upload, wait_for_job
from tests.api.registry_helpers import agency
from tests.conftest import free_port

PROGRESS = """subscription($id: ID!) { bulkOnboardingProgress(jobId: $id) {
  jobId status total processed succeeded failed rowsPerSecond estimatedSecondsLeft } }"""


async def _collect_transport_ws(ws: Any, token: str, job_id: str, on_first: Any = None) -> list[dict[str, Any]]:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": job_id}}})
    states: list[dict[str, Any]] = []
    while True:
        message = await ws.receive_json(timeout=30)
        if message["type"] == "complete":
            return states
        if message["type"] == "error":
            return [{"errors": message["payload"]}]
        assert message["type"] == "next", message
        if message["payload"].get("errors"):
            states.append({"errors": message["payload"]["errors"]})
            continue
        states.append(message["payload"]["data"]["bulkOnboardingProgress"])
        if len(states) == 1 and on_first is not None:
            await on_first()


def _assert_monotonic(states: list[dict[str, Any]], total: int) -> None:
    processed = [s["processed"] for s in states]
    assert processed == sorted(processed)
    assert states[-1]["status"] == "COMPLETED" and states[-1]["processed"] == total


async def test_subscriber_gets_the_current_state_then_progress_until_the_end(app, gql, http, new_tenant):
    # given a validated job of 30 rows
    s = await bulk_setup(app, gql, new_tenant, count=30)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]

    # when a client subscribes over graphql-transport-ws and then the job is started
    async def begin() -> None:
        await start_job(gql, s.admin, job["id"])

    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            states = await _collect_transport_ws(ws, s.admin, job["id"], on_first=begin)

    # then it saw the state before the start first, never went backwards, and ended with the final figures
    assert states[0]["status"] == "VALIDATED" and states[0]["processed"] == 0
    assert states[0]["jobId"] == job["id"]
    _assert_monotonic(states, 30)
    assert states[-1]["succeeded"] == 30 and states[-1]["estimatedSecondsLeft"] == 0


WITH_JOB = """subscription($id: ID!) { bulkOnboardingProgress(jobId: $id) {
  jobId status processed succeeded job { id status succeededRows failedRows progress { processed } } } }"""


async def test_each_progress_event_carries_the_job_with_the_same_figures(app, gql, http, new_tenant):
    # given a validated job of 8 rows, watched with the job selected in the payload
    s = await bulk_setup(app, gql, new_tenant, count=8)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]

    async def begin() -> None:
        await start_job(gql, s.admin, job["id"])

    # when the job is started and runs to its end
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {s.admin}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe",
                                "payload": {"query": WITH_JOB, "variables": {"id": job["id"]}}})
            states: list[dict[str, Any]] = []
            while (message := await ws.receive_json(timeout=30))["type"] != "complete":
                assert message["type"] == "next" and not message["payload"].get("errors"), message
                states.append(message["payload"]["data"]["bulkOnboardingProgress"])
                if len(states) == 1:
                    await begin()
    # then every event's job is the watched one, with the figures of the same read
    for state in states:
        assert state["job"]["id"] == state["jobId"] == job["id"]
        assert state["job"]["status"] == state["status"]
        assert state["job"]["succeededRows"] == state["succeeded"]
        assert state["job"]["progress"]["processed"] == state["processed"]
    assert states[0]["job"]["status"] == "VALIDATED"
    assert states[-1]["job"] == {"id": job["id"], "status": "COMPLETED", "succeededRows": 8, "failedRows": 0,
                                 "progress": {"processed": 8}}


async def test_legacy_graphql_ws_protocol_streams_progress(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=5)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    await start_job(gql, s.admin, job["id"])
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {s.admin}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "start",
                                "payload": {"query": PROGRESS, "variables": {"id": job["id"]}}})
            states = []
            while (message := await ws.receive_json(timeout=30))["type"] != "complete":
                if message["type"] == "ka":
                    continue
                assert message["type"] == "data", message
                states.append(message["payload"]["data"]["bulkOnboardingProgress"])
    _assert_monotonic(states, 5)


async def test_subscription_without_a_valid_token_is_refused(app):
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}})
            try:
                message = await ws.receive_json(timeout=5)
            except WebSocketDisconnect as exc:
                assert exc.code == 4403
            else:
                raise AssertionError(f"connection accepted: {message}")


async def test_another_agency_cannot_subscribe_to_the_job(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=1)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    other_agency = await agency(gql, gql.token(s.tenant_id, "TENANT_ADMIN"), name="Other Agency")
    other = gql.token(s.tenant_id, "AGENCY_ADMIN", agency=other_agency["locator"])
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            states = await _collect_transport_ws(ws, other, job["id"])
    assert len(states) == 1 and "errors" in states[0]
    assert states[0]["errors"][0]["extensions"]["code"] == "BULK_JOB_NOT_FOUND"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


async def test_completion_email_reaches_the_admin_with_the_figures(app, gql, http, new_tenant):
    # given an SMTP server and a job of three good rows and one not in the registry
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = app.state.settings
    settings.smtp_host, settings.smtp_port = "127.0.0.1", controller.port
    try:
        s = await bulk_setup(app, gql, new_tenant, count=3)
        rows = file_rows(s.entries) + [["Nobody", "99999993", "nobody@example.com", "123-45-6782", "F"]]
        job = (await upload(http, s.admin, csv_file(rows)))["job"]

        # when the job runs to the end
        await start_job(gql, s.admin, job["id"])
        await wait_for_job(gql, s.admin, job["id"])
        for _ in range(50):
            if inbox.messages:
                break
            await asyncio.sleep(0.1)
    finally:
        settings.smtp_host = None
        controller.stop()

    # then one email reached the admin who started it, with the job's figures
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["admin@example.com"]
    body = message.get_payload()
    assert "Total rows: 4" in body and "Succeeded: 3" in body and "Failed: 1" in body
    assert "3 of 4" in message["Subject"]


@pytest.mark.parametrize(("claims", "given", "expected"), [
    ({"subject": "admin@example.com", "email": "claimed@example.com"}, "Ops@Example.com",
     ("ops@example.com", "UPLOAD")),
    ({"subject": "admin@example.com", "email": "claimed@example.com"}, None, ("claimed@example.com", "EMAIL_CLAIM")),
    ({"subject": "admin@example.com"}, None, ("admin@example.com", "SUBJECT")),
    ({"subject": "auth0|12345"}, None, (None, None)),
])
async def test_the_job_records_who_gets_the_completion_email_and_from_where(app, gql, http, new_tenant, claims,
                                                                             given, expected):
    # given an agency admin whose token carries these claims
    s = await bulk_setup(app, gql, new_tenant, count=1)
    token = gql.token(s.tenant_id, "AGENCY_ADMIN", agency=s.agency_locator, **claims)

    # when it uploads a file (with or without an address for the email)
    job = (await upload(http, token, csv_file(file_rows(s.entries)), notify_email=given))["job"]

    # then the job says where the email goes, or that it goes nowhere
    assert (job["notifyEmail"], job["notifyEmailSource"]) == expected


async def test_an_upload_with_an_address_that_is_not_one_is_refused(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=1)

    response = await post_upload(http, s.admin, csv_file(file_rows(s.entries)), notify_email="not-an-address")

    errors = response.json()["data"]["uploadBulkOnboardingFile"]["userErrors"]
    assert [e["code"] for e in errors] == ["INVALID_EMAIL"]


async def test_the_completion_email_goes_to_the_address_given_at_upload(app, gql, http, new_tenant):
    # given an SMTP server and a job uploaded with an address for its completion email
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = app.state.settings
    settings.smtp_host, settings.smtp_port = "127.0.0.1", controller.port
    try:
        s = await bulk_setup(app, gql, new_tenant, count=1)
        job = (await upload(http, s.admin, csv_file(file_rows(s.entries)), notify_email="ops@example.com"))["job"]

        # when the job runs to the end
        await start_job(gql, s.admin, job["id"])
        await wait_for_job(gql, s.admin, job["id"])
        for _ in range(50):
            if inbox.messages:
                break
            await asyncio.sleep(0.1)
    finally:
        settings.smtp_host = None
        controller.stop()

    # then the email went to that address, not to the admin's subject
    assert [recipients for recipients, _ in inbox.messages] == [["ops@example.com"]]
