"""The REAPER actions under Debian's lua5.4 and lua5.3, against the REAPER stand-in and a real server.

`reaper/tests/run.lua` runs every action script with the stand-in `reaper` table
(reaper/tests/reaper_standin.lua says what it stands in for); the stand-in's
ExecProcess really starts `grym call`, which talks OSC-over-TCP to the real
`grym serve` this test starts. The runner asserts what REAPER would show and
do, prints `N passed, N failed`, and writes a report that the checks below
compare with the bridge's own answers (the MIDI files' tempo and bars, the
REAPER mapping of the suggestion).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import mido
import pytest
import soundfile as sf

from grym_bridge.config import Config
from tests.conftest import require_tool
from tests.osc_client import RunningServer, free_port, start_server
from tests.synth import chord_progression, drum_loop, mix

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "reaper" / "tests" / "run.lua"
CLIP_KEY, CLIP_TEMPO = "G major", 100.0
LUA_VERSIONS = ("lua5.4", "lua5.3")


def grym_executable() -> str:
    """The `grym` console script of this interpreter's environment (what `grym install reaper` writes)."""
    path = Path(sys.executable).parent / "grym"
    assert path.is_file(), f"no grym console script next to {sys.executable}"
    return str(path)


def _write(path: Path, audio: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples.T, audio.sample_rate, subtype="PCM_24")
    return path


@pytest.fixture
def clips(tmp_path: Path) -> dict[str, Path]:
    clip = mix(chord_progression(CLIP_KEY, bpm=CLIP_TEMPO, bars=4), drum_loop(CLIP_TEMPO, 4))
    other = mix(chord_progression("A minor", bpm=124, bars=2), drum_loop(124, 2, seed=3))
    library = tmp_path / "library"
    return {"clip": _write(tmp_path / "clip.wav", clip), "library_clip": _write(library / "clip.wav", clip),
            "other": _write(library / "other.wav", other)}


def run_lua(lua: str, server: RunningServer, tmp_path: Path, clips: dict[str, Path], only: str = "") -> dict[str, Any]:
    """Run the Lua runner; fail with its output unless every scenario passed; return its report."""
    report = tmp_path / f"report-{lua}.json"
    env = os.environ | {
        "GRYM_TEST_COMMAND": grym_executable(), "GRYM_TEST_PORT": str(server.port),
        "GRYM_TEST_DEAD_PORT": str(free_port()), "GRYM_TEST_DIR": str(tmp_path / lua),
        "GRYM_TEST_CLIP": str(clips["clip"]), "GRYM_TEST_KEY": CLIP_KEY, "GRYM_TEST_TEMPO": str(CLIP_TEMPO),
        "GRYM_TEST_LIBRARY": str(clips["other"].parent), "GRYM_TEST_REPORT": str(report), "GRYM_TEST_ONLY": only,
    }
    proc = subprocess.run([require_tool(lua), str(RUNNER)], env=env, capture_output=True, text=True, timeout=280)
    out = proc.stdout + proc.stderr
    summary = re.search(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.MULTILINE)
    assert summary, f"the Lua runner printed no closing line:\n{out}"
    assert int(summary.group(2)) == 0 and proc.returncode == 0, out
    assert int(summary.group(1)) >= 1, out
    return json.loads(report.read_text())


def _bar_ticks(mid: mido.MidiFile) -> tuple[float, tuple[int, int], int]:
    tempo = next(m.tempo for t in mid.tracks for m in t if m.type == "set_tempo")
    sig = next((m.numerator, m.denominator) for t in mid.tracks for m in t if m.type == "time_signature")
    length = max(sum(m.time for m in t) for t in mid.tracks)
    return mido.tempo2bpm(tempo), sig, length


def check_compose(report: dict[str, Any]) -> None:
    for kind in ("chords", "drums", "bass", "melody"):
        entry = report[f"compose_{kind}"]
        mid = mido.MidiFile(entry["file"])
        bpm, sig, length = _bar_ticks(mid)
        assert bpm == pytest.approx(entry["tempo"], abs=0.01), kind
        assert list(sig) == entry["timesig"], kind
        quarter_notes_per_bar = sig[0] * 4 / sig[1]
        assert length == pytest.approx(entry["bars"] * quarter_notes_per_bar * mid.ticks_per_beat, abs=1), kind
        notes = [m for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0]
        assert notes, f"{kind}: no notes"


#: REAPER's parameter names for the mapping's names, as the stand-in (and REAPER) call them.
_PARAM_NAMES = {"Threshold": ("Thresh", "Threshold"), "Adjustment": ("Adjustment (dB)",),
                "Length (time)": ("1: Length (time)",), "Feedback": ("1: Feedback",), "Stereo width": ("Stereo Width",),
                "FX Wet": ("Wet",)}
