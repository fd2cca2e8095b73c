"""Workload (g): attach and download one large document (20 MB by default) on a fresh server, so the memory
figures are the transfer's: upload and download MB/s, and the server's peak resident memory over its idle size
(both streamed chunk by chunk, so it should stay within 64 MB whatever the file size)."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app import tenants
from app.auth import mint_token
from app.runtime.demo import tiny_pdf
from app.settings import Settings
from app.tenant_config import default_config_dict
from persistence.db import create_engine, session_factory

CREATE = """mutation { createProducer(input: {type: "Agent", firstName: "Big", lastName: "File"}) {
  producer { id } userErrors { code message } } }"""
ATTACH = """mutation($entityId: ID!, $file: Upload!) { attachDocument(entityId: $entityId, field: "eoCertificate",
  file: $file) { document { locator size sha256 } userErrors { code message } } }"""
WITHIN_MB = 64


def rss_mb(pid: int) -> float:
    """Current resident memory (VmRSS) of the server's process tree."""
    pids = [pid]
    try:
        pids += [int(c) for c in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                text=True).stdout.split()]
    except FileNotFoundError:
        pass
    total = 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def write_pdf(directory: Path, megabytes: int) -> Path:
    """A PDF of `megabytes` MB on disk (a valid small PDF, then comment lines), written without holding it."""
    path = directory / f"document-{megabytes}mb.pdf"
    target = megabytes * 1024 * 1024
    with path.open("wb") as out:
        out.write(tiny_pdf("Benchmark document"))
        line = b"%" + b"0123456789abcdef" * 63 + b"\n"
        while out.tell() + len(line) <= target:
            out.write(line)
    return path


async def bench_tenant(db_url: str, settings: Settings, megabytes: int) -> str:
    """A tenant whose agents' E&O certificate accepts the benchmark's file size."""
    config = default_config_dict()
    config["producerManagement"]["producers"]["Agent"]["data"]["eoCertificate"]["maxBytes"] = (megabytes + 1) << 20
    engine = create_engine(db_url, pool_size=1, max_overflow=0)
    try:
        created = await tenants.create_tenant(session_factory(engine), f"bench-documents-{int(time.time())}", config)
    finally:
        await engine.dispose()
    return created.id


async def transfer(address: str, token: str, path: Path, sample: Callable[[], float]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=600) as client:
        created = (await client.post("/graphql", json={"query": CREATE}, headers=headers)).json()
        entity = created["data"]["createProducer"]["producer"]["id"]
        idle = sample()
        operations = {"query": ATTACH, "variables": {"entityId": entity, "file": None}}
        began = time.perf_counter()
        with path.open("rb") as handle:
            response = await client.post(
                "/graphql", headers={**headers, "Apollo-Require-Preflight": "true"},
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (path.name, handle, "application/pdf")})
        uploaded = time.perf_counter() - began
        payload = response.json()["data"]["attachDocument"]
        if payload["document"] is None:
            raise RuntimeError(f"attachDocument: {payload['userErrors']}")
        received = 0
        began = time.perf_counter()
        async with client.stream("GET", f"/documents/{payload['document']['locator']}", headers=headers) as answer:
            async for chunk in answer.aiter_raw():
                received += len(chunk)
        downloaded = time.perf_counter() - began
    if received != payload["document"]["size"]:
        raise RuntimeError(f"downloaded {received} bytes of {payload['document']['size']}")
    return {"idle": idle, "uploaded_s": uploaded, "downloaded_s": downloaded, "size": received}


def run(args: argparse.Namespace, db_url: str, env: dict[str, str], serve: Callable[..., Any],
        stop: Callable[..., Any], peak: Callable[[int], tuple[float, float]], settings: Settings) -> None:
    megabytes = args.document_mb
    tenant = asyncio.run(bench_tenant(db_url, settings, megabytes))
    token = mint_token(settings, tenant_id=tenant, roles=["TENANT_ADMIN"], subject="admin@example.com",
                       ttl_seconds=3600)
    print()
    print("| g: documents | workers | MB | upload MB/s | download MB/s | idle MB | peak MB | peak over idle MB "
          f"(within {WITHIN_MB}?) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        path = write_pdf(Path(tmp), megabytes)
        proc, address = serve(env, 1)
        try:
            result = asyncio.run(transfer(address, token, path, lambda: rss_mb(proc.pid)))
            _, whole = peak(proc.pid)
        finally:
            stop(proc)
    size_mb = result["size"] / (1024 * 1024)
    over = whole - result["idle"]
    print(f"| g | 1 | {size_mb:.0f} | {size_mb / result['uploaded_s']:.1f} | {size_mb / result['downloaded_s']:.1f} | "
          f"{result['idle']:.0f} | {whole:.0f} | {over:.0f} ({'yes' if over <= WITHIN_MB else 'no'}) |", flush=True)
