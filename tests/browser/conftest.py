"""Browser fixtures: Debian's headless Chromium driven by Playwright (no browser download), a real uvicorn on
127.0.0.1 holding the demo, and a guard that blocks and records every request leaving the loopback address."""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from app.runtime.demo import Demo, build_demo
from persistence.db import create_engine, session_factory
from tests.conftest import free_port, fresh_database, settings_for_test
from tests.conftest import uvicorn_process as served

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECRET = "browser-tests-secret-of-at-least-thirty-two-bytes"
ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


async def wait_healthy(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not become healthy in 30 s")


@dataclass
class ApiServer:
    """A real server holding the demo; `allowed_origin` is in its ALLOWED_ORIGINS, `refused_origin` is not."""

    url: str
    demo: Demo
    tokens: dict[str, str]
    allowed_origin: str
    refused_origin: str


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_server(pg_url: str, template_url: str, tmp_path_factory: pytest.TempPathFactory
                     ) -> AsyncIterator[ApiServer]:
    url = await fresh_database(pg_url)
    settings = settings_for_test(jwt_secret=SECRET)
    allowed, refused = f"http://{LOOPBACK}:{free_port()}", f"http://{LOOPBACK}:{free_port()}"
    log = tmp_path_factory.mktemp("browser") / "server.log"
    with served(url, log, SECRET, ALLOWED_ORIGINS=f'["{allowed}"]') as base_url:
        engine = create_engine(url, pool_size=2, max_overflow=2)
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                await wait_healthy(http)
                demo = await build_demo(http, session_factory(engine), settings)
            yield ApiServer(base_url, demo, demo.tokens(settings), allowed, refused)
        finally:
            await engine.dispose()


@contextmanager
def static_page(origin: str, html: bytes) -> Iterator[str]:
    """`html` served at `origin`/ (a loopback origin) from a thread, as a site on another origin would serve it."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html if found else b"not found")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    address = urlsplit(origin)
    server = http.server.ThreadingHTTPServer((address.hostname or LOOPBACK, address.port or 80), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{origin}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


_missing: list[str] = []  # why the browser tests were skipped, for the end of the run


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; missing, the browser tests skip outside CI (`.ci/run` installs it) and fail in CI."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        _missing.append(reason)
        pytest.skip(reason)
    return CHROMIUM


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _missing:
        terminalreporter.write_line(f"browser tests skipped: {_missing[0]}", yellow=True)


@dataclass
class Browser:
    """A fresh Chromium profile and what its pages asked for; `left_loopback`: requests off 127.0.0.1 (blocked)."""

    context: Any
    page: Any
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)  # WebSocket addresses opened (routes do not see them)
    left_loopback: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console errors (CSP refusals too)


@asynccontextmanager
async def launch(chromium: str, profile: Path, block_outside: bool) -> AsyncIterator[Browser]:
    """Chromium on a fresh profile; with `block_outside`, every request off 127.0.0.1 is aborted and recorded.

    Playwright answers CORS preflights itself while requests are routed, so a page whose CORS the test checks
    runs unrouted: its requests are only recorded."""
    from playwright.async_api import Route, async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = context.pages[0] if context.pages else await context.new_page()
        browser = Browser(context, page)
        page.on("websocket", lambda socket: browser.sockets.append(socket.url))
        page.on("pageerror", lambda error: browser.errors.append(str(error)))
        page.on("console", lambda message: browser.errors.append(message.text) if message.type == "error" else None)

        async def guard(route: Route) -> None:
            if urlsplit(route.request.url).hostname != LOOPBACK:
                browser.left_loopback.append(route.request.url)
                await route.abort("blockedbyclient")
                return
            await route.continue_()

        if block_outside:
            await context.route("**/*", guard)
        context.on("request", lambda request: browser.requests.append(request.url))
        try:
            yield browser
        finally:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def offline_browser(chromium: str, tmp_path: Path) -> AsyncIterator[Browser]:
    """A browser that cannot reach anything but 127.0.0.1."""
    async with launch(chromium, tmp_path / "profile", block_outside=True) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: str, tmp_path: Path) -> AsyncIterator[Browser]:
    """A browser whose requests are recorded, not routed (CORS as a real browser applies it)."""
    async with launch(chromium, tmp_path / "profile", block_outside=False) as browser:
        yield browser
