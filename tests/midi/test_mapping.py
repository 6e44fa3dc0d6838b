"""The mapping file: parsing, line-numbered errors, placeholders, lookups, learn appends; the feedback peer."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest

from grym_bridge.transports.midi.feedback import Fired, MidiPeer
from grym_bridge.transports.midi.mapping import (
    Binding,
    MappingError,
    append_binding,
    load_mapping,
    parse_mapping,
)
from grym_bridge.transports.midi.transport import ControlEvent, _fires, decode, learned_binding

KNOWN = ["/grym/compose/drums", "/grym/session/set", "/grym/ask"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "midi_mapping.toml"


@pytest.mark.parametrize("text, where, fragment", [
    ('[[bind]]\nnote = 36\naddress = "/grym/compose/drums"\n[[bind]]\nnote = 300\naddress = "/grym/ask"\n',
     ":5:", "'note' must be a whole number 0-127"),
    ('[[bind]]\nnote = 36\n\nchannel = 17\naddress = "/grym/ask"\n', ":4:", "'channel' must be a whole number 1-16"),
    ('[[bind]]\nnote = 36\ncc = 1\naddress = "/grym/ask"\n', ":1:", "exactly one of note, cc or program"),
    ('[[bind]]\nnote = 36\n', ":1:", "needs one of address"),
    ('\n\n[[bind]]\ncc = 7\naddress = "/grym/compose/drum"\n', ":5:", "did you mean /grym/compose/drums"),
    ('[[bind]]\ncc = 7\naddress = "/grym/ask"\nfedback = "note"\n', ":4:", "did you mean 'feedback'"),
    ('[[bind]]\ncc = 7\naddress = "/grym/ask"\nargs = ["$valeu"]\n', ":4:", "unknown placeholder '$valeu'"),
    ('[[bind]]\ncc = 7\naction = "explode"\n', ":3:", "unknown action 'explode'"),
    ('[[bind]]\ncc = 7\naddress = "/grym/ask"\nrange = [0]\n', ":4:", "range must be two numbers"),
    ('[[bind]]\nnote = 1\naddress = "/grym/ask"\ntrigger = "hold"\n', ":4:", "trigger must be one of"),
    ('presets = "one"\n', ":1:", "presets must be a list"),
    ('\nbindings = []\n', ":2:", "unknown key 'bindings'"),
    ('[[bind]]\nnote = 36\naddress = "/grym/ask\n', ":3:", "not valid TOML"),
])
def test_errors_name_the_file_and_line(text: str, where: str, fragment: str) -> None:
    with pytest.raises(MappingError) as info:
        parse_mapping(text, "pads.toml", KNOWN)
    assert f"pads.toml{where}" in info.value.message
    assert fragment in info.value.message


def test_the_example_mapping_loads_against_the_real_address_table() -> None:
    from grym_bridge.cli.midi import known_addresses

    mapping = load_mapping(EXAMPLE, known_addresses())
    assert len(mapping.presets) == 3 and len(mapping.bindings) >= 8
    assert mapping.find("note", 36, 9).address == "/grym/compose/chords"


def test_placeholders_are_filled_from_the_message() -> None:
    mapping = parse_mapping('presets = ["a", "b"]\n[[bind]]\ncc = 21\naddress = "/grym/session/set"\n'
                            'args = ["tempo", "$value", "$velocity", "$number", "$channel", "$preset"]\n'
                            'range = [60.0, 180.0]\noptions = { n = "$preset_index", fixed = 2 }\n', "m", KNOWN)
    b = mapping.find("cc", 21, 4)
    args = b.request(127, 4, mapping.presets, 1)
    assert args[:6] == ["tempo", 180.0, 127, 21, 5, "b"]
    assert json.loads(args[6]) == {"n": 1, "fixed": 2}
    assert b.request(0, 0, mapping.presets, 0)[1] == 60.0


def test_a_knob_sets_a_variable_that_requests_read() -> None:
    text = ('vars = { guidance = 3.5 }\n[[bind]]\ncc = 22\nset = "guidance"\nrange = [1.0, 10.0]\n'
            '[[bind]]\ncc = 23\nset = "mix"\n'
            '[[bind]]\nnote = 36\naddress = "/grym/ask"\nargs = ["$preset"]\noptions = { g = "$guidance", m = "$mix" }\n')
    mapping = parse_mapping(text, "m", KNOWN)
    assert mapping.variables == {"guidance": 3.5, "mix": 0.0}
    knob = mapping.find("cc", 22, 0)
    assert knob.set == "guidance" and knob.trigger == "change" and knob.scaled(127) == 10.0
    pad = mapping.find("note", 36, 0)
    assert json.loads(pad.request(100, 0, [], 0, {"guidance": 7.0, "mix": 0.25})[1]) == {"g": 7.0, "m": 0.25}
    with pytest.raises(MappingError, match=r"m:3: set names a variable"):
        parse_mapping('[[bind]]\ncc = 22\nset = "$value"\n', "m", KNOWN)
    with pytest.raises(MappingError, match=r"m:4: unknown placeholder '\$guidance'"):
        parse_mapping('[[bind]]\nnote = 1\naddress = "/grym/ask"\nargs = ["$guidance"]\n', "m", KNOWN)
    with pytest.raises(MappingError, match=r"exactly one"):
        parse_mapping('[[bind]]\ncc = 22\nset = "g"\naddress = "/grym/ask"\n', "m", KNOWN)


def test_exact_channel_wins_and_later_bindings_replace_earlier_ones() -> None:
    mapping = parse_mapping('[[bind]]\nnote = 36\naddress = "/grym/ask"\n'
                            '[[bind]]\nnote = 36\nchannel = 10\naddress = "/grym/compose/drums"\n'
                            '[[bind]]\nnote = 36\nchannel = 10\naddress = "/grym/session/set"\n', "m", KNOWN)
    assert mapping.find("note", 36, 9).address == "/grym/session/set"
    assert mapping.find("note", 36, 0).address == "/grym/ask"
    assert mapping.find("note", 37, 9) is None
    assert len(mapping.bindings) == 2


def test_learn_appends_a_block_that_loads_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("# my pads\npresets = [\"x\"]\n")
    event = decode(mido.Message("control_change", channel=3, control=74, value=10))
    binding = append_binding(path, learned_binding(event, "/grym/compose/drums", ["$value"], {"bars": 2}), "learned")
    text = path.read_text()
    assert text.startswith("# my pads\npresets")
    assert text.splitlines()[binding.line - 1] == "[[bind]]"
    mapping = load_mapping(path, KNOWN)
    b = mapping.find("cc", 74, 3)
    assert (b.address, b.args, b.options, b.trigger, b.channel) == ("/grym/compose/drums", ("$value",), {"bars": 2},
                                                                    "change", 3)
    with pytest.raises(Exception, match="cannot learn"):
        learned_binding(event, "make it louder", [], {})


def test_triggers_press_release_change() -> None:
    note = Binding("note", 36, None, "/grym/ask")
    assert _fires(note, decode(mido.Message("note_on", note=36, velocity=1)), None)
    assert not _fires(note, decode(mido.Message("note_on", note=36, velocity=0)), None)
    released = Binding("note", 36, None, "/grym/ask", trigger="release")
    assert _fires(released, decode(mido.Message("note_off", note=36)), None)
    button = Binding("cc", 64, None, "/grym/ask", trigger="press")
    assert _fires(button, ControlEvent("cc", 64, 127, 0, True), None)
    assert not _fires(button, ControlEvent("cc", 64, 120, 0, True), 127)  # still held: no second press
    assert not _fires(button, ControlEvent("cc", 64, 0, 0, False), 127)
    knob = Binding("cc", 21, None, "/grym/ask", trigger="change")
    assert _fires(knob, ControlEvent("cc", 21, 5, 0, False), 4)
    assert decode(mido.Message("clock")) is None


def test_feedback_follows_a_job_and_errors() -> None:
    sent: list[mido.Message] = []
    peer = MidiPeer("test", sent.append)
    pad = Binding("note", 36, 9, "/grym/compose/drums", feedback="note", queued=127, done=0, error=3, progress_cc=20)
    peer.expect("midi-1", Fired(pad, 9))
    peer.send("/grym/job/queued", ["midi-1", 7])
    peer.send("/grym/job/progress", [7, 0.5, "composing"])
    peer.send("/grym/job/done", [7, "{}"])
    peer.send("/grym/job/done", [7, "{}"])  # a repeat is ignored
    assert [(m.type, getattr(m, "velocity", getattr(m, "value", None))) for m in sent] == [
        ("note_on", 127), ("control_change", 64), ("note_on", 0)]
    sent.clear()
    knob = Binding("cc", 21, None, "/grym/session/set", feedback="cc", done=100, error=1)
    peer.expect("midi-2", Fired(knob, 4))
    peer.send("/grym/error", ["/grym/session/set", "midi-2", "bad_args", "no"])
    peer.expect("midi-3", Fired(knob, 4))
    peer.send("/grym/session/set", ["midi-3", "tempo", 120.0])
    assert [(m.type, m.channel, m.control, m.value) for m in sent] == [("control_change", 4, 21, 1),
                                                                       ("control_change", 4, 21, 100)]
    peer.send("/grym/job/queued", ["someone-else", 9])  # replies for requests the peer did not fire: nothing
    assert len(sent) == 2
