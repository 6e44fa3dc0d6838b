"""`grym midi ports|learn|check` against a real JACK server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import mido
from click.testing import CliRunner

from grym_bridge.cli import cli
from grym_bridge.transports.midi.ports import release_ports


def _grym(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])


def test_ports_lists_what_jack_has(tmp_path: Path, jack_server: str) -> None:
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    pads = backend.open_output("test-pads", virtual=True, client_name="test-pads")
    try:
        res = _grym(tmp_path, "midi", "ports", "--api", "jack")
    finally:
        release_ports([pads])  # retired, never closed under JACK's process thread (a close can crash)
    assert res.exit_code == 0, res.output
    assert "api: jack" in res.output and "test-pads" in res.output


def test_learn_from_the_shell_binds_the_next_note(tmp_path: Path, jack_server: str) -> None:
    mapping = tmp_path / "pads.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grym_bridge", "--data-dir", str(tmp_path / "data"), "midi", "learn",
         "/grym/compose/drums", "--options", '{"style": "trap"}', "--api", "jack", "--mapping", str(mapping),
         "--timeout", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )
    ports: list = []
    try:
        backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)

        def learn_ports() -> list[str]:
            # Exactly the learn command's port: earlier tests' bridges leave retired grym-bridge-xxxx ports.
            return [n for n in backend.get_output_names() if n.split(":")[-1] == "grym-bridge"]

        deadline = time.monotonic() + 15
        while not learn_ports():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "grym midi learn did not open its port"
            time.sleep(0.05)
        port = backend.open_output(learn_ports()[0])
        ports.append(port)
        # The learn command may still be opening its output port (a JACK graph change, during which a
        # message can be dropped): press the pad again each second until it has bound one.
        for _ in range(10):
            port.send(mido.Message("note_on", channel=4, note=40, velocity=99))
            try:
                out, err = proc.communicate(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"grym midi learn did not bind the note; it said: {out} {err}; "
                                 f"JACK ports: {backend.get_output_names()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        release_ports(ports)  # also when the test fails: a port left to the garbage collector can crash JACK
    assert proc.returncode == 0, err
    assert "bound note 40 (channel 5) -> /grym/compose/drums" in out
    res = _grym(tmp_path, "midi", "check", str(mapping))
    assert res.exit_code == 0, res.output
    assert "note 40 ch 5 -> /grym/compose/drums" in res.output


def test_learn_refuses_an_unknown_address_before_opening_ports(tmp_path: Path) -> None:
    res = _grym(tmp_path, "midi", "learn", "/grym/compose/drum", "--api", "jack")
    assert res.exit_code == 1 and "no such address" in res.output


def test_check_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('presets = ["a"]\n\n[[bind]]\nnote = 36\nchannel = 0\naddress = "/grym/compose/drums"\n')
    res = _grym(tmp_path, "midi", "check", str(bad))
    assert res.exit_code == 2
    assert f"error: {bad}:5: 'channel' must be a whole number 1-16, got 0" in res.output
