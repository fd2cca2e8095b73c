"""`producer-graph serve` as a process on its embedded PostgreSQL: Ctrl-C and SIGTERM stop the PostgreSQL it
started unless another server still uses it; one left by a killed server is adopted, one that crashed is
restarted (the log says which); one access line per request, never the query string; the CLI beside it is quiet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "producer-graph")


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no DATABASE_URL (the embedded PostgreSQL in DATA_DIR)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_HOST", "ENV", "LOG_FORMAT")}
    return {**env, "DATA_DIR": str(data_dir), "HOST": "127.0.0.1", **extra}


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    address: str
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def messages(self) -> list[str]:
        return [line["message"] for line in self.lines()]

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        return self.process.wait(60)


def postgres_pid(data_dir: Path) -> int | None:
    """The pid of the embedded PostgreSQL in `data_dir` when it runs (its postmaster.pid names a live process)."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def answers(address: str, path: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(address + path, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serve(data_dir: Path, log: Path) -> Iterator[Served]:
    """`producer-graph serve` on a free port, once it answers /healthz; SIGINT (then SIGKILL) if still running."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([CLI, "serve", "--port", str(port)], cwd=data_dir.parent,
                                   env=cli_env(data_dir, LOG_FORMAT="json"), stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 90
        while not answers(served.address, "/healthz"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One DATA_DIR for the module (initialised once); whatever PostgreSQL a test leaves running is stopped.
    Under a plain temporary directory: as root, pgserver runs PostgreSQL as its own user, which cannot enter
    pytest's private base directory."""
    with tempfile.TemporaryDirectory(prefix="serve-") as tmp:
        path = Path(tmp) / "pgdata"
        yield path
        pid = postgres_pid(path)
        if pid is not None:
            os.kill(pid, signal.SIGINT)
            wait_until_gone(pid)


@pytest.fixture
def stopped(data_dir: Path) -> Path:
    """The module's DATA_DIR with no PostgreSQL running in it."""
    assert postgres_pid(data_dir) is None
    return data_dir


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=data_dir.parent, env=cli_env(data_dir), capture_output=True, text=True,
                          timeout=120)


def test_ctrl_c_stops_the_embedded_postgresql_the_server_started(stopped, tmp_path):
    # given a server that started the embedded PostgreSQL
    with serve(stopped, tmp_path / "serve.log") as served:
        pid = postgres_pid(stopped)
        assert pid is not None
        # when it gets Ctrl-C
        code = served.stop(signal.SIGINT)
    # then it exits cleanly and PostgreSQL is stopped: its process and its postmaster.pid are gone
    assert code == 0, served.log.read_text()
    assert wait_until_gone(pid) and not (stopped / "postmaster.pid").exists()
    assert served.messages()[-1] == "embedded PostgreSQL stopped"
    assert "Traceback" not in served.log.read_text()


