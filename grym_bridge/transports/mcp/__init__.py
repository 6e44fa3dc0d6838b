"""MCP transport: grym's tools, resources and jobs for LLM clients (the official `mcp` SDK, 2.x).

- `server.py`: `McpBridge`, the MCP server (tools from the route table, resources, jobs followed with
  progress, a deadline and cancellation), over a `BridgeLink`;
- `link.py`: `BridgeLink`, the OSC-shaped conversation with a bridge (in process, or over the RPC);
- `tools.py`: the curated tools; `resources.py`: `grym://` resources;
- `http.py`: `McpHttpEndpoint`, streamable HTTP for the web transport's `/mcp`;
- `stdio.py`: `serve_stdio`, what `grym mcp` runs.

Importing this package does not import the SDK (about a second): `grym serve` loads it in a worker
thread once it is up, and `grym mcp` when it starts.
"""

from __future__ import annotations

#: How long a tool call follows its job before it returns the job id for the model to poll.
DEFAULT_DEADLINE_S = 25.0

from grym_bridge.transports.mcp.http import McpHttpEndpoint  # noqa: E402 (after the constant it uses)

__all__ = ["DEFAULT_DEADLINE_S", "McpHttpEndpoint"]
