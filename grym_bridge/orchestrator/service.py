"""The orchestrator service: planner, chains, sessions, health and resources, wired once per process.

`OrchestratorService.build(config, jobs)` is cheap (no store is opened, no
model imported) so `grym serve` starts fast; it hooks health into the job
queue (GPU jobs refused while critical, every finished job counted in the
error rate). `run()` is the background part the server starts: health
samples, the event-loop lag probe and periodic cleanup.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config
from grym_bridge.orchestrator.chains import AskResult, Orchestrator
from grym_bridge.orchestrator.health import HealthMonitor, LoopLagProbe, SystemProbe, Transition
from grym_bridge.orchestrator.llm_planner import make_planner
from grym_bridge.orchestrator.resources import ResourceManager
from grym_bridge.orchestrator.session import SessionStore
from grym_bridge.orchestrator.step_adapters import Capabilities, default_registry
from grym_bridge.orchestrator.steps import Progress, StepRegistry

log = logging.getLogger(__name__)


@dataclass
class OrchestratorService:
    config: Config
    orchestrator: Orchestrator
    health: HealthMonitor
    resources: ResourceManager
    sessions: SessionStore
    capabilities: Capabilities
    loop_lag: LoopLagProbe

    @classmethod
    def build(
        cls,
        config: Config,
        jobs: Any = None,
        *,
        registry: StepRegistry | None = None,
        capabilities: Capabilities | None = None,
        model_budget: Callable[[], Any] | None = None,
    ) -> "OrchestratorService":
        caps = capabilities or Capabilities(config)
        registry = registry or default_registry(caps)
        lag = LoopLagProbe()
        probe = SystemProbe(queue_depth=jobs.depth if jobs is not None else None, loop_lag=lag.value)
        health = HealthMonitor(config.health, read=probe)
        sessions = SessionStore.in_memory_store(caps.memory)
        resources = ResourceManager(config, jobs=jobs, models=model_budget or _registry_budget(caps))
        health.subscribe(resources.on_health)
        orchestrator = Orchestrator(config, registry, planner=make_planner(config.orchestrator, registry.names()),
                                    sessions=sessions, health=health)
        if jobs is not None:
            jobs.admission = health.admit
            jobs.add_listener(_count_outcomes(health))
        return cls(config, orchestrator, health, resources, sessions, caps, lag)

    def ask(self, text: str, *, path: Path | None = None, session_id: str = "default",
            progress: Progress | None = None) -> AskResult:
        return self.orchestrator.ask(text, path=path, session_id=session_id, progress=progress)

    async def run(self, on_transition: Callable[[Transition], None] | None = None) -> None:
        """Sample health, probe the loop's lag and clean up, until cancelled.

        `on_transition` (a transport's publisher) hears every health transition.
        """
        if on_transition is not None:
            self.health.subscribe(on_transition)
        tasks = [asyncio.create_task(self.loop_lag.run()), asyncio.create_task(self.resources.run()),
                 asyncio.create_task(self._sample_health())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sample_health(self) -> None:
        while True:
            try:
                # psutil reads are quick, but /proc can stall on a loaded box: keep it off the loop.
                readings = await asyncio.to_thread(self.health.sample)
                self.health.update(readings)
            except Exception:  # noqa: BLE001 - a failed sample must not end health monitoring
                log.exception("health sample failed")
            await asyncio.sleep(self.config.health.interval_s)


def _count_outcomes(health: HealthMonitor) -> Callable[[str, Any], None]:
    def listener(event: str, job: Any) -> None:
        if event in ("done", "error"):  # a client's mistake is not the server being unwell (CLIENT_FAULTS)
            health.record_outcome(None if event == "done" else getattr(job, "error_code", None) or "error")

    return listener


def _registry_budget(caps: Capabilities) -> Callable[[], Any]:
    """The model budget of the text-to-audio runner, if one was ever built (never build one for this)."""

    def budget() -> Any:
        tta = caps.loaded_text_to_audio
        return tta.registry.budget if tta is not None else None

    return budget
