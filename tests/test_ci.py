"""CI runs the README's two commands: the tests, and the first command as written (.ci/smoke_first_command.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke_first_command", ROOT / ".ci" / "smoke_first_command.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_smoke_step_runs_the_readmes_first_command_as_written():
    # given the README's first set-up command
    command = smoke().first_command((ROOT / "README.md").read_text())
    # then it is the install-and-serve command, without the test extras, and .ci/run runs the smoke step
    assert command == "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/producer-graph serve"
    run = (ROOT / ".ci" / "run").read_text()
    assert "python3 .ci/smoke_first_command.py" in run
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest" in run


def test_the_smoke_step_reads_every_src_and_href_of_a_page():
    parser = smoke().References()
    parser.feed('<html><link href="/graphql/static/a.css"><script src="x.js"></script><a href="#">top</a></html>')
    assert parser.found == ["/graphql/static/a.css", "x.js", "#"]
