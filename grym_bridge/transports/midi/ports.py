"""MIDI ports through mido and python-rtmidi: choosing the backend, listing, opening by name.

Every failure here is a `MidiUnavailable` that says what is missing and what
to do (start JACK, load the ALSA sequencer, install loopMIDI on Windows);
nothing here crashes the server.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from grym_bridge.errors import GrymError

log = logging.getLogger(__name__)

#: Config names of the rtmidi APIs, as mido names them.
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "windows_mm": "WINDOWS_MM"}


class MidiUnavailable(GrymError):
    """The MIDI backend or a named port is not there."""

    code = "midi_unavailable"


def backend(api: str = "auto") -> Any:
    """The mido backend for `api` ("auto" is the platform's default rtmidi API)."""
    if api != "auto" and api not in APIS:
        raise MidiUnavailable(f"unknown MIDI api {api!r}: use auto, {', '.join(APIS)}")
    try:
        import mido
        import rtmidi
    except ImportError as exc:
        raise MidiUnavailable(f"MIDI needs mido and python-rtmidi ({exc}); install them with "
                              "`pip install mido python-rtmidi`") from None
    if api != "auto":
        compiled = {rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api()}
        wanted = {"alsa": "alsa", "jack": "jack", "coremidi": "core", "windows_mm": "winmm"}[api]
        if wanted not in compiled:
            raise MidiUnavailable(f"python-rtmidi was built without the {api} API (it has: {', '.join(sorted(compiled))}); "
                                  "choose another midi.api")
        return mido.Backend(f"mido.backends.rtmidi/{APIS[api]}", load=True)
    return mido.Backend("mido.backends.rtmidi", load=True)


def _hint(api: str) -> str:
    if api == "jack":
        return "is the JACK server running? Start it (e.g. `jackd -d alsa` or QjackCtl) or set midi.api = \"alsa\""
    if sys.platform.startswith("linux"):
        return ("is the ALSA sequencer there (/dev/snd/seq; `sudo modprobe snd-seq`)? With JACK running, "
                "set midi.api = \"jack\"")
    if sys.platform == "win32":
        return "Windows has no virtual ports: install loopMIDI, create a port, and list it in midi.inputs"
    return "check the system's MIDI setup"


def _call(api: str, what: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except GrymError:
        raise
    except Exception as exc:  # rtmidi raises SystemError/RuntimeError subclasses of its own
        raise MidiUnavailable(f"cannot {what} with the {api} MIDI api ({exc}); {_hint(api)}") from None


@dataclass
class PortList:
    """What `grym midi ports` and `/grym/midi/ports` show."""

    api: str
    inputs: list[str]
    outputs: list[str]


def list_ports(api: str = "auto") -> PortList:
    """The input and output port names the backend sees now."""
    be = backend(api)
    inputs = _call(api, "list input ports", be.get_input_names)
    outputs = _call(api, "list output ports", be.get_output_names)
    return PortList(api, list(inputs), list(outputs))


def find_port(name: str, available: list[str], direction: str) -> str:
    """The port called `name`, or the one port whose name contains it; else a clear error listing them."""
    if name in available:
        return name
    matches = [p for p in available if name.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(repr(p) for p in available) or "none"
    if not matches:
        raise MidiUnavailable(f"no MIDI {direction} port named {name!r} (there are: {listed}); "
                              "check `grym midi ports` and midi.inputs / midi.outputs")
    raise MidiUnavailable(f"{name!r} matches several MIDI {direction} ports ({', '.join(map(repr, matches))}); "
                          "give more of the name")


_KEPT: list[Any] = []  # rtmidi clients retired under JACK, kept until the process ends (see release_ports)


def _retire(port: Any) -> None:
    """Stop using a JACK port without destroying its rtmidi client.

    RtMidi's JACK backend unregisters a port while its JACK process thread may
    still be reading it, which crashes the process now and then (seen in the
    test runs here). Under JACK the client is therefore kept, idle, until the
    process exits, when the JACK server drops it; the other APIs close normally.
    """
    rt = getattr(port, "_rt", None)
    if rt is not None:
        _KEPT.append(rt)  # never collected, so never destroyed mid-cycle
    if hasattr(port, "closed"):
        port.closed = True


def release_ports(ports: list[Any], timeout_s: float = 3.0) -> bool:
    """Close mido ports (and their rtmidi clients) on a helper thread, waiting at most `timeout_s`.

    Closing a client waits for the MIDI driver; a driver that never answers
    must not hang the server's shutdown (or a test run). JACK ports are
    retired instead (`_retire`). Returns False when the ports were still
    closing at the deadline.
    """
    def close_all() -> None:
        for port in ports:
            try:
                if "JACK" in str(getattr(port, "api", "")) or getattr(port, "jack", False):
                    _retire(port)
                else:
                    port.close()
            except Exception:  # noqa: BLE001 - closing is best effort at shutdown
                log.debug("closing MIDI port %s failed", getattr(port, "name", port), exc_info=True)

    if not ports:
        return True
    closer = threading.Thread(target=close_all, name="grym-midi-close", daemon=True)
    closer.start()
    closer.join(timeout_s)
    if closer.is_alive():
        log.warning("MIDI ports did not close within %.0f s; the MIDI driver may be stuck", timeout_s)
        return False
    return True


class RtInput:
    """An input port read by polling python-rtmidi directly.

    mido's rtmidi input always installs a Python callback, which rtmidi runs
    in the MIDI driver's thread; under JACK that is the process thread, where
    waiting for the GIL stalls the graph, and closing the port while such a
    callback waits deadlocks the process. Without a callback rtmidi only queues
    the bytes in C, and `iter_pending` turns them into mido messages here.
    """

    def __init__(self, api: str, name: str, *, virtual: bool, client_name: str | None = None) -> None:
        import rtmidi

        rtapi = getattr(rtmidi, f"API_{APIS[api]}") if api != "auto" else rtmidi.API_UNSPECIFIED
        self._rt = rtmidi.MidiIn(rtapi=rtapi, name=client_name or "grym-bridge", queue_size_limit=4096)
        self.jack = self._rt.get_current_api() == rtmidi.API_UNIX_JACK
        self._lock = threading.Lock()
        if virtual:
            self._rt.open_virtual_port(name)
        else:
            ports = self._rt.get_ports()
            self._rt.open_port(ports.index(name))
        self.name = name
        self.closed = False

    def iter_pending(self) -> Any:
        import mido

        while True:
            with self._lock:
                if self.closed:
                    return
                item = self._rt.get_message()
            if item is None:
                return
            try:
                yield mido.Message.from_bytes(item[0])
            except ValueError:
                continue  # a partial or unknown message: skip it

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._rt.close_port()
            self._rt.delete()


class InputPump:
    """Reads the input ports on a thread of its own and hands each message to `callback`.

    rtmidi could call Python back from the MIDI driver's thread instead, but
    under JACK that is the realtime process thread: waiting there for the GIL
    makes the whole JACK graph miss its cycle, and closing a port while such a
    callback waits deadlocks. Polling keeps Python out of that thread; the
    poll interval (half a millisecond) is the latency it costs.
    """

    def __init__(self, ports: list[Any], callback: Callable[[Any], None], interval_s: float = 0.0005) -> None:
        self.ports = ports
        self.callback = callback
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grym-midi-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            for port in list(self.ports):
                try:
                    for msg in port.iter_pending():
                        busy = True
                        self.callback(msg)
                except Exception:  # noqa: BLE001 - one bad message or port must not stop the reader
                    log.exception("MIDI input from %s failed", getattr(port, "name", port))
            if not busy:
                time.sleep(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)


@dataclass
class OpenPorts:
    """The ports the transport reads and writes; `close()` stops the reader and releases them all."""

    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    pump: InputPump | None = None

    def close(self) -> None:
        if self.pump is not None:
            self.pump.stop()
            self.pump = None
        release_ports([*self.inputs, *self.outputs])
        self.inputs.clear()
        self.outputs.clear()


def open_ports(
    api: str, port_name: str, virtual: bool, inputs: list[str], outputs: list[str],
    callback: Callable[[Any], None] | None,
) -> OpenPorts:
    """Open the virtual `port_name` pair (if `virtual`) and the named hardware ports.

    `callback` receives every incoming message on the reader thread (see
    `InputPump`). On any failure the ports opened so far are closed again
    before the error is raised.
    """
    be = backend(api)
    opened = OpenPorts()
    try:
        if virtual:
            if sys.platform == "win32":
                raise MidiUnavailable("Windows has no virtual MIDI ports: install loopMIDI, create a port, list it in "
                                      "midi.inputs and midi.outputs, and set midi.virtual = false")
            opened.inputs.append(_call(api, f"create the virtual input port {port_name!r}", lambda: RtInput(
                api, port_name, virtual=True, client_name=port_name)))
            opened.outputs.append(_call(api, f"create the virtual output port {port_name!r}", lambda: be.open_output(
                port_name, virtual=True, client_name=port_name)))
        if inputs:
            available = _call(api, "list input ports", be.get_input_names)
            for name in inputs:
                real = find_port(name, available, "input")
                opened.inputs.append(_call(api, f"open input {real!r}", lambda: RtInput(api, real, virtual=False)))
        if outputs:
            available = _call(api, "list output ports", be.get_output_names)
            for name in outputs:
                real = find_port(name, available, "output")
                opened.outputs.append(_call(api, f"open output {real!r}", lambda: be.open_output(real)))
    except BaseException:
        opened.close()
        raise
    if callback is not None and opened.inputs:
        opened.pump = InputPump(opened.inputs, callback)
    return opened
