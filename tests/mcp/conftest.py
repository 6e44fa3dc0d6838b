"""Fixtures of the MCP tests: real services in this test's data folder, reached through the SDK's own client.

`mcp_session` builds the services the way `grym serve` does (`build_services`,
the job queue started, `build_router`), puts the MCP server on an in-process
bridge link, and connects the SDK's in-memory `Client` to it: every tool call
goes through the real router, handlers, job queue and capabilities.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import soundfile as sf

from grym_bridge.api import build_router
from grym_bridge.app import build_services
from grym_bridge.config import Config
from grym_bridge.orchestrator.services import Services
from tests.models.tiny import shared_budget, tiny_config, tiny_models_dir  # noqa: F401
from tests.synth import chord_progression


@dataclass
class McpSession:
    services: Services
    client: Any  # mcp.Client
    bridge: Any  # grym_bridge.transports.mcp.server.McpBridge


@asynccontextmanager
async def mcp_session(config: Config, *, deadline_s: float = 25.0,
                      make_text_to_audio: Callable[[], Any] | None = None) -> AsyncIterator[McpSession]:
    """Real services and router in `config`'s data folder, and the SDK's in-memory client on an MCP server."""
    from mcp import Client

    from grym_bridge.transports.mcp.link import BridgeLink
    from grym_bridge.transports.mcp.server import McpBridge

    services = build_services(config, make_text_to_audio=make_text_to_audio)
    await services.jobs.start()
    router = services.router = build_router(services)
    bridge = McpBridge(BridgeLink.in_process(router), router.routes, deadline_s=deadline_s)
    try:
        async with Client(bridge.server) as client:
            yield McpSession(services, client, bridge)
    finally:
        await services.jobs.stop("the test is over")
        services.capabilities.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def write_progression(path: Path, key: str = "A minor", bpm: float = 100.0, bars: int = 4) -> Path:
    """A chord progression with a known key and tempo, as a wav file."""
    audio = chord_progression(key, bpm=bpm, bars=bars)
    sf.write(str(path), audio.samples.T, audio.sample_rate)
    return path
