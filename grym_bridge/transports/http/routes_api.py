"""The one place the HTTP transport imports the request layer from.

The route table, argument specs and router are transport-neutral; they live
with the OSC transport today. When they move (grym_bridge.api), only this
module changes.
"""

from __future__ import annotations

from grym_bridge.transports.osc.routes import ERROR_ADDRESS, REQUIRED, Arg, Peer, Route, Router

__all__ = ["ERROR_ADDRESS", "REQUIRED", "Arg", "Peer", "Route", "Router"]
