"""Streamable HTTP at `/mcp` on the web transport, behind its Host/Origin/token guard.

`McpHttpEndpoint` is the ASGI app the composition root hands to the HTTP
transport (transports do not import each other). The SDK is imported in a
worker thread after the server is up, so `grym serve` starts as fast as
before; a request that arrives meanwhile waits for it. The SDK's own DNS
rebinding check is off because the web transport's guard already checks
`Host` and `Origin` (with this bridge's names and `http.allowed_hosts`) and
the studio token for clients beyond loopback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
#: How long a request waits for the SDK to load before it is answered 503.
READY_TIMEOUT_S = 30.0


def _load_sdk() -> None:
    """Import the SDK and the MCP server (seconds of imports, off the event loop)."""
    import mcp.server.streamable_http_manager  # noqa: F401
    import grym_bridge.transports.mcp.server  # noqa: F401

    # Its "session manager started / shutting down" lines tell a producer nothing; warnings still show.
    logging.getLogger("mcp.server.streamable_http_manager").setLevel(logging.WARNING)


class McpHttpEndpoint:
    """The `/mcp` endpoint of one `grym serve`: `await start()`, mount it, `await close()`."""

    def __init__(self, router: "Router", *, deadline_s: float | None = None) -> None:
        self.router = router
        self.deadline_s = deadline_s
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._app: Any = None
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None

    async def start(self) -> None:
        """Load the SDK and run its session manager in the background; returns at once."""
        self._task = asyncio.create_task(self._run(), name="grym-mcp-http")

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(_load_sdk)
            from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
            from mcp.server.transport_security import TransportSecuritySettings

            from grym_bridge.transports.mcp.link import BridgeLink
            from grym_bridge.transports.mcp import DEFAULT_DEADLINE_S
            from grym_bridge.transports.mcp.server import McpBridge

            bridge = McpBridge(BridgeLink.in_process(self.router), self.router.routes,
                               deadline_s=self.deadline_s or DEFAULT_DEADLINE_S)
            manager = StreamableHTTPSessionManager(
                app=bridge.server, security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False))
            async with manager.run():
                self._app = StreamableHTTPASGIApp(manager)
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # noqa: BLE001 - the rest of the bridge keeps serving; /mcp says why
            self.error = f"the MCP endpoint could not start: {exc}"
            log.warning("%s", self.error)
        finally:
            self._app = None
            self._ready.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_S)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        app = self._app
        if app is None:
            await _unavailable(send, self.error or "the MCP endpoint is still starting or has stopped; try again")
            return
        await app(scope, receive, send)

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def _unavailable(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "busy", "message": message}}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
