"""The transport-neutral request layer: the route table, argument coercion and one handler module per domain.

Every transport (OSC over UDP and TCP, MIDI, the msgpack RPC, OSCQuery, and
the HTTP and MCP transports to come) dispatches through the one `Router`
built here; OSCQuery, the README tables and `/grym/system/addresses` are
generated from the same table (`Route.schema()` describes one address as
data). Handlers call the services built once in `grym_bridge.app`; nothing
here knows which transport a request came from.

Add a domain by writing `grym_bridge/api/<domain>.py` with `ROUTES` (and
maybe `PROPERTIES`) and listing it in `DOMAINS`.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from grym_bridge.api import analyze, ask, compose, fx, generate, health, job, memory, midi, session, system
from grym_bridge.api.routes import Arg, Peer, Property, Request, Route, Router

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services

#: The domains in the order their addresses are listed.
DOMAINS: tuple[ModuleType, ...] = (system, job, ask, session, analyze, health, compose, midi, fx, memory, generate)


def all_routes() -> list[Route]:
    """Every domain's routes (without the subscription routes the properties add)."""
    return [route for module in DOMAINS for route in getattr(module, "ROUTES", ())]


def all_properties() -> list[Property]:
    return [prop for module in DOMAINS for prop in getattr(module, "PROPERTIES", ())]


def reference(router: Router | None = None) -> list[dict[str, Any]]:
    """Every address as data (`Route.schema()`): what the HTTP and MCP transports are generated from.

    With a `router`, the subscription routes its properties added are included.
    """
    routes = list(router.routes.values()) if router is not None else all_routes()
    return [route.schema() for route in routes]


def build_router(services: "Services") -> Router:
    """A router with every domain's routes and properties, wired to the job queue's events."""
    router = Router(services, results_dir=services.config.data_dir / "results")
    for module in DOMAINS:
        router.add(getattr(module, "ROUTES", ()), getattr(module, "PROPERTIES", ()))
    services.jobs.add_listener(router.on_job_event)
    return router


__all__ = ["DOMAINS", "Arg", "Peer", "Property", "Request", "Route", "Router", "all_properties", "all_routes",
           "build_router", "reference"]
