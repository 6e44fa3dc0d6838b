"""The MIDI transport against real JACK ports: a pad fires a job, the LED answers, learn binds, clips play."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import mido
import pytest

from grym_bridge.compose import ComposeRequest, compose
from tests.midi.conftest import Controller, midi_config
from tests.osc_client import start_server

MAPPING = """
presets = ["warm analog pad", "dusty vinyl drums"]

[[bind]]            # pad 1 on the drum channel: four bars of house drums, LED while it runs
note = 36
channel = 10
address = "/grym/compose/drums"
options = { style = "house", bars = 1, seed = 5 }
feedback = "note"
queued = 127
done = 0
error = 3

[[bind]]            # pad 2: continue a clip that is not there, so the LED shows the error
note = 37
channel = 10
address = "/grym/compose/continue"
args = ["{missing}"]
feedback = "note"
error = 3

[[bind]]
note = 38
action = "preset_next"

[[bind]]            # knob: sets $swing for the next drum request, fires nothing itself
cc = 22
set = "swing"
range = [0.0, 1.0]
"""


def _load_mapping(tmp_path: Path, client: Any, text: str = MAPPING) -> None:
    (tmp_path / "mapping.toml").write_text(text.replace("{missing}", str(tmp_path / "missing.mid")))
    addr, args = client.request("/grym/midi/reload")
    assert addr == "/grym/midi/reload", args
    assert args[0] >= 1


def _is_led(note: int, velocity: int | None = None):  # noqa: ANN202
    return lambda m: m.type == "note_on" and m.note == note and m.channel == 9 and (velocity is None or m.velocity == velocity)


def test_a_pad_fires_the_mapped_job_and_its_led_follows(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        _load_mapping(tmp_path, client)
        controller.send("note_on", channel=9, note=36, velocity=100)
        assert controller.expect(_is_led(36)).velocity == 127  # queued: LED on
        assert controller.expect(_is_led(36)).velocity == 0  # done: LED off
        written = list((tmp_path / "data" / "renders" / "midi").glob("drums-house-*.mid"))
        assert len(written) == 1
        assert any(m.type == "note_on" and m.channel == 9 for m in mido.MidiFile(written[0]))


def test_a_failing_job_shows_the_error_velocity(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        _load_mapping(tmp_path, client)
        controller.send("note_on", channel=9, note=37, velocity=100)
        assert controller.expect(_is_led(37), timeout=10).velocity in (127, 3)
        controller.expect(_is_led(37, 3), timeout=10)


def test_unmapped_notes_and_other_channels_do_nothing(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        _load_mapping(tmp_path, client)
        controller.send("note_on", channel=0, note=36, velocity=100)  # pad 1's note on another channel
        controller.send("note_on", channel=9, note=60, velocity=100)
        controller.send("note_on", channel=9, note=36, velocity=100)  # then the real pad, as a marker
        first = controller.expect(lambda m: m.type == "note_on")
        assert (first.note, first.channel) == (36, 9)
        addr, args = client.request("/grym/job/list")
        assert len(json.loads(args[0])) <= 1


def test_preset_steps_feed_the_preset_placeholder(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        _load_mapping(tmp_path, client)
        assert json.loads(client.request("/grym/midi/mapping")[1][0])["preset_index"] == 0
        controller.send("note_on", channel=0, note=38, velocity=90)
        deadline = time.monotonic() + 5
        while json.loads(client.request("/grym/midi/mapping")[1][0])["preset_index"] != 1:
            assert time.monotonic() < deadline, "preset_next did not step"
            time.sleep(0.02)
        transport = osc_server.services.midi
        binding = transport.mapping.find("note", 36, 9)
        assert binding.request(0, 9, transport.mapping.presets, transport.preset_index) == [
            json.dumps({"style": "house", "bars": 1, "seed": 5})]
        assert transport.mapping.presets[transport.preset_index] == "dusty vinyl drums"
        controller.send("control_change", channel=0, control=22, value=127)
        while transport.variables.get("swing") != 1.0:
            assert time.monotonic() < deadline + 5, "the knob did not set $swing"
            time.sleep(0.02)
        assert json.loads(client.request("/grym/midi/mapping")[1][0])["variables"] == {"swing": 1.0}


def test_learn_over_osc_binds_the_next_control(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        addr, args = client.request("/grym/midi/learn", "/grym/compose/bass", "options",
                                    json.dumps({"style": "pop", "bars": 1, "seed": 2}))
        assert (addr, args) == ("/grym/midi/learn", ["armed", "/grym/compose/bass"])
        controller.send("note_off", channel=2, note=50)  # a release is not a control moving: ignored
        controller.send("control_change", channel=2, control=21, value=90)
        _addr, learned = client.expect(lambda a, _x: a == "/grym/midi/learned")
        binding = json.loads(learned[1])
        assert (binding["control"], binding["number"], binding["channel"]) == ("cc", 21, 3)
        text = (tmp_path / "mapping.toml").read_text()
        assert "cc = 21" in text and "/grym/compose/bass" in text
        # The learned knob now fires its request: a bass clip appears.
        controller.send("control_change", channel=2, control=21, value=91)
        deadline = time.monotonic() + 10
        while not list((tmp_path / "data" / "renders" / "midi").glob("bass-pop-*.mid")):
            assert time.monotonic() < deadline, "the learned control did not fire"
            time.sleep(0.05)


def test_learn_times_out_with_a_clear_error(osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        addr, args = client.request("/grym/midi/learn", "preset_next", "timeout_s", 0.2)
        assert args[0] == "armed"
        addr, err = client.expect(lambda a, x: a == "/grym/error" and x[0] == "/grym/midi/learn", timeout=5)
        assert err[2] == "timeout" and "heard nothing" in err[3]
        addr, args = client.request("/grym/midi/learn", "/grym/nowhere")
        assert addr == "/grym/error" and "no such address" in args[3]


def test_compose_with_play_sends_the_clip_out_in_time(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        job = client.start_job("/grym/compose/chords", "key", "C major", "bars", 1, "tempo", 240.0, "seed", 1,
                               "humanize", 0.0, "play", 1)
        result = client.wait_job(job)
        expected = result["notes"]
        heard, times = [], []
        for _ in expected:
            heard.append(controller.expect(lambda m: m.type == "note_on" and m.velocity > 0, timeout=5).note)
            times.append(time.perf_counter())
        assert sorted(heard) == sorted(n[0] for n in expected)  # every note of the clip, out of the port
        # One bar at 240 BPM is one second; the pop chord rhythm strikes on beats 1 and 3 (0.5 s apart).
        starts = sorted({n[1] for n in expected})
        assert starts == [0.0, 2.0]
        gap = times[-1] - times[0]
        assert 0.35 < gap < 0.9  # loose: the test machine is shared
        offs = controller.expect(lambda m: m.type == "note_off", timeout=2)
        assert offs.note in {n[0] for n in expected}


def test_play_and_stop_over_osc(tmp_path: Path, osc_server: Any, controller: Controller) -> None:
    clip = compose(ComposeRequest("melody", key="A minor", bars=4, tempo=60.0, seed=3), tmp_path / "slow.mid")
    with osc_server.client() as client:
        addr, args = client.request("/grym/midi/play", clip.path)
        assert args[0] == pytest.approx(16.0)
        controller.expect(lambda m: m.type == "note_on" and m.velocity > 0)
        assert client.request("/grym/midi/stop")[1] == ["ok"]
        controller.expect(lambda m: m.type == "note_off", timeout=2)  # stop silences what was sounding
        assert not osc_server.services.midi.player.playing
        addr, args = client.request("/grym/midi/play", "/etc/passwd")
        assert addr == "/grym/error" and args[2] == "path_not_allowed"


def test_ports_lists_the_bridge(osc_server: Any, controller: Controller) -> None:
    with osc_server.client() as client:
        listing = json.loads(client.request("/grym/midi/ports")[1][0])
    if set(listing) == {"result_file"}:  # many ports: the listing travels as a file
        listing = json.loads(Path(listing["result_file"]).read_text())
    assert listing["api"] == "jack"
    assert any("grym-bridge" in n for n in listing["open"]["inputs"])
    assert any("grym-bridge" in n for n in listing["outputs"])


def test_missing_port_or_server_is_a_message_not_a_crash(tmp_path: Path, jack_server: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    config = midi_config(tmp_path, inputs=["Launchpad Pro"])
    config.server.osc_port = 0
    with caplog.at_level("WARNING"):
        server = start_server(config)
    try:
        assert server.services.midi is None
        assert any("no MIDI input port named 'Launchpad Pro'" in r.getMessage() for r in caplog.records)
        with server.client() as client:
            assert client.request("/grym/system/ping")[0] == "/grym/system/ping"
            addr, args = client.request("/grym/midi/mapping")
            assert addr == "/grym/error" and "enabled = true" in args[3]
    finally:
        server.stop()


def test_a_bad_mapping_names_its_line_and_keeps_the_old_one(tmp_path: Path, osc_server: Any) -> None:
    with osc_server.client() as client:
        _load_mapping(tmp_path, client)
        (tmp_path / "mapping.toml").write_text('[[bind]]\nnote = 36\naddress = "/grym/compose/drum"\n')
        addr, args = client.request("/grym/midi/reload")
        assert addr == "/grym/error" and args[2] == "config"
        assert "mapping.toml:3" in args[3] and "did you mean /grym/compose/drums" in args[3]
        assert len(osc_server.services.midi.mapping.bindings) == 4


def test_named_hardware_ports_from_config(tmp_path: Path, jack_server: str) -> None:
    """A controller that brings its own ports (as hardware does): the bridge connects to them by name."""
    import queue

    from grym_bridge.transports.midi.ports import InputPump, RtInput, release_ports

    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    pads_out = backend.open_output("hw-pads", virtual=True, client_name="hw-pads")
    pads_in = RtInput("jack", "hw-leds", virtual=True, client_name="hw-leds")
    heard: queue.Queue = queue.Queue()
    pump = InputPump([pads_in], heard.put)
    (tmp_path / "mapping.toml").write_text(MAPPING.replace("{missing}", str(tmp_path / "missing.mid")))
    config = midi_config(tmp_path, virtual=False, inputs=["hw-pads"], outputs=["hw-leds"])
    config.server.osc_port = 0
    server = start_server(config)
    try:
        midi = server.services.midi
        assert midi is not None
        assert [p.name for p in midi.ports.inputs] == ["hw-pads:hw-pads"]
        time.sleep(0.2)
        pads_out.send(mido.Message("note_on", channel=9, note=36, velocity=100))
        first = heard.get(timeout=5)
        assert (first.type, first.note, first.velocity) == ("note_on", 36, 127)
        assert heard.get(timeout=10).velocity == 0
    finally:
        server.stop()
        pump.stop()
        release_ports([pads_out, pads_in])
