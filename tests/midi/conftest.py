"""A real JACK server (dummy driver, no realtime) and a MIDI "controller" that talks to the bridge through it.

The JACK server gets a name of its own (`JACK_DEFAULT_SERVER`), so parallel
test runs never share ports. python-rtmidi's JACK API is what the bridge and
the controller both use.
"""

from __future__ import annotations

import queue
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from grym_bridge.config import Config, load_config
from grym_bridge.transports.midi.ports import InputPump, RtInput, release_ports
from tests.conftest import require, require_module, require_tool
from tests.midi.jack import JackServer
from tests.osc_client import osc_server  # noqa: F401 - the fixture, for the MIDI tests


def _jack_compiled() -> bool:
    import rtmidi

    return rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api()


@pytest.fixture(scope="session")
def jack_server() -> Iterator[str]:
    """A private JACK server (dummy driver, 48 kHz, 256-frame periods, no realtime) for the session; yields its name."""
    require_tool("jackd")
    require_module("rtmidi")
    require(_jack_compiled(), "python-rtmidi with its JACK API")
    server = JackServer(period=256)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server.name
    finally:
        server.stop()


def midi_config(tmp_path: Path, **midi: Any) -> Config:
    """This test's config with the MIDI transport on, through JACK."""
    # A port name per test: ports of an earlier test's server that are still closing can never be taken for these.
    overrides = {"data_dir": str(tmp_path / "data"), "paths.allowed_roots": [str(tmp_path)],
                 "midi.enabled": True, "midi.api": "jack", "midi.mapping": str(tmp_path / "mapping.toml"),
                 "midi.port_name": f"grym-bridge-{uuid.uuid4().hex[:6]}"}
    overrides.update({f"midi.{k}": v for k, v in midi.items()})
    return load_config(None, overrides, environ={})


@pytest.fixture
def config(tmp_path: Path, jack_server: str) -> Config:
    """Overrides the suite's `config`: the server the `osc_server` fixture starts speaks MIDI over JACK."""
    return midi_config(tmp_path)


class Controller:
    """A MIDI controller stand-in: sends into the bridge's input port, hears the bridge's output port."""

    def __init__(self, bridge_name: str = "grym-bridge", timeout: float = 5.0) -> None:
        import mido

        self.backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
        self.received: queue.Queue = queue.Queue()
        deadline = time.monotonic() + timeout
        while True:  # the bridge's ports appear a moment after it starts
            outs = [n for n in self.backend.get_output_names() if n.split(":")[-1] == bridge_name]
            ins = [n for n in self.backend.get_input_names() if n.split(":")[-1] == bridge_name]
            if outs and ins:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"the bridge's MIDI ports did not appear (outputs {self.backend.get_output_names()})")
            time.sleep(0.05)
        self.out = self.backend.open_output(outs[0])
        self.inp = RtInput("jack", ins[0], virtual=False, client_name="test-controller")  # polled, like the bridge
        self.pump = InputPump([self.inp], lambda m: self.received.put((time.perf_counter(), m)))
        time.sleep(0.2)  # a new JACK connection carries MIDI from the next cycles on; let a few pass

    def send(self, type_: str, **fields: Any) -> float:
        import mido

        now = time.perf_counter()
        self.out.send(mido.Message(type_, **fields))
        return now

    def expect(self, predicate: Any, timeout: float = 5.0) -> Any:
        """The next received message matching `predicate` (others are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("the expected MIDI message did not come back")
            try:
                _t, msg = self.received.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(msg):
                return msg

    def close(self) -> None:
        self.pump.stop()
        release_ports([self.out, self.inp])


@pytest.fixture
def controller(osc_server: Any) -> Iterator[Controller]:  # noqa: F811
    ctl = Controller(osc_server.services.config.midi.port_name)
    try:
        yield ctl
    finally:
        ctl.close()