def test_a_get_query_string_leaves_no_trace_in_the_log_and_sigterm_stops_postgresql(stopped, tmp_path):
    # given a server and a tenant made with the CLI beside it
    with serve(stopped, tmp_path / "serve.log") as served:
        pid = postgres_pid(stopped)
        assert cli(stopped, "tenant", "create", "logs").returncode == 0
        token = cli(stopped, "token", "--tenant", "logs").stdout.strip()
        # when a GET request carries the query and an SSN in its variables
        query = "query($ssn: String) { zebraQuartzAlias: producers(first: 1, filter: {search: $ssn}) { totalCount } }"
        params = urllib.parse.urlencode({"query": query, "variables": json.dumps({"ssn": "123456789"})})
        request = urllib.request.Request(f"{served.address}/graphql?{params}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["data"]["zebraQuartzAlias"]["totalCount"] == 0
        code = served.stop(signal.SIGTERM)
    # then the log has one access line for it, with the path alone, and neither the query nor the SSN anywhere
    text = served.log.read_text()
    access = [line for line in served.lines() if line["logger"] == "producer_graph.access"
              and line["path"] == "/graphql"]
    assert [(line["method"], line["status"]) for line in access] == [("GET", 200)]
    assert "zebraQuartz" not in text and "123456789" not in text and "ssn" not in text.lower()
    assert not [line for line in served.lines() if line["logger"].startswith("uvicorn.access")]
    # and SIGTERM stopped the server and its PostgreSQL
    assert code == 0 and wait_until_gone(pid) and not (stopped / "postmaster.pid").exists()


def test_two_servers_share_one_postgresql_and_the_last_one_out_stops_it(stopped, tmp_path):
    # given two servers on one DATA_DIR
    with serve(stopped, tmp_path / "first.log") as first, serve(stopped, tmp_path / "second.log") as second:
        pid = postgres_pid(stopped)
        assert "joined the embedded PostgreSQL that processes" in " ".join(second.messages())
        # when the first one stops
        assert first.stop() == 0
        # then PostgreSQL runs on and the second one still reaches it
        assert first.messages()[-1].startswith("embedded PostgreSQL left running for processes")
        assert postgres_pid(stopped) == pid and answers(second.address, "/readyz")
        # when the second one stops too, PostgreSQL stops
        assert second.stop() == 0
    assert pid is not None and wait_until_gone(pid) and not (stopped / "postmaster.pid").exists()
    assert second.messages()[-1] == "embedded PostgreSQL stopped"


def test_postgresql_left_by_a_killed_server_is_adopted_and_stopped_by_the_next(stopped, tmp_path):
    # given a server killed with SIGKILL: its PostgreSQL is left running
    with serve(stopped, tmp_path / "killed.log") as killed:
        pid = postgres_pid(stopped)
        killed.process.kill()
        killed.process.wait()
    assert pid is not None and postgres_pid(stopped) == pid
    # when a server starts again on that DATA_DIR
    with serve(stopped, tmp_path / "next.log") as again:
        # then it adopts that PostgreSQL, says so, and works
        assert postgres_pid(stopped) == pid and answers(again.address, "/readyz")
        assert any(m.startswith("adopted the embedded PostgreSQL left running by processes that stopped")
                   for m in again.messages()), again.messages()
        # and stopping it stops PostgreSQL (the killed server no longer counts as a user)
        assert again.stop() == 0
    assert wait_until_gone(pid) and not (stopped / "postmaster.pid").exists()


def test_postgresql_that_crashed_is_restarted_cleanly(stopped, tmp_path):
    # given a server and its PostgreSQL both killed: a stale postmaster.pid remains
    with serve(stopped, tmp_path / "crashed.log") as crashed:
        pid = postgres_pid(stopped)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        crashed.process.kill()
        crashed.process.wait()
    assert wait_until_gone(pid) and (stopped / "postmaster.pid").exists()
    # when a server starts again
    with serve(stopped, tmp_path / "next.log") as again:
        # then it restarts PostgreSQL, says so, and works
        assert postgres_pid(stopped) not in (None, pid) and answers(again.address, "/readyz")
        assert any(m.startswith("restarted the embedded PostgreSQL") for m in again.messages()), again.messages()
        assert again.stop() == 0
    assert postgres_pid(stopped) is None


def test_cli_commands_on_the_embedded_postgresql_write_nothing_but_their_answer(stopped):
    # given no server running: the CLI starts the embedded PostgreSQL itself
    # when a tenant is created and a token minted
    created = cli(stopped, "tenant", "create", "quiet")
    token = cli(stopped, "token", "--tenant", "quiet")
    # then each prints its answer and nothing on stderr (no XDG_RUNTIME_DIR warning, no pgserver or alembic lines)
    assert (created.returncode, created.stderr) == (0, "") and len(created.stdout.split()) == 1
    assert (token.returncode, token.stderr) == (0, "") and token.stdout.count(".") == 2
    # and PostgreSQL is stopped again when they are done
    assert postgres_pid(stopped) is None
