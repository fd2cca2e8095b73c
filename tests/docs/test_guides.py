"""Every runnable block of the guides in docs/ runs against a fresh demo, in the order the guides are read.

A runnable block is fenced as ```graphql runnable. Its leading comment lines may say:
  # role: UNDERWRITER          the demo token to send (default TENANT_ADMIN)
  # expect: CODE               the response must carry this error or userError code (the block shows a refusal)
  # save: name = a.b.c         keep a value of `data` as {{name}} for the blocks after it
`{{name}}` placeholders are the demo's values (`producer-graph demo` prints them) or saved ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.runtime.demo import GUIDE_VALUES, Demo, build_demo

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Reading order; offboarding last, since it removes producers.
GUIDES = ["getting-started.md", "concepts.md", "api-conventions.md", "frontend.md", "onboarding.md", "bulk-onboarding.md",
          "documents.md", "underwriting.md", "policies.md", "operations.md", "webhooks.md", "compliance.md", "offboarding.md"]
BLOCK = re.compile(r"^```graphql runnable\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def runnable_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def directives(block: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in block.splitlines():
        match = re.match(r"\s*#\s*(role|expect|save):\s*(.+)", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2).strip())
    return found


def user_errors(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = list(value.get("userErrors") or [])
        return found + [e for v in value.values() for e in user_errors(v)]
    if isinstance(value, list):
        return [e for v in value for e in user_errors(v)]
    return []


def dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(app: Any, http: Any, settings: Any) -> Demo:
    return await build_demo(http, app.state.sessions, settings)


def test_every_guide_is_listed_and_has_runnable_blocks():
    written = {p.name for p in DOCS.glob("*.md")} - {"registry-format.md", "configuration.md", "auth-and-roles.md",
                                                      "README.md"}
    assert written == set(GUIDES)
    assert all(runnable_blocks((DOCS / g).read_text()) for g in GUIDES if g != "operations.md")


def test_the_demo_prints_every_value_the_guides_use():
    used: set[str] = set()
    saved: set[str] = set()
    for guide in GUIDES:
        for block in runnable_blocks((DOCS / guide).read_text()):
            used |= set(PLACEHOLDER.findall(block))
            saved |= {s.split("=")[0].strip() for s in directives(block).get("save", [])}
    assert used - saved <= set(GUIDE_VALUES)


@pytest.mark.parametrize("guide", GUIDES)
async def test_runnable_blocks_of_the_guide_succeed_on_the_demo(guide, gql, demo, settings):
    tokens = demo.tokens(settings)
    values = dict(demo.values)
    for number, block in enumerate(runnable_blocks((DOCS / guide).read_text()), start=1):
        where = f"{guide} block {number}"
        told = directives(block)
        unknown = sorted(set(PLACEHOLDER.findall(block)) - set(values))
        assert not unknown, f"{where}: unknown placeholders {unknown}"
        query = PLACEHOLDER.sub(lambda m: values[m.group(1)], block)
        role = (told.get("role") or ["TENANT_ADMIN"])[0]
        body = await gql(query, token=tokens[role])
        if told.get("expect"):
            text = json.dumps(body)
            for code in told["expect"]:
                assert f'"{code}"' in text, f"{where}: expected {code}, got {body}"
            continue
        assert not body.get("errors"), f"{where}: {body['errors']}"
        assert not user_errors(body["data"]), f"{where}: {user_errors(body['data'])}"
        for saving in told.get("save", []):
            name, _, path = (s.strip() for s in saving.partition("="))
            values[name] = str(dig(body["data"], path))
