"""Workload (d): bulk onboarding from upload to completion, CSV and XLSX, on a fresh server per file so its peak
memory is the file's. Validation rows/s counts the upload request (spool, parse, validate, COPY, duplicate and
agency checks); onboarding rows/s runs from `startBulkOnboarding` until the job is COMPLETED (polled)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook

from app.settings import Settings
from bench.seed import seed_registry

HEADER = ["Last Name", "NPN", "Email", "SSN", "Gender"]
UPLOAD = """mutation($file: Upload!, $agencyId: ID) { uploadBulkOnboardingFile(file: $file, agencyId: $agencyId) {
  job { id status totalRows validRows invalidRows } userErrors { code message } } }"""
PAYMENT = """mutation($id: ID!) { setBulkOnboardingPayment(jobId: $id, input: {newLicensePaidBy: AGENCY,
  renewalPaidBy: PRODUCER, autoRenewal: true}) { userErrors { code } } }"""
START = "mutation($id: ID!) { startBulkOnboarding(jobId: $id) { job { status } userErrors { code } } }"
JOB = """query($id: ID!) { bulkOnboardingJob(id: $id) { status succeededRows failedRows
  progress { processed total rowsPerSecond } } }"""
FIRST_NPN = 50_000_000


def write_file(rows: list[list[str]], fmt: str, directory: Path) -> Path:
    """The upload file on disk (streamed to the server, never held whole by the client either)."""
    path = directory / f"producers-{len(rows)}.{fmt}"
    if fmt == "csv":
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(rows)
    else:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Producers")
        sheet.append(HEADER)
        for values in rows:
            sheet.append(values)
        workbook.save(path)
    return path


async def gql(client: httpx.AsyncClient, headers: dict[str, str], query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def onboard(address: str, token: str, agency: str, path: Path, rows: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=900) as client:
        operations = {"query": UPLOAD, "variables": {"file": None, "agencyId": agency}}
        began = time.perf_counter()
        with path.open("rb") as handle:
            response = await client.post(
                "/graphql", headers={**headers, "Apollo-Require-Preflight": "true"},
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (path.name, handle, "application/octet-stream")})
        validated = time.perf_counter() - began
        body = response.json()
        payload = body["data"]["uploadBulkOnboardingFile"]
        job = payload["job"]
        if job is None or job["validRows"] != rows:
            raise RuntimeError(f"upload: {payload}")
        await gql(client, headers, PAYMENT, {"id": job["id"]})
        began = time.perf_counter()
        await gql(client, headers, START, {"id": job["id"]})
        while True:
            state = (await gql(client, headers, JOB, {"id": job["id"]}))["bulkOnboardingJob"]
            if state["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                break
            await asyncio.sleep(0.2)
        onboarded = time.perf_counter() - began
    return {"validated_s": validated, "onboarded_s": onboarded, "status": state["status"],
            "succeeded": state["succeededRows"], "failed": state["failedRows"]}


def run(args: argparse.Namespace, db_url: str, tenant: str, env: dict[str, str], token: str, agency: str,
        serve: Callable[..., Any], stop: Callable[..., Any], peak: Callable[[int], tuple[float, float]],
        settings: Settings) -> None:
    print()
    print("| d: bulk onboarding | workers | rows | format | validation s | validation rows/s | onboarding s | "
          "onboarding rows/s | succeeded | peak MB (largest / all) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    next_npn = FIRST_NPN
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        for workers in args.workers:
            for rows in args.bulk_rows:
                for fmt in args.bulk_formats:
                    lines = asyncio.run(seed_registry(db_url, settings, tenant, next_npn, rows))
                    next_npn += rows
                    path = write_file(lines, fmt, Path(tmp))
                    del lines
                    proc, address = serve(env, workers)
                    try:
                        result = asyncio.run(onboard(address, token, agency, path, rows))
                        largest, whole = peak(proc.pid)
                    finally:
                        stop(proc)
                    path.unlink()
                    print(f"| d | {workers} | {rows} | {fmt} | {result['validated_s']:.1f} | "
                          f"{rows / result['validated_s']:.0f} | {result['onboarded_s']:.1f} | "
                          f"{rows / result['onboarded_s']:.0f} | {result['succeeded']} | "
                          f"{largest:.0f} / {whole:.0f} |", flush=True)
