"""OSC transport: one module per address domain, each exporting `ROUTES` (and maybe `PROPERTIES`).

Add a domain by writing `grym_bridge/transports/osc/<domain>.py` and listing it in `DOMAIN_MODULES`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from grym_bridge.transports.osc.routes import Router

if TYPE_CHECKING:
    from grym_bridge.app import Services

DOMAIN_MODULES = (
    "system",
    "job",
    "ask",
    "session",
    "analyze",
    "health",
    "compose",
    "midi",
    "fx",
    "memory",
    "generate",
)


def build_router(services: "Services") -> Router:
    """A router with every domain's routes and properties, wired to the job queue's events."""
    router = Router(services, results_dir=services.config.data_dir / "results")
    for name in DOMAIN_MODULES:
        module = importlib.import_module(f"grym_bridge.transports.osc.{name}")
        router.add(getattr(module, "ROUTES", ()), getattr(module, "PROPERTIES", ()))
    services.jobs.add_listener(router.on_job_event)
    return router
