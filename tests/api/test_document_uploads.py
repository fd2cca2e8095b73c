"""Document uploads over a real socket: an upload cut off part-way stores nothing; events follow attachments."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from tests.api.document_helpers import ATTACH, attach, stored_counts, tiny_pdf
from tests.api.helpers import create_producer
from tests.conftest import real_uvicorn
from tests.ops.test_producer_events import subscribed

BOUNDARY = "----producer-graph-test"


def _multipart_head(entity_id: str) -> bytes:
    operations = {"query": ATTACH, "variables": {"entityId": entity_id, "field": "eoCertificate", "file": None}}
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{json.dumps(operations)}\r\n',
             f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n',
             f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="eo.pdf"\r\n'
             "Content-Type: application/pdf\r\n\r\n"]
    return "".join(parts).encode()


async def test_an_upload_cut_off_mid_way_leaves_no_rows(app, gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    head, body = _multipart_head(agent["id"]), tiny_pdf() + b"%" * 3_000_000
    async with real_uvicorn(app) as base:
        address = urlsplit(base)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write((f"POST /graphql HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {tenant.admin}\r\n"
                      f"Apollo-Require-Preflight: true\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                      f"Content-Length: {len(head) + len(body) + 100}\r\n\r\n").encode() + head + body[:1_500_000])
        await writer.drain()
        await asyncio.sleep(0.3)  # the server is reading the file part
        writer.transport.abort()  # the client goes away mid-upload
        await asyncio.sleep(0.5)
        assert await stored_counts(app, tenant.id) == (0, 0)
        data = await gql.ok("query($id: ID!) { producer(id: $id) { data } }", {"id": agent["id"]},
                            token=tenant.admin)
        assert "eoCertificate" not in data["producer"]["data"]


async def test_attaching_and_replacing_arrive_as_producer_events(app, gql, http, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    async with subscribed(app, tenant.admin, entities=["DOCUMENT"]) as subscriber:
        first = (await attach(http, tenant.admin, agent["id"]))["document"]
        second = (await attach(http, tenant.admin, agent["id"]))["document"]
        attached, replaced = await subscriber.next(), await subscriber.next()
    assert (attached["name"], attached["entityId"], attached["producerId"]) == (
        "document.attached", first["id"], agent["id"])
    assert (replaced["name"], replaced["event"], replaced["entityId"]) == ("document.replaced", "REPLACED", second["id"])
