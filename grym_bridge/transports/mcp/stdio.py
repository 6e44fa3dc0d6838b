"""MCP over stdio, for client configs (`grym mcp`): the server on this process's stdin and stdout.

While it serves, the SDK points file descriptor 1 at stderr, so a stray print
or a library's output cannot corrupt the JSON-RPC stream; logs go to stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grym_bridge.transports.mcp.server import McpBridge


async def serve_stdio(bridge: "McpBridge") -> None:
    """Serve one MCP client on stdin/stdout until it closes stdin."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await bridge.server.run(read, write, bridge.server.create_initialization_options())
