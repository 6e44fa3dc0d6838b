"""`grym mcp`: grym's tools for LLM clients (Claude Desktop, editors, agents) over MCP on stdio."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import click

from grym_bridge.cli.common import CliState, pass_config
from grym_bridge.config import Config
from grym_bridge.errors import GrymError
from grym_bridge.transports.mcp import DEFAULT_DEADLINE_S


def client_config(state: CliState, *, standalone: bool) -> dict[str, Any]:
    """The `mcpServers` entry for a client's config: this Python, absolute, so no PATH or `uvx` is needed."""
    args = ["-m", "grym_bridge"]
    if state.config_file:
        args += ["--config", str(_absolute(state.config_file))]
    if state.data_dir:
        args += ["--data-dir", str(_absolute(state.data_dir))]
    args.append("mcp")
    if standalone:
        args.append("--standalone")
    return {"mcpServers": {"grym": {"command": sys.executable, "args": args}}}


def _absolute(path: str) -> str:
    from pathlib import Path

    return str(Path(path).expanduser().resolve())


@click.command()
@click.option("--standalone", is_flag=True,
              help="Start a bridge in this process (OSC, RPC, web page too) instead of using the running one.")
@click.option("--print-config", is_flag=True,
              help="Print the JSON to paste into an MCP client's config (absolute paths) and exit.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The running bridge's address.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="The running bridge's RPC port [default: network.rpc_port, 9131].")
@click.option("--token", default=None, help="The studio token, for a bridge on another machine (also network.token).")
@click.option("--deadline", type=click.FloatRange(0.5, 3600.0), default=DEFAULT_DEADLINE_S, show_default=True,
              help="Seconds a tool call waits for its job; after that it returns the job id to poll.")
@click.pass_context
@pass_config
def mcp(config: Config, ctx: click.Context, standalone: bool, print_config: bool, host: str, port: int | None,
        token: str | None, deadline: float) -> None:
    """Serve grym's tools to an LLM client over MCP (stdio): analyze, remember, effects, generate, compose.

    Talks to the running `grym serve` over its RPC port, so the DAW and the LLM share one job queue,
    one session and one memory. Add it to a client with the snippet `grym mcp --print-config` prints.
    """
    if print_config:
        state = ctx.find_object(CliState) or CliState(None, None)
        click.echo(json.dumps(client_config(state, standalone=standalone), indent=2))
        if config.http.enabled:
            click.echo(f"Clients that speak streamable HTTP can use http://127.0.0.1:{config.http.port}/mcp "
                       "while `grym serve` runs.", err=True)
        return
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if standalone:
        asyncio.run(_standalone(config, deadline))
    else:
        asyncio.run(_remote(config, host, port or config.network.rpc_port, token, deadline))


async def _remote(config: Config, host: str, port: int, token: str | None, deadline: float) -> None:
    from grym_bridge.api import all_routes
    from grym_bridge.transports.auth import load_token
    from grym_bridge.transports.mcp.link import BridgeLink
    from grym_bridge.transports.mcp.server import McpBridge
    from grym_bridge.transports.mcp.stdio import serve_stdio
    from grym_bridge.transports.rpc.client import ConnectionLost, RpcClient

    link = BridgeLink()
    try:
        client = await RpcClient.connect(host, port, token=token or load_token(config, create=False),
                                         client_name="grym mcp", max_payload=None, on_osc=link.deliver)
    except ConnectionLost:
        raise GrymError(f"no grym bridge is running at {host}:{port} (RPC): start `grym serve` first "
                        "(if its banner shows another RPC port, pass it with --port), or run "
                        "`grym mcp --standalone` to start one in this process") from None
    link.attach(client.send_osc)

    async def watch_connection() -> None:
        await client.closed.wait()
        link.lost(f"the bridge at {host}:{port} closed the connection ({client.error}); restart `grym serve`, "
                  "then the MCP client")

    watcher = asyncio.create_task(watch_connection())
    try:
        await serve_stdio(McpBridge(link, {r.address: r for r in all_routes()}, deadline_s=deadline))
    finally:
        watcher.cancel()
        await client.close()


async def _standalone(config: Config, deadline: float) -> None:
    from grym_bridge.app import serve
    from grym_bridge.transports.mcp.link import BridgeLink
    from grym_bridge.transports.mcp.server import McpBridge
    from grym_bridge.transports.mcp.stdio import serve_stdio

    stop = asyncio.Event()
    ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(config, on_ready=ready.set_result, stop=stop, install_signal_handlers=False))
    await asyncio.wait({server, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        server.result()  # the bridge failed to start: its error, said once
    router = ready.result().router
    try:
        await serve_stdio(McpBridge(BridgeLink.in_process(router), router.routes, deadline_s=deadline))
    finally:
        stop.set()
        await server


commands = [mcp]