_REAEQ_SLOTS = ("Low Shelf", "Band", "Band 2", "High Shelf")
_REAEQ_TYPES = {"Low Shelf": "0", "High Shelf": "1", "Low Pass": "3", "High Pass": "4", "Band": "8"}


def _close(shown: float, want: float) -> bool:
    """What the plug-in shows is the mapped value to its display precision (0.1 dB, 0.01 kHz, ...)."""
    if want == float("-inf") or want <= -149:
        return shown < -80
    return abs(shown - want) <= max(0.051, 0.0006 * abs(want))


def check_suggest(report: dict[str, Any], server: RunningServer) -> None:
    """The plug-ins on the track are the bridge's REAPER mapping of its suggestion, value for value."""
    with server.client(tcp=True, timeout=60) as client:
        job = client.start_job("/grym/fx/suggest", report["suggest"]["path"], "map", "reaper")
        daw = client.wait_job(job, timeout=120)["daw"]
    added = list(report["suggest"]["fx"])
    checked = 0
    for device in daw["devices"]:
        name = device["device"]
        if name is None or name == "FX chain wet":
            continue
        if name == "Track width":
            assert report["suggest"]["width"] == pytest.approx(device["params"][0]["value"] / 100)
            continue
        if name == "ReaEQ":
            bands: dict[int, dict[str, Any]] = {}
            for p in device["params"]:
                n, what = re.match(r"Band (\d+) (.+)", p["name"]).groups()
                bands.setdefault(int(n), {})[what] = p["value"]
            for chunk_start in range(0, len(bands), len(_REAEQ_SLOTS)):
                eq = added.pop(0)
                assert eq["name"].startswith("ReaEQ"), eq["name"]
                for slot, n in enumerate(sorted(bands)[chunk_start:chunk_start + len(_REAEQ_SLOTS)]):
                    band, label = bands[n], _REAEQ_SLOTS[slot]
                    assert eq["config"][f"BANDTYPE{slot}"] == _REAEQ_TYPES[band["Type"]]
                    assert eq["config"][f"BANDENABLED{slot}"] == "1"
                    assert _close(eq["params"][f"Freq-{label}"], band["Frequency"]), (band, eq["params"])
                    if "Gain" in band:
                        assert _close(eq["params"][f"Gain-{label}"], band["Gain"]), (band, eq["params"])
                    assert _close(eq["params"][f"BW-{label}"], band["Bandwidth"]), (band, eq["params"])
                    checked += 1
            continue
        fx = added.pop(0)
        assert fx["name"].startswith(name), (fx["name"], name)
        for p in device["params"]:
            names = _PARAM_NAMES.get(p["name"], (p["name"],))
            got = next(fx["params"][n] for n in names if n in fx["params"])
            want = float(p["value"]) if not isinstance(p["value"], bool) else float(p["value"])
            if p["name"] == "FX Wet":
                want /= 100.0
            assert _close(got, want), (name, p, got)
            checked += 1
    assert not added, f"plug-ins added beyond the mapping: {added}"
    assert checked >= 2, f"the suggestion mapped too little to check: {daw}"


@pytest.mark.slow
@pytest.mark.parametrize("lua", LUA_VERSIONS)
def test_reaper_actions_against_a_real_server(lua: str, config: Config, tmp_path: Path,
                                              clips: dict[str, Path]) -> None:
    server = start_server(config)
    try:
        report = run_lua(lua, server, tmp_path, clips)
        assert "Key: G major" in report["analyze_text"]
        check_compose(report)
        check_suggest(report, server)
        assert Path(report["render"]["render"]).parent == config.renders_dir()
        assert "model_unavailable" in report["generate_error"]
    finally:
        server.stop()


@pytest.mark.parametrize("lua", LUA_VERSIONS)
def test_cancel_from_the_progress_window(lua: str, config: Config, tmp_path: Path, clips: dict[str, Path]) -> None:
    """Generate waits behind a running GPU job; Esc in the progress window and "yes" cancel it."""
    config.jobs.gpu_workers = 1
    server = start_server(config)
    release = threading.Event()

    def block(job: Any) -> dict[str, Any]:
        release.wait(60)
        return {}

    try:
        server.loop.call_soon_threadsafe(lambda: server.services.jobs.submit("blocker", block, resource="gpu"))
        deadline = time.monotonic() + 10
        while not server.services.jobs.running() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.services.jobs.running(), "the blocking job did not start"
        run_lua(lua, server, tmp_path, clips, only="cancel")
    finally:
        release.set()
        server.stop()
