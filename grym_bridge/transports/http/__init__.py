"""HTTP transport: the web page, a JSON API generated from the route table, a websocket for job
events and subscriptions, clip uploads and render downloads (see server.py, api.py, guard.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router
    from grym_bridge.config import Config
    from grym_bridge.transports.http.server import HttpTransport

log = logging.getLogger(__name__)


async def start_http(config: "Config", router: "Router", endpoints: dict[str, Any]) -> "HttpTransport | None":
    """Start the web page's server when `[http] enabled`; None (logged) when it is off."""
    if not config.http.enabled:
        log.info("the web page is off ([http] enabled = false)")
        return None
    from grym_bridge.transports.http.server import HttpTransport

    transport = HttpTransport(config, router, endpoints)
    await transport.start()
    return transport
