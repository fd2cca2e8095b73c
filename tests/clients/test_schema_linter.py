"""graphql-schema-linter (npm, tests/clients/schema_lint) passes on schema.graphql with the committed configuration
(graphql-schema-linter.config.js), which runs every built-in rule but those it lists as not followed, each with why.
Needs node and npm; `npm ci` runs once into tests/clients/schema_lint/node_modules (git-ignored)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.test_typescript_example import installed

LINTER = Path(__file__).resolve().parent / "schema_lint"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run graphql-schema-linter")


def lint(*arguments: str) -> subprocess.CompletedProcess[str]:
    if not installed(LINTER):
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=LINTER,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
    return subprocess.run(["npx", "--no-install", "graphql-schema-linter", "--format", "compact", *arguments],
                          cwd=LINTER, capture_output=True, text=True, timeout=120)


def configuration() -> dict[str, Any]:
    done = subprocess.run(["node", "-e", "const c = require('./graphql-schema-linter.config.js');"
                                         "console.log(JSON.stringify(c))"],
                          cwd=LINTER, capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(done.stdout))


def test_the_exported_schema_passes_the_linter_with_the_committed_configuration():
    # given schema.graphql and the committed configuration; when the linter runs
    done = lint()
    # then it reports nothing
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_every_built_in_rule_is_run_or_listed_as_not_followed_with_a_reason():
    # given the linter's built-in rules and the configuration
    lint("--version")
    rules_dir = LINTER / "node_modules" / "graphql-schema-linter" / "lib" / "rules"
    built_in = {path.stem.replace("_", "-") for path in rules_dir.glob("*.js") if path.stem != "index"}
    config = configuration()
    followed, not_followed = set(config["rules"]), dict(config["notFollowed"])
    # then each rule is in exactly one of the two lists, and each one left out says why
    assert followed | set(not_followed) == built_in
    assert not followed & set(not_followed)
    assert all(len(reason) > 20 for reason in not_followed.values())


def test_the_linter_refuses_a_schema_breaking_the_rules_followed(tmp_path):
    # given a schema with a lower-case, and an undescribed, enum value
    bad = tmp_path / "bad.graphql"
    bad.write_text('"Root."\ntype Query {\n  "A field."\n  f: Color\n}\n\n"Colours."\nenum Color {\n'
                   '  "Red."\n  red\n  GREEN\n}\n')
    # when the linter runs on it with the same configuration
    done = lint(str(bad))
    # then it fails, naming both
    assert done.returncode != 0
    assert "(enum-values-all-caps)" in done.stdout and "(enum-values-have-descriptions)" in done.stdout
