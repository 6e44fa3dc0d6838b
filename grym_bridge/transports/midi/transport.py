"""The MIDI transport: controller messages become the same requests OSC clients send.

The input reader thread polls the ports; each message is handed to the event loop
(`call_soon_threadsafe`), where the mapping is looked up and the request goes
through `Router.dispatch` like any OSC request. Replies come back to the
`MidiPeer`, which lights the control. MIDI learn binds the next control that
moves; the player sends composed clips out of the ports in time.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import mido

from grym_bridge.config import MidiConfig
from grym_bridge.errors import BadRequest, Busy, JobTimeout
from grym_bridge.transports.midi.feedback import Fired, MidiPeer
from grym_bridge.transports.midi.mapping import (
    LOCAL_ACTIONS,
    Binding,
    Mapping,
    append_binding,
    load_mapping,
)
from grym_bridge.transports.midi.player import ClipPlayer
from grym_bridge.transports.midi.ports import OpenPorts, open_ports

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlEvent:
    """A MIDI message as the mapping sees it: which control, its value, and whether it was pressed or released."""

    kind: str  # note, cc or program
    number: int
    value: int
    channel: int
    pressed: bool


def decode(msg: mido.Message) -> ControlEvent | None:
    """The control event of a note, CC or program change (None for clock, sysex and the rest)."""
    if msg.type == "note_on":
        return ControlEvent("note", msg.note, msg.velocity, msg.channel, msg.velocity > 0)
    if msg.type == "note_off":
        return ControlEvent("note", msg.note, 0, msg.channel, False)
    if msg.type == "control_change":
        return ControlEvent("cc", msg.control, msg.value, msg.channel, msg.value >= 64)
    if msg.type == "program_change":
        return ControlEvent("program", msg.program, 127, msg.channel, True)
    return None


def learned_binding(event: ControlEvent, target: str, args: list[Any], options: dict[str, Any]) -> Binding:
    """The binding MIDI learn makes for `event`: notes get LED feedback, knobs follow every change."""
    if target.startswith("/grym/"):
        address, action = target, None
    elif target in LOCAL_ACTIONS:
        address, action = None, target
    else:
        raise BadRequest(f"cannot learn {target!r}: give an address like /grym/compose/drums or one of "
                         f"{', '.join(LOCAL_ACTIONS)}")
    return Binding(event.kind, event.number, event.channel, address=address, action=action, args=tuple(args),
                   options=dict(options), trigger="change" if event.kind == "cc" else "press",
                   feedback="note" if event.kind == "note" else "none")


_CONTROL_TYPES = frozenset({"note_on", "note_off", "control_change", "program_change"})
LearnDone = Callable[[Binding | None, Exception | None], None]


class MidiTransport:
    """Ports, mapping, feedback peer, learn and player for one server."""

    def __init__(self, router: "Router", config: MidiConfig, data_dir: Path) -> None:
        self.router = router
        self.config = config
        self.mapping_path = Path(config.mapping).expanduser() if config.mapping else Path(data_dir) / "midi_mapping.toml"
        self.mapping = Mapping(source=str(self.mapping_path))
        self.ports = OpenPorts()
        self.peer = MidiPeer(config.port_name, self.send)
        self.player = ClipPlayer(self.send)
        self.preset_index = 0
        #: Values controls have set (`set = "guidance"`), read by requests as $guidance.
        self.variables: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        self._cc_values: dict[tuple[int, int], int] = {}
        self._learn: tuple[str, list[Any], dict[str, Any], LearnDone, asyncio.TimerHandle] | None = None
        #: Optional hook (event, perf_counter time) for the latency benchmark.
        self.trace: Callable[[str, float], None] | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Load the mapping and open the ports; raises MappingError or MidiUnavailable with a clear message."""
        self._loop = loop or asyncio.get_running_loop()
        self.reload()
        c = self.config
        self.ports = open_ports(c.api, c.port_name, c.virtual, c.inputs, c.outputs, self._from_port)
        log.info("MIDI: %d input(s), %d output(s), %d binding(s) from %s", len(self.ports.inputs),
                 len(self.ports.outputs), len(self.mapping.bindings), self.mapping_path)

    def close(self) -> None:
        self.player.stop()
        self.cancel_learn()
        self.ports.close()

    def reload(self) -> Mapping:
        """Read the mapping file again (the old mapping stays if the new one has an error)."""
        mapping = load_mapping(self.mapping_path, self.router.routes)
        # Values a control already set survive a reload; new names start at their defaults.
        self.variables = {**mapping.variables, **{k: v for k, v in self.variables.items() if k in mapping.variables}}
        self.mapping = mapping
        return mapping

    # -- in and out ------------------------------------------------------------------------

    def send(self, msg: mido.Message) -> None:
        """Send `msg` to every output (the virtual port and the configured hardware)."""
        for port in list(self.ports.outputs):
            try:
                port.send(msg)
            except Exception:  # noqa: BLE001 - an unplugged controller must not stop the others
                log.warning("MIDI: could not send to %s", getattr(port, "name", port))

    def _from_port(self, msg: mido.Message) -> None:
        """The input reader's thread: hand the message to the event loop."""
        if msg.type not in _CONTROL_TYPES:
            return  # clock and sensing would wake the loop dozens of times a second for nothing
        now = time.perf_counter()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.handle, msg, now)

    def handle(self, msg: mido.Message, received: float | None = None) -> None:
        """The event loop: learn, or look the control up and fire its request."""
        if self.trace is not None and received is not None:
            self.trace("in", received)
        event = decode(msg)
        if event is None:
            return
        previous = None
        if event.kind == "cc":
            previous = self._cc_values.get((event.channel, event.number))
            self._cc_values[(event.channel, event.number)] = event.value
        if self._learn is not None and (event.pressed or event.kind == "cc"):
            self._finish_learn(event)
            return
        binding = self.mapping.find(event.kind, event.number, event.channel)
        if binding is None or not _fires(binding, event, previous):
            return
        if binding.action in LOCAL_ACTIONS:
            self._local_action(binding, event)
            return
        if binding.set is not None:
            self.variables[binding.set] = binding.scaled(event.value)
            self.peer.show(Fired(binding, event.channel), binding.done)
            return
        req_id = f"midi-{next(self._ids)}"
        self.peer.expect(req_id, Fired(binding, event.channel))
        args = binding.request(event.value, event.channel, self.mapping.presets, self.preset_index, self.variables)
        self.router.dispatch(binding.address, [req_id, *args], self.peer)  # type: ignore[arg-type]

    def _local_action(self, binding: Binding, event: ControlEvent) -> None:
        count = max(1, len(self.mapping.presets))
        step = 1 if binding.action == "preset_next" else -1
        self.preset_index = (self.preset_index + step) % count
        self.peer.show(Fired(binding, event.channel), binding.done)
        log.info("MIDI preset %d: %s", self.preset_index,
                 self.mapping.presets[self.preset_index] if self.mapping.presets else "(no presets)")

    # -- learn -----------------------------------------------------------------------------

    def learn(self, target: str, on_done: LearnDone, *, args: list[Any] | None = None,
              options: dict[str, Any] | None = None, timeout_s: float | None = None) -> None:
        """Bind the next control that moves to `target`; `on_done(binding, error)` is called once, on the loop."""
        if self._loop is None:
            raise BadRequest("the MIDI transport is not running; set [midi] enabled = true and restart the server")
        if target.startswith("/grym/") and target not in self.router.routes:
            raise BadRequest(f"cannot learn {target!r}: no such address; see /grym/system/addresses")
        learned_binding(ControlEvent("note", 0, 0, 0, True), target, [], {})  # validates the target early
        if self._learn is not None:
            raise Busy("MIDI learn is already waiting for a control; move one, or cancel it first", retry_after_s=1.0)
        timeout = timeout_s or self.config.learn_timeout_s
        timer = self._loop.call_later(timeout, self._learn_timeout, timeout)
        self._learn = (target, list(args or []), dict(options or {}), on_done, timer)

    def cancel_learn(self) -> bool:
        if self._learn is None:
            return False
        *_rest, timer = self._learn
        timer.cancel()
        self._learn = None
        return True

    def _learn_timeout(self, timeout: float) -> None:
        if self._learn is None:
            return
        on_done = self._learn[3]
        self._learn = None
        on_done(None, JobTimeout(f"MIDI learn heard nothing for {timeout:g} s; arm it again and then press a pad, "
                                 "turn a knob or send a program change"))

    def _finish_learn(self, event: ControlEvent) -> None:
        assert self._learn is not None
        target, args, options, on_done, timer = self._learn
        timer.cancel()
        self._learn = None
        try:
            binding = learned_binding(event, target, args, options)
            binding = append_binding(self.mapping_path, binding,
                                     comment=f"learned {time.strftime('%Y-%m-%d %H:%M')}")
            self.mapping.add(binding)
        except Exception as exc:  # noqa: BLE001 - reported to whoever armed learn
            on_done(None, exc)
            return
        on_done(binding, None)


def _fires(binding: Binding, event: ControlEvent, previous: int | None) -> bool:
    """Whether `event` triggers `binding`: press, release, or any change of value."""
    if binding.trigger == "change" or event.kind == "program":
        return True
    if event.kind == "cc":  # a button sending CC: fire on crossing the middle
        was_pressed = previous is not None and previous >= 64
        return event.pressed != was_pressed and event.pressed == (binding.trigger == "press")
    return event.pressed == (binding.trigger == "press")
