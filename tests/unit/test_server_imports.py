"""The served app does not load the demo (nor httpx, which only the demo and the tests use): no import circle
demo -> server -> resolvers/http -> demo."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_and_its_graphql_view_import_without_the_demo():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, app.runtime.server, resolvers.http; "
                               "print(sorted(m for m in ('app.runtime.demo', 'httpx') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
