"""MIDI-in to `/grym/job/queued` latency through a real JACK port, against bare JACK MIDI transit.

Run:  .venv/bin/python bench/midi_latency.py [--count 300] [--periods 256,64]

For each JACK period size a private `jackd --no-realtime -d dummy -r 48000`
starts, and, in the same run:

- peer: bare JACK MIDI transit. A python-rtmidi output sends a note to a
  python-rtmidi input with a callback, nothing else running: what any MIDI
  program pays to cross JACK (JACK delivers MIDI on cycle boundaries, so this
  is up to a period or so, whatever the program does).
- bridge: a real server (in this process) with the MIDI transport on JACK and a
  mapping that binds note 36 on channel 10 to `/grym/compose/drums` with LED
  feedback. A controller stand-in sends the note; the bridge's input reader
  hands it to the event loop, the router dispatches it, the job queue accepts
  it and `/grym/job/queued` reaches the MIDI peer, which lights the LED.

Notes go out at random gaps (5-15 ms) so they land at every phase of the JACK
cycle. Printed per period, p50 and p99 in milliseconds:

- in bridge: the input reader has the message -> `/grym/job/queued` (the
  bridge's own share; the goal, p99 < 5 ms, is about this part);
- send -> queued: the controller's send -> `/grym/job/queued` (with JACK);
- send -> LED: the LED note back at the controller (two JACK crossings);
- and the ratio of send -> queued to the bare transit of the same JACK setup.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mido  # noqa: E402

from grym_bridge.config import load_config  # noqa: E402
from grym_bridge.transports.midi.ports import InputPump, RtInput, release_ports  # noqa: E402
from tests.midi.jack import JackServer  # noqa: E402
from tests.osc_client import start_server  # noqa: E402

MAPPING = """
[[bind]]
note = 36
channel = 10
address = "/grym/compose/drums"
options = { style = "house", bars = 1, seed = 1 }
feedback = "note"
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1e3


def row(label: str, values: list[float]) -> str:
    return f"  {label:<44} p50 {pct(values, 50):6.2f} ms   p99 {pct(values, 99):6.2f} ms   (n={len(values)})"


def bare_transit(backend: Any, count: int) -> list[float]:
    """Send -> python-rtmidi callback, between two bare ports, nothing else in the way."""
    got: list[float] = []
    arrived = threading.Event()

    def on_message(_msg: mido.Message) -> None:
        got.append(time.perf_counter())
        arrived.set()

    inp = backend.open_input("bench-peer-in", virtual=True, client_name="bench-peer-in", callback=on_message)
    out = backend.open_output(next(n for n in backend.get_output_names() if "bench-peer-in" in n))
    time.sleep(0.3)
    samples = []
    try:
        for _ in range(count):
            time.sleep(random.uniform(0.005, 0.015))
            arrived.clear()
            sent = time.perf_counter()
            out.send(mido.Message("note_on", channel=9, note=36, velocity=100))
            if arrived.wait(1.0):
                samples.append(got[-1] - sent)
    finally:
        release_ports([out, inp])
    return samples


def bridge_latency(backend: Any, count: int, workdir: Path) -> dict[str, list[float]]:
    """The bridge path: controller send -> reader -> loop -> router -> job queue -> MIDI peer -> LED."""
    (workdir / "mapping.toml").write_text(MAPPING)
    config = load_config(None, {"data_dir": str(workdir / "data"), "paths.allowed_roots": [str(workdir)],
                                "midi.enabled": True, "midi.api": "jack", "midi.mapping": str(workdir / "mapping.toml"),
                                "jobs.queue_size": 10_000}, environ={})
    server = start_server(config)
    midi = server.services.midi
    assert midi is not None, "the MIDI transport did not start"
    received_in: list[float] = []
    queued: list[float] = []
    midi.trace = lambda _event, t: received_in.append(t)
    midi.peer.listeners.append(lambda address, _args: queued.append(time.perf_counter())
                               if address == "/grym/job/queued" else None)
    leds: list[float] = []
    led = threading.Event()

    def on_led(msg: mido.Message) -> None:
        if msg.type == "note_on" and msg.note == 36 and msg.velocity == 127:
            leds.append(time.perf_counter())
            led.set()

    out = backend.open_output(next(n for n in backend.get_output_names() if "grym-bridge" in n))
    inp = RtInput("jack", next(n for n in backend.get_input_names() if "grym-bridge" in n), virtual=False)
    pump = InputPump([inp], on_led)
    time.sleep(0.3)
    result: dict[str, list[float]] = {"in bridge: reader -> /grym/job/queued": [],
                                      "send -> /grym/job/queued": [], "send -> LED back at the controller": []}
    try:
        for _ in range(count):
            time.sleep(random.uniform(0.005, 0.015))
            led.clear()
            n_in, n_q = len(received_in), len(queued)
            sent = time.perf_counter()
            out.send(mido.Message("note_on", channel=9, note=36, velocity=100))
            if not led.wait(2.0) or len(received_in) <= n_in or len(queued) <= n_q:
                continue
            result["in bridge: reader -> /grym/job/queued"].append(queued[n_q] - received_in[n_in])
            result["send -> /grym/job/queued"].append(queued[n_q] - sent)
            result["send -> LED back at the controller"].append(leds[-1] - sent)
    finally:
        time.sleep(0.5)  # let the last jobs finish rather than cancel them at shutdown
        pump.stop()
        release_ports([out, inp])
        server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="notes per measurement")
    parser.add_argument("--periods", default="256,64", help="JACK period sizes (frames at 48 kHz)")
    args = parser.parse_args()
    random.seed(1)
    summary = {}
    for period in [int(p) for p in args.periods.split(",")]:
        jack = JackServer(period=period).start()
        try:
            backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
            peer = bare_transit(backend, args.count)
            with tempfile.TemporaryDirectory() as tmp:
                bridge = bridge_latency(backend, args.count, Path(tmp))
        finally:
            jack.stop()
        print(f"JACK dummy driver, 48 kHz, period {period} frames ({period / 48:.2f} ms):")
        print(row("peer: bare JACK MIDI transit (rtmidi callback)", peer))
        for label, values in bridge.items():
            print(row(f"bridge: {label}", values))
        send_q = bridge["send -> /grym/job/queued"]
        ratio = pct(send_q, 50) / pct(peer, 50)
        inside = bridge["in bridge: reader -> /grym/job/queued"]
        print(f"  send -> queued vs bare transit, p50: {ratio:.2f}x;  goal p99 < 5 ms in the bridge: "
              f"{'met' if pct(inside, 99) < 5.0 else 'NOT met'} ({pct(inside, 99):.2f} ms)\n")
        summary[period] = {"peer: bare transit": [round(pct(peer, 50), 3), round(pct(peer, 99), 3)],
                           **{k: [round(pct(v, 50), 3), round(pct(v, 99), 3)] for k, v in bridge.items()}}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
