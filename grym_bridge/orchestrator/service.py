"""The orchestrator service: planner and chains, sessions, health and resources of one process.

The composition root (`grym_bridge.app.build_services`) builds the parts and
this holder once; it builds nothing itself. `run()` is the background part
the server starts: health samples, the event-loop lag probe and periodic
cleanup.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config
from grym_bridge.orchestrator.chains import AskResult, Orchestrator
from grym_bridge.orchestrator.health import HealthMonitor, LoopLagProbe, Transition
from grym_bridge.orchestrator.resources import ResourceManager
from grym_bridge.orchestrator.session import SessionStore
from grym_bridge.orchestrator.steps import Progress

log = logging.getLogger(__name__)


@dataclass
class OrchestratorService:
    """What handlers use of the orchestrator: `chains` plans and runs requests in words."""

    config: Config
    chains: Orchestrator
    health: HealthMonitor
    resources: ResourceManager
    sessions: SessionStore
    loop_lag: LoopLagProbe

    def ask(self, text: str, *, path: Path | None = None, session_id: str = "default",
            progress: Progress | None = None) -> AskResult:
        return self.chains.ask(text, path=path, session_id=session_id, progress=progress)

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


def count_outcomes(health: HealthMonitor) -> Callable[[str, Any], None]:
    """A job-queue listener counting finished jobs in the health error rate."""

    def listener(event: str, job: Any) -> None:
        if event in ("done", "error"):  # a client's mistake is not the server being unwell (CLIENT_FAULTS)
            health.record_outcome(None if event == "done" else getattr(job, "error_code", None) or "error")

    return listener

