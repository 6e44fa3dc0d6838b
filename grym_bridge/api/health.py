"""`/grym/health/*`: the server's health (healthy, warning, critical) and pushed transitions."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable

from grym_bridge.api.routes import Property, Request, Route

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services
    from grym_bridge.orchestrator.health import Transition
    from grym_bridge.api.routes import Router

STATE_ADDRESS = "/grym/health/state"


def get(req: Request) -> None:
    health = req.services.orchestrator.health
    # `hung`: workers held by work past its timeout (health is warning while there are any).
    req.reply_json(health.status.to_dict(time.monotonic()) | {"hung": req.services.jobs.hung()})


def state(services: "Services") -> tuple[str, str]:
    status = services.orchestrator.health.status
    return (status.state.value, json.dumps(status.reasons))


def publisher(router: "Router") -> Callable[["Transition"], Any]:
    """A health listener that pushes each transition to `/grym/health/state <state> <reasons_json>` subscribers."""

    def publish(t: "Transition") -> None:
        router.publish(STATE_ADDRESS, [t.state.value, json.dumps(list(t.reasons))])

    return publish


ROUTES = [
    Route("/grym/health/get", get, reply="<req_id> <json>",
          doc="Health now: state (healthy, warning, critical), for how long, why, and the readings "
              "(CPU, memory, GPU memory, queue depth, error rate, event-loop lag, hung workers), and the "
              "workers held by work that ran past its job's timeout."),
]

PROPERTIES = [
    Property("health", "state", state, doc="health transitions: <state> <reasons_json>"),
]
