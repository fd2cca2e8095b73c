"""The served app does not load the demo: no import circle demo -> server -> resolvers/http -> demo. (httpx it
does load: the webhook worker delivers with it.)"""

from __future__ import annotations

import subprocess
import sys


def test_the_server_and_its_graphql_view_import_without_the_demo():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, app.runtime.server, resolvers.http; "
                               "print(sorted(m for m in ('app.runtime.demo',) if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
