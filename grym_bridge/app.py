"""The composition root: builds the services once and hands them to the transports.

Capabilities that need heavy imports (torch, diffusers, transformers) are
built lazily, on their first request, so `grym serve` starts in well under a
second and answers `/grym/system/ping` without importing them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any, Callable

from grym_bridge.api import all_routes, build_router
from grym_bridge.api.health import publisher
from grym_bridge.api.step_args import step_arg_specs
from grym_bridge.config import Config
from grym_bridge.orchestrator.chains import Orchestrator
from grym_bridge.orchestrator.health import HealthMonitor, LoopLagProbe, SystemProbe
from grym_bridge.orchestrator.jobs import JobQueue
from grym_bridge.orchestrator.llm_planner import make_planner
from grym_bridge.orchestrator.resources import ResourceManager
from grym_bridge.orchestrator.selftest import capability_status
from grym_bridge.orchestrator.service import OrchestratorService, count_outcomes
from grym_bridge.orchestrator.services import CapabilityServices, Services
from grym_bridge.orchestrator.session import SessionStore
from grym_bridge.orchestrator.step_adapters import ChainSteps, default_registry
from grym_bridge.models.share import ModelShare
from grym_bridge.paths import PathPolicy, ensure_data_dir
from grym_bridge.transports.midi import midi_status
from grym_bridge.transports.midi.ports import list_ports

log = logging.getLogger(__name__)


def build_services(config: Config, *, open_memory: Callable[[], Any] | None = None,
                   make_text_to_audio: Callable[[], Any] | None = None, trust_paths: bool = False) -> Services:
    """Build every service of one process (the server, or a test), once; nothing else builds them.

    Cheap: no store is opened and no model imported until a request needs one.
    Health is hooked into the job queue (GPU jobs refused while critical, every
    finished job counted in the error rate). `trust_paths` is for the CLI, run by the
    user on their own files: the capabilities then skip the allowed-roots check.
    """
    ensure_data_dir(config)
    paths = PathPolicy.from_config(config)
    jobs = JobQueue(config.jobs)
    capabilities = CapabilityServices(config, None if trust_paths else paths, open_memory=open_memory,
                                      make_text_to_audio=make_text_to_audio)
    registry = default_registry(ChainSteps(config, capabilities))
    registry.use_args(step_arg_specs(all_routes()))  # plan steps take their routes' argument ranges
    lag = LoopLagProbe()
    health = HealthMonitor(config.health, read=SystemProbe(queue_depth=jobs.depth, loop_lag=lag.value,
                                                           hung_workers=jobs.hung_count))
    sessions = SessionStore.backed_by_memory(capabilities.memory)
    resources = ResourceManager(config, jobs=jobs, models=capabilities.model_budget)
    health.subscribe(resources.on_health)
    chains = Orchestrator(config, registry, planner=make_planner(config.orchestrator, registry.names()),
                          sessions=sessions, health=health)
    jobs.admission = health.admit
    jobs.add_listener(count_outcomes(health))
    orchestrator = OrchestratorService(config, chains, health, resources, sessions, lag)
    return Services(config=config, paths=paths, jobs=jobs, capabilities=capabilities, orchestrator=orchestrator,
                    probes={"midi": midi_status}, midi_ports=list_ports, model_share=ModelShare.from_config(config))


def describe(services: Services) -> dict[str, Any]:
    """What `/grym/system/info` and the banner say about this server."""
    return services.describe()


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
    from grym_bridge.transports.http import start_http
    from grym_bridge.transports.mcp import McpHttpEndpoint
    from grym_bridge.transports.midi import start_midi
    from grym_bridge.transports.network import StudioNetwork
    from grym_bridge.transports.osc.server import OscServer
    from grym_bridge.transports.rpc.uploads import UploadStore

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
    net = config.network
    uploads = UploadStore(config.data_dir / "uploads", max_upload_bytes=net.max_upload_bytes, ttl_s=net.upload_ttl_s,
                          max_total_bytes=net.max_uploads_total_bytes)
    services.network = StudioNetwork(config, router, osc_port=osc.port, endpoints=services.endpoints,
                                     uploads=uploads, status=lambda: _bridge_status(services),
                                     models_ready=lambda: _ready(services), models=services.model_share)
    osc.gate = services.network.gate
    await services.network.start()
    # MCP over streamable HTTP at /mcp, behind the web page's guard (the SDK loads in a thread meanwhile).
    mcp = McpHttpEndpoint(router) if config.http.enabled else None
    if mcp is not None:
        await mcp.start()
    web = await start_http(config, router, services.endpoints,  # None when [http] enabled is off
                           apps={"/mcp": mcp} if mcp is not None else None)
    # Health samples, loop-lag probe and cleanup; health transitions go to /grym/health/state subscribers.
    orchestration = asyncio.create_task(services.orchestrator.run(on_transition=publisher(router)))
    services.midi = start_midi(config, router, services.endpoints)  # None (with a logged reason) when MIDI is off or unavailable
    # Off the loop: checking capabilities imports their modules (scipy alone takes a second), and
    # requests must be answered meanwhile.
    services.capability_states = await asyncio.to_thread(capability_status, config, services.probes)
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
        if mcp is not None:
            await mcp.close()
        if web is not None:
            await web.close()
        await services.network.close()
        await osc.close()
        services.capabilities.close()  # after the workers stopped: nothing writes any more
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if on_stopped is not None:
            on_stopped([j.id for j in cancelled])



def _bridge_status(services: Services) -> tuple[str, int]:
    """The health state and the jobs waiting, for the zeroconf TXT records."""
    return services.orchestrator.health.state.value, services.jobs.depth()


def _ready(services: Services) -> tuple[str, ...]:
    """The capabilities ready now (imports their modules: called off the event loop)."""
    return tuple(c.name for c in capability_status(services.config, services.probes) if c.state == "ready")
