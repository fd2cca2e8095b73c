"""A webhook delivered by the server verifies in TypeScript with the npm `standardwebhooks` library (the example
receiver of docs/webhooks.md, examples/webhooks-typescript); a tampered body does not. Needs node and npm."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.helpers import create_producer
from tests.api.webhook_helpers import create_endpoint, eventually, receiver
from tests.clients.test_typescript_example import installed

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhooks-typescript"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run the TypeScript webhook receiver")


def _run(*command: str, timeout: int, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=EXAMPLE, capture_output=True, text=True, timeout=timeout, input=stdin)


@pytest.fixture(scope="module")
def verifier() -> Path:
    if not installed(EXAMPLE):
        done = _run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=240)
        assert done.returncode == 0, done.stderr
    built = _run("npx", "--no-install", "tsc", "-p", ".", timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    return EXAMPLE / "dist" / "verify.js"


async def test_a_delivered_webhook_verifies_with_the_typescript_library(app, gql, new_tenant, verifier):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        await create_producer(gql, tenant.admin)
        await eventually(lambda: hook.received)
    [message] = hook.received
    for body, verified in ((message.body.decode(), True), (message.body.decode().replace("Rivera", "Riviera"), False)):
        done = _run("node", str(verifier), timeout=60, stdin=json.dumps(
            {"secret": endpoint["secret"], "body": body, "headers": message.headers}))
        answer = json.loads(done.stdout)
        assert answer["verified"] is verified, (answer, done.stderr)
        assert (done.returncode == 0) is verified
    assert answer == {"verified": False, "reason": "No matching signature found"}
