"""MIDI transport: virtual and hardware ports, the controller mapping, learn, feedback and clip playback.

`start_midi` is what `serve` calls; a missing backend, port or a bad mapping
file is logged as one clear line and the server runs on without MIDI.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from grym_bridge.config import Config
from grym_bridge.errors import GrymError

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router
    from grym_bridge.transports.midi.transport import MidiTransport

log = logging.getLogger(__name__)


def midi_status(config: Config) -> tuple[str, str]:
    """The self-test's MIDI probe (injected by the root): off unless `[midi] enabled`, else ready when
    python-rtmidi is installed (the banner said "ready" for a transport that was never opened)."""
    if importlib.util.find_spec("rtmidi") is None:
        return "unavailable", "python-rtmidi is not installed"
    if not config.midi.enabled:
        return "off", "set [midi] enabled = true (or GRYM_MIDI_ENABLED=1) to open the MIDI ports"
    return "ready", ""


def start_midi(config: Config, router: "Router", endpoints: dict[str, Any]) -> "MidiTransport | None":
    """Open the MIDI transport if `[midi] enabled`; None (and a warning saying why) when it cannot run."""
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
    endpoints["midi"] = {"api": config.midi.api, "inputs": [p.name for p in transport.ports.inputs],
                                  "outputs": [p.name for p in transport.ports.outputs]}
    return transport
