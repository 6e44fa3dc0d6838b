"""Streamable HTTP at `/mcp` on a real `grym serve` (loopback port): the SDK's HTTP client, and the web guard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mcp.conftest import run, write_progression
from tests.osc_client import RunningServer
from tests.web.conftest import web_server  # noqa: F401

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "1"}}}
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture
def server(web_server: RunningServer) -> RunningServer:
    """A real `grym serve` in this thread's test with the HTTP transport on a free loopback port."""
    return web_server


def _mcp_url(server: RunningServer) -> str:
    return f"http://127.0.0.1:{server.services.endpoints['http']}/mcp"


def test_an_http_client_uses_the_same_bridge(server: RunningServer, tmp_path: Path) -> None:
    from mcp import Client

    clip = write_progression(tmp_path / "prog.wav", "G major", bpm=96, bars=4)
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def body() -> dict[str, Any]:
        async with Client(_mcp_url(server)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            set_ = await client.call_tool("session_set", {"key": "tempo", "value": 96})
            analyzed = await client.call_tool("analyze", {"path": str(clip)}, progress_callback=on_progress)
            session = json.loads((await client.read_resource("grym://session")).contents[0].text)
            return locals()

    r = run(body())
    assert {"analyze", "render_chain", "session_get"} <= r["tools"]
    assert server.services.orchestrator.sessions.get("default").tempo == 96.0 and r["session"]["tempo"] == 96.0
    assert r["analyzed"].structured_content["key"] == "G major" and progress and max(progress) <= 1.0


def test_mcp_is_behind_the_host_and_origin_guard(server: RunningServer) -> None:
    url = _mcp_url(server)
    with httpx.Client(timeout=10) as http:
        ok = http.post(url, json=INITIALIZE, headers=ACCEPT)
        rebound = http.post(url, json=INITIALIZE, headers={**ACCEPT, "host": "evil.example:80"})
        foreign = http.post(url, json=INITIALIZE, headers={**ACCEPT, "origin": "http://evil.example"})
        cross_site = http.post(url, json=INITIALIZE, headers={**ACCEPT, "sec-fetch-site": "cross-site"})
    assert ok.status_code == 200, ok.text
    assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "bad_host"
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "bad_origin"
    assert cross_site.status_code == 403


def test_mcp_clients_beyond_loopback_need_the_studio_token(server: RunningServer) -> None:
    """Through the web transport's own ASGI app, with the client address another machine would have."""
    from grym_bridge.transports.http.server import HttpTransport
    from grym_bridge.transports.mcp import McpHttpEndpoint

    services = server.services

    async def ask(client: str, **headers: str) -> int:
        endpoint = McpHttpEndpoint(services.router)
        await endpoint.start()
        transport = HttpTransport(services.config, services.router, services.endpoints, apps={"/mcp": endpoint})
        transport.token, transport.port = "s" * 32, 80
        asgi = httpx.ASGITransport(app=transport.app(), client=(client, 50000))
        try:
            async with httpx.AsyncClient(transport=asgi, base_url="http://127.0.0.1") as c:
                return (await c.post("/mcp", json=INITIALIZE, headers={**ACCEPT, **headers})).status_code
        finally:
            await endpoint.close()

    assert run(ask("10.1.2.3")) == 401
    assert run(ask("10.1.2.3", authorization="Bearer wrong-token-wrong-token")) == 401
    assert run(ask("10.1.2.3", authorization=f"Bearer {'s' * 32}")) == 200
