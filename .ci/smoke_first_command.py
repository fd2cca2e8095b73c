#!/usr/bin/env python3
"""CI smoke test of the README's first command, the way a newcomer runs it (standard library only).

In a fresh clone of this repository (committed files only) in a temporary directory, so its .venv is new and
has no test extras, it runs the first ```sh block under "Two commands" in README.md exactly as written, with
CI's environment (PORT set to a free port so nothing else on the machine is in the way), then checks:
the server answers /healthz; GET /graphql (Accept: text/html) and every asset the page references answer 200
from the server itself; `.venv/bin/producer-graph demo` completes and prints GraphiQL's link on that server;
a token it printed answers a query; Ctrl-C (SIGINT to the command's process group) stops the server and the
embedded PostgreSQL it started. One PASS or FAIL line per check; exit status 1 on any failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL_SECONDS = 900  # a fresh virtual environment and `pip install -e .`, then the first start
failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {what}" + (f" ({detail})" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def first_command(readme: str) -> str:
    """The first ```sh block after the "Two commands" heading."""
    section = readme.split("\n## Two commands", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error).encode()


class References(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def postgres_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for_health(address: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + INSTALL_SECONDS
    while time.monotonic() < deadline:
        if get(f"{address}/healthz")[0] == 200:
            return True
        if server.poll() is not None:
            print(tail(log), flush=True)
            return False
        time.sleep(1)
    print(tail(log), flush=True)
    return False


def check_page(address: str) -> None:
    status, body = get(f"{address}/graphql", {"Accept": "text/html"})
    if not check(status == 200, "GET /graphql (Accept: text/html) answers 200", f"status {status}: {body[:200]!r}"):
        return
    parser = References()
    parser.feed(body.decode(errors="replace"))
    server = urllib.parse.urlsplit(address)
    for reference in parser.found:
        if reference.startswith("#"):
            continue  # a place on the page itself
        url = urllib.parse.urljoin(f"{address}/graphql", reference)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue  # data:, javascript:, about: need no server
        if parts.netloc != server.netloc:
            check(False, f"the page references only its own server: {reference}", "an outside host")
            continue
        status, _ = get(url)
        check(status == 200, f"asset {parts.path} answers 200 from the server itself", f"status {status}")
    check(bool(parser.found) or b"<html" in body.lower(), "the page is HTML", body[:200].decode(errors="replace"))


def check_demo(clone: Path, env: dict[str, str], address: str) -> None:
    done = subprocess.run([str(clone / ".venv" / "bin" / "producer-graph"), "demo"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=600)
    if not check(done.returncode == 0, "`.venv/bin/producer-graph demo` completes",
                 f"exit {done.returncode}: {done.stderr[-2000:]}"):
        return
    check(done.stderr == "", "the demo writes nothing on stderr", done.stderr[-2000:])
    link = re.search(r"(\S+)/graphql#token=(\S+)", done.stdout)
    check(link is not None and link.group(1) == address, f"the demo links GraphiQL at {address}/graphql#token=...",
          link.group(0)[:80] if link else "no link printed")
    token = re.search(r"^\s+TENANT_ADMIN\s+(\S+)$", done.stdout, re.M)
    if token is None:
        check(False, "the demo prints a TENANT_ADMIN token", done.stdout[-1000:])
        return
    check(True, "the demo prints a TENANT_ADMIN token")
    query = json.dumps({"query": "{ producers(first: 3) { totalCount nodes { name } } }"}).encode()
    status, body = get(f"{address}/graphql", {"Authorization": f"Bearer {token.group(1)}",
                                              "Content-Type": "application/json"}, query)
    try:
        total = json.loads(body)["data"]["producers"]["totalCount"]
    except (ValueError, KeyError, TypeError):
        total = 0
    check(status == 200 and total > 0, "a printed token answers a query", f"status {status}: {body[:300]!r}")


def stop(server: subprocess.Popen[bytes], data_dir: Path, log: Path) -> None:
    pid = postgres_pid(data_dir)
    check(pid is not None, "the server runs on an embedded PostgreSQL in ./.pgdata")
    os.killpg(server.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground process group
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        pass
    check(server.poll() is not None, "Ctrl-C stops the server", tail(log))
    deadline = time.monotonic() + 30
    while pid is not None and postgres_pid(data_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    check(postgres_pid(data_dir) is None and not (data_dir / "postmaster.pid").exists(),
          "Ctrl-C stops the embedded PostgreSQL it started", tail(log))


def main() -> int:
    command = first_command((ROOT / "README.md").read_text())
    print(f"README's first command: {command}", flush=True)
    with tempfile.TemporaryDirectory(prefix="first-command-") as tmp:
        clone = Path(tmp) / "producer-graph"
        if subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)]).returncode != 0:
            print("git clone failed: copying the tracked files instead", flush=True)
            tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
            for name in filter(None, tracked.decode().split("\0")):
                (clone / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, clone / name)
        port = free_port()
        env = {**os.environ, "PORT": str(port)}
        for name in ("DATABASE_URL", "DATA_DIR", "HOST", "VIRTUAL_ENV"):
            env.pop(name, None)
        address = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(["bash", "-c", command], cwd=clone, env=env, stdout=out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            if check(wait_for_health(address, server, log), f"the command installs and starts the server at {address}"):
                check_page(address)
                check_demo(clone, env, address)
                stop(server, clone / ".pgdata", log)
                text = log.read_text(errors="replace")
                noisy = [line for line in text.splitlines() if line.startswith("{")
                         and json.loads(line).get("level") in ("warning", "error", "critical")]
                check("Traceback" not in text and "XDG_RUNTIME_DIR" not in text and not noisy,
                      "the server's log has no traceback, warning or error", "\n".join(noisy[:5]) or tail(log))
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            left = postgres_pid(clone / ".pgdata")
            if left is not None:
                os.kill(left, signal.SIGINT)
                time.sleep(2)
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"smoke test of the README's first command: {'FAIL' if failures else 'PASS'}"
          + (f" ({len(failures)} checks failed)" if failures else ""), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
