"""MIDI transport: virtual and hardware ports, the controller mapping, learn, feedback and clip playback.

`start_midi` is what `serve` calls; a missing backend, port or a bad mapping
file is logged as one clear line and the server runs on without MIDI.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from grym_bridge.errors import GrymError

if TYPE_CHECKING:
    from grym_bridge.app import Services
    from grym_bridge.transports.midi.transport import MidiTransport
    from grym_bridge.transports.osc.routes import Router

log = logging.getLogger(__name__)


def start_midi(services: "Services", router: "Router") -> "MidiTransport | None":
    """Open the MIDI transport if `[midi] enabled`; None (and a warning saying why) when it cannot run."""
    config = services.config
    if not config.midi.enabled:
        return None
    from grym_bridge.transports.midi.transport import MidiTransport

    transport = MidiTransport(router, config.midi, config.data_dir)
    try:
        transport.start()
    except GrymError as exc:
        log.warning("MIDI is off: %s", exc.message)
        transport.close()
        return None
    services.endpoints["midi"] = {"api": config.midi.api, "inputs": [p.name for p in transport.ports.inputs],
                                  "outputs": [p.name for p in transport.ports.outputs]}
    return transport
