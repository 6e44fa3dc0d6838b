"""The services every request path shares, built once by the composition root (`grym_bridge.app`).

`CapabilityServices` holds the capability objects that are costly to make
(the feature memory, the fx service, the text-to-audio runner); each is built
on first use, once, under a lock, so `grym serve` starts without importing
scipy, pedalboard or torch. The api handlers and the orchestrator's chain
steps call the very same objects, so both paths get the same checks.
`Services` is what the api layer's handlers see.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from grym_bridge import PROTOCOL_VERSION, __version__
from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, ModelUnavailable
from grym_bridge.orchestrator.jobs import JobQueue
from grym_bridge.paths import PathPolicy

if TYPE_CHECKING:
    from grym_bridge.fx.service import FxService
    from grym_bridge.generate.runner import TextToAudio
    from grym_bridge.memory.store import MemoryStore
    from grym_bridge.orchestrator.selftest import CapabilityProbe
    from grym_bridge.orchestrator.service import OrchestratorService


def import_capability(module: str, what: str) -> Any:
    """Import a capability module, or say plainly that this installation lacks it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelUnavailable(f"{what} is not available in this installation ({exc}); "
                               "reinstall grym-bridge with all its parts") from None


class CapabilityServices:
    """The capability objects, each built once on first use and shared by handlers and chain steps.

    `open_memory` and `make_text_to_audio` replace the default builders (tests
    give a tiny seeded model or a store opened elsewhere). `paths` None trusts
    every path (the CLI, run by the user on their own files).
    """

    def __init__(self, config: Config, paths: PathPolicy | None, *, open_memory: Callable[[], Any] | None = None,
                 make_text_to_audio: Callable[[], Any] | None = None) -> None:
        self.config = config
        self.paths = paths
        self._open_memory = open_memory
        self._make_text_to_audio = make_text_to_audio
        self._lock = threading.RLock()
        self._memory: Any = None
        self._fx: Any = None
        self._tta: Any = None

    def memory(self) -> "MemoryStore":
        """The feature memory (opened on first use; it is the one store of this process)."""
        with self._lock:
            if self._memory is None:
                opener = self._open_memory or (lambda: import_capability("grym_bridge.memory", "feature memory")
                                               .open_memory(self.config))
                self._memory = opener()
            return self._memory

    def fx(self) -> "FxService":
        """The fx service, checking every client path against the allowed roots."""
        with self._lock:
            if self._fx is None:
                module = import_capability("grym_bridge.fx.service", "effects")
                self._fx = module.FxService(self.config, self.paths)
            return self._fx

    def text_to_audio(self) -> "TextToAudio":
        with self._lock:
            if self._tta is None:
                if self._make_text_to_audio is not None:
                    self._tta = self._make_text_to_audio()
                else:
                    runner = import_capability("grym_bridge.generate.runner", "text-to-audio generation")
                    self._tta = runner.TextToAudio(self.config)
            return self._tta

    @property
    def loaded_text_to_audio(self) -> "TextToAudio | None":
        """The text-to-audio runner if one was built already, else None (never builds one)."""
        return self._tta

    def model_budget(self) -> Any:
        """The text-to-audio runner's model budget, if one was ever built (never builds one for this)."""
        tta = self._tta
        return tta.registry.budget if tta is not None else None

    def close(self) -> None:
        """Close what was opened (the memory store saves its index); safe to call twice."""
        with self._lock:
            memory, self._memory = self._memory, None
        if memory is not None:
            memory.close()


@dataclass
class Services:
    """Everything a handler may use, built once per process by `grym_bridge.app.build_services`."""

    config: Config
    paths: PathPolicy
    jobs: JobQueue
    capabilities: CapabilityServices
    orchestrator: "OrchestratorService"
    started_at: float = field(default_factory=time.monotonic)
    #: The transports' bound ports, for `/grym/system/info` and the banner (filled as they start).
    endpoints: dict[str, Any] = field(default_factory=dict)
    #: The router every transport dispatches through (set by `serve`; OSCQuery reads its table).
    router: Any = None
    #: Which capabilities are ready, checked once at start in a worker thread (it imports their modules).
    capability_states: list[Any] = field(default_factory=list)
    #: Probes of parts outside the capabilities (the MIDI backend), injected by the root for the self-test.
    probes: dict[str, "CapabilityProbe"] = field(default_factory=dict)
    #: The MIDI transport when `[midi] enabled` (its ports, mapping, learn and player); None when off.
    midi: Any = None
    #: Lists the MIDI ports the backend sees (`api` name -> listing); injected by the root.
    midi_ports: Callable[[str], Any] | None = None
    #: The studio network (RPC, OSCQuery, zeroconf), set by `serve`.
    network: Any = None
    #: The model files other bridges may fetch over RPC (grym_bridge.models.share; no torch imported).
    model_share: Any = None

    def fx(self) -> "FxService":
        return self.capabilities.fx()

    def memory(self) -> "MemoryStore":
        return self.capabilities.memory()

    def midi_transport(self) -> Any:
        """The MIDI transport, or a clear error saying how to turn it on."""
        if self.midi is None:
            raise BadRequest("the MIDI transport is off: set [midi] enabled = true in the config (or "
                             "GRYM_MIDI_ENABLED=1) and restart the server; the log says why when it could not start")
        return self.midi

    def describe(self) -> dict[str, Any]:
        """What `/grym/system/info` and the banner say about this server."""
        return {
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "data_dir": str(self.config.data_dir),
            "endpoints": self.endpoints,
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "queue": {"waiting": self.jobs.depth(), "running": len(self.jobs.running())},
            "capabilities": [c.__dict__ for c in self.capability_states],
        }
