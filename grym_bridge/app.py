"""The composition root: builds the services once and hands them to the transports.

Capabilities that need heavy imports (torch, diffusers, transformers) are
built lazily, on their first request, so `grym serve` starts in well under a
second and answers `/grym/system/ping` without importing them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from grym_bridge import PROTOCOL_VERSION, __version__
from grym_bridge.config import Config
from grym_bridge.orchestrator.jobs import JobQueue
from grym_bridge.paths import PathPolicy, ensure_data_dir

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a handler may use. Transports get this; capabilities never see it."""

    config: Config
    paths: PathPolicy
    jobs: JobQueue
    started_at: float = field(default_factory=time.monotonic)
    #: Filled by `serve`: the transports' bound ports, for `/grym/system/info` and the banner.
    endpoints: dict[str, Any] = field(default_factory=dict)
    #: Filled by `serve`: the router every transport dispatches through (OSCQuery reads its table).
    router: Any = None
    #: Which capabilities are ready, checked once at start in a worker thread (it imports their modules).
    capabilities: list[Any] = field(default_factory=list)
    #: The orchestrator: planners, chains, session contexts, health and cleanup (grym_bridge.orchestrator.service).
    orchestrator: Any = None
    #: Filled by `serve` when `[midi] enabled`: the MIDI transport (ports, mapping, learn, clip player).
    midi: Any = None
    #: Filled by `serve`: the studio network (RPC, OSCQuery, zeroconf, token; grym_bridge.transports.network).
    network: Any = None


def build_services(config: Config) -> Services:
    """Build the services for one process (the server, or a test)."""
    ensure_data_dir(config)
    from grym_bridge.orchestrator.service import OrchestratorService

    jobs = JobQueue(config.jobs)
    return Services(config=config, paths=PathPolicy.from_config(config), jobs=jobs,
                    orchestrator=OrchestratorService.build(config, jobs))


def describe(services: Services) -> dict[str, Any]:
    """What `/grym/system/info` and the banner say about this server."""
    return {
        "version": __version__,
        "protocol": PROTOCOL_VERSION,
        "data_dir": str(services.config.data_dir),
        "endpoints": services.endpoints,
        "uptime_s": round(time.monotonic() - services.started_at, 1),
        "queue": {"waiting": services.jobs.depth(), "running": len(services.jobs.running())},
        "capabilities": [c.__dict__ for c in services.capabilities],
    }


async def serve(
    config: Config,
    *,
    on_ready: Callable[[Services], None] | None = None,
    on_stopped: Callable[[list[int]], None] | None = None,
    stop: asyncio.Event | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Run the server until SIGINT/SIGTERM (or `stop` is set), then shut down cleanly.

    Shutdown cancels running jobs and reports each to its client, then closes
    every socket. `on_stopped` gets the ids of the jobs that were cancelled.
    """
    # Imported here, not at module top: tools that only build services (tests, the CLI) skip them.
    from grym_bridge.orchestrator.selftest import capability_status
    from grym_bridge.transports.http import start_http
    from grym_bridge.transports.midi import start_midi
    from grym_bridge.transports.network import StudioNetwork
    from grym_bridge.transports.osc import build_router
    from grym_bridge.transports.osc.health import publisher
    from grym_bridge.transports.osc.server import OscServer

    services = build_services(config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

    await services.jobs.start()
    router = services.router = build_router(services)
    osc = OscServer(router, config.server)
    await osc.start()
    services.endpoints.update({"host": config.server.host, "osc_udp": osc.port, "osc_tcp": osc.port})
    # Studio network: RPC, OSCQuery and zeroconf; the OSC gate refuses remote clients without the token.
    services.network = StudioNetwork(services, router, osc_port=osc.port)
    osc.gate = services.network.gate
    await services.network.start()
    web = await start_http(services, router)  # None when [http] enabled is off
    # Health samples, loop-lag probe and cleanup; health transitions go to /grym/health/state subscribers.
    orchestration = asyncio.create_task(services.orchestrator.run(on_transition=publisher(router)))
    services.midi = start_midi(services, router)  # None (with a logged reason) when MIDI is off or unavailable
    # Off the loop: checking capabilities imports their modules (scipy alone takes a second), and
    # requests must be answered meanwhile.
    services.capabilities = await asyncio.to_thread(capability_status, config)
    if on_ready is not None:
        on_ready(services)
    try:
        await stop.wait()
    finally:
        orchestration.cancel()
        cancelled = await services.jobs.stop("server shutting down")
        await asyncio.sleep(0)  # let the cancellation replies leave before the sockets close
        if services.midi is not None:
            services.midi.close()
        if web is not None:
            await web.close()
        await services.network.close()
        await osc.close()
        services.orchestrator.capabilities.close()  # after the workers stopped: nothing writes any more
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if on_stopped is not None:
            on_stopped([j.id for j in cancelled])

