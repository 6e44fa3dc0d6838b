"""Fixtures of the web tests: a real `grym serve` with its HTTP transport, and Debian's Chromium.

Chromium is driven by Playwright for Python with `executable_path` set to the
system browser (/usr/bin/chromium, installed by `.ci/run`); Playwright's own
browser download is never used. Screenshots of each page go to docs/ with GRYM_SCREENSHOTS=1.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from grym_bridge.config import Config
from tests.conftest import require, require_module
from tests.osc_client import RunningServer, start_server

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
#: The README's screenshots are rewritten only when asked (`GRYM_SCREENSHOTS=1 make test`): a plain test
#: run leaves the working tree as it found it. Otherwise the shots go to a temporary folder (still taken,
#: so a page that cannot be drawn fails the test).
SHOTS = DOCS if os.environ.get("GRYM_SCREENSHOTS") == "1" else Path(tempfile.mkdtemp(prefix="grym-shots-"))
if SHOTS != DOCS:
    atexit.register(shutil.rmtree, SHOTS, True)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
                 "--use-fake-device-for-media-stream", "--mute-audio"]


def start_web_server(config: Config) -> RunningServer:
    config.http.port = 0
    config.network.rpc_port = 0
    config.network.oscquery_port = 0
    return start_server(config)


@pytest.fixture
def web_server(config: Config) -> Iterator[RunningServer]:
    server = start_web_server(config)
    try:
        yield server
    finally:
        server.stop()


def web_url(server: RunningServer) -> str:
    return str(server.services.endpoints["web"])


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop running
    in this thread while it is open, and later tests that call asyncio.run() would fail."""
    require_module("playwright")
    require(Path(CHROMIUM).exists(), "Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="grym-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860}, accept_downloads=True)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


class Console:
    """The page's console errors and uncaught exceptions, collected while a test runs."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    tab = browser_context.new_page()
    tab.console = Console(tab)
    try:
        yield tab
    finally:
        tab.close()


def open_page(page: Any, server: RunningServer, name: str) -> None:
    """Open one page of the web UI and wait until it has rendered."""
    page.goto(f"{web_url(server)}#/{name}")
    page.wait_for_selector(f"#page[data-ready='1'][data-page='{name}']")


def screenshot(page: Any, name: str) -> Path:
    """Save the page as web-<name>.png: in docs/ (the README's "Web page" section) when GRYM_SCREENSHOTS=1."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"web-{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full-page shot
    page.wait_for_timeout(300)  # let canvases and transitions settle
    page.screenshot(path=str(path), full_page=True)
    return path
